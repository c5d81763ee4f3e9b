import json
import threading

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged

from .common import SECRET, TestConnectorMixin


@tagged("post_install", "-at_install")
class TestConcurrentDeliveries(TestConnectorMixin, TransactionCase):
    """Two deliveries of one event at the same moment, on two real connections.

    This test commits (it must: the race is between committed
    transactions), then removes what it committed.
    """

    def _committed(self, func):
        cr = db_connect(self.env.cr.dbname).cursor()
        try:
            result = func(api.Environment(cr, SUPERUSER_ID, {}))
            cr.commit()  # pylint: disable=invalid-commit
            return result
        finally:
            cr.close()

    def test_concurrent_duplicates_give_one_event_and_one_job(self):
        backend_id = self._committed(
            lambda env: (
                env["integration.backend"]
                .create({"name": "Race", "connector_type": "test", "webhook_secret": SECRET})
                .id
            )
        )
        payload = self._event_payload(event_id="evt_race")
        barrier = threading.Barrier(2)
        outcomes, errors = [], []

        def deliver():
            cr = db_connect(self.env.cr.dbname).cursor()
            try:
                env = api.Environment(cr, SUPERUSER_ID, {})
                backend = env["integration.backend"].browse(backend_id)
                identity = backend._connector()._webhook_identity(backend, payload, {})
                barrier.wait(timeout=10)
                _event, created = env["integration.event"]._ingest(backend, identity, json.dumps(payload))
                cr.commit()  # pylint: disable=invalid-commit
                outcomes.append(created)
            except Exception as exc:
                errors.append(exc)
            finally:
                cr.close()

        threads = [threading.Thread(target=deliver) for _i in range(2)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            self.assertFalse(errors, errors)
            self.assertEqual(sorted(outcomes), [False, True], "one delivery stored it, the other saw a duplicate")

            def count(env):
                env.cr.execute("SELECT count(*) FROM integration_event WHERE backend_id = %s", (backend_id,))
                events = env.cr.fetchone()[0]
                env.cr.execute(
                    """SELECT count(*) FROM integration_event_queue_job_rel r
                         JOIN integration_event e ON e.id = r.integration_event_id WHERE e.backend_id = %s""",
                    (backend_id,),
                )
                return events, env.cr.fetchone()[0]

            self.assertEqual(self._committed(count), (1, 1))
        finally:

            def cleanup(env):
                env.cr.execute(
                    """DELETE FROM queue_job WHERE id IN (
                         SELECT r.queue_job_id FROM integration_event_queue_job_rel r
                           JOIN integration_event e ON e.id = r.integration_event_id WHERE e.backend_id = %s)""",
                    (backend_id,),
                )
                env.cr.execute("DELETE FROM integration_event WHERE backend_id = %s", (backend_id,))
                env.cr.execute("DELETE FROM integration_backend WHERE id = %s", (backend_id,))

            self._committed(cleanup)
