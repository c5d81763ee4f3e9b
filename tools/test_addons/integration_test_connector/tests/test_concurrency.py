import json
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged

from .common import SECRET, TestConnectorMixin


class CommittedMixin:
    """Work done on a connection of its own and committed (the races are between committed transactions)."""

    def _committed(self, func):
        cr = db_connect(self.env.cr.dbname).cursor()
        try:
            result = func(api.Environment(cr, SUPERUSER_ID, {}))
            cr.commit()  # pylint: disable=invalid-commit
            return result
        finally:
            cr.close()


@tagged("post_install", "-at_install")
class TestConcurrentDeliveries(CommittedMixin, TestConnectorMixin, TransactionCase):
    """Two deliveries of one event at the same moment, on two real connections.

    This test commits (it must: the race is between committed
    transactions), then removes what it committed.
    """

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


class ErrorLines(logging.Handler):
    """Collects the ERROR lines logged while it is attached (every thread)."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.lines = []

    def emit(self, record):
        self.lines.append(f"{record.name}: {record.getMessage()[:300]}")


@tagged("post_install", "-at_install")
class TestConcurrentProcessing(CommittedMixin, TestConnectorMixin, TransactionCase):
    """Related events on two job slots at once, each on its own real connection.

    Both transactions take their snapshot before either applies anything, so
    the second always works from a snapshot older than the first one's
    commit: the routine race of two workers. It must end with one record per
    object, every event done, and no ERROR in the log (no failing statement:
    the claim that detects the race is made quietly, the event retried).
    """

    def _process_pair(self, event_ids):
        """Process two events at the same moment, then their retries, as two job slots would."""
        barrier = threading.Barrier(len(event_ids))
        failures = []

        def slot(event_id):
            cr = db_connect(self.env.cr.dbname).cursor()
            try:
                env = api.Environment(cr, SUPERUSER_ID, {})
                cr.execute("SELECT 1")  # the transaction's snapshot: before the other one commits
                barrier.wait(timeout=10)
                env["integration.event"].browse(event_id)._process()
                cr.commit()  # pylint: disable=invalid-commit
            except Exception as exc:
                failures.append(exc)
            finally:
                cr.close()

        threads = [threading.Thread(target=slot, args=(event_id,)) for event_id in event_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertFalse(failures, failures)

        def retries(env):
            for _round in range(5):
                events = env["integration.event"].browse(event_ids).filtered(lambda e: e.state == "queued")
                if not events:
                    return
                for event in events:
                    event._process()
                env.cr.commit()  # pylint: disable=invalid-commit

        self._committed(retries)

    def test_related_events_on_two_slots_leave_no_error_in_the_log(self):
        suffix = uuid.uuid4().hex[:8]
        backend_id = self._committed(
            lambda env: (
                env["integration.backend"]
                .create({"name": f"Pair {suffix}", "connector_type": "test", "webhook_secret": SECRET})
                .id
            )
        )
        t0 = datetime(2026, 5, 1, tzinfo=UTC)

        def ingest(env, *message_lists):
            backend = env["integration.backend"].browse(backend_id)
            ids = []
            for messages in message_lists:
                payload = self._event_payload(messages)
                identity = backend._connector()._webhook_identity(backend, payload, {})
                event, _created = env["integration.event"]._ingest(backend, identity, json.dumps(payload))
                ids.append(event.id)
            return ids

        def customer(ref, name, minutes):
            return self._customer(
                f"{ref}_{suffix}", name=f"{name} {suffix}", occurred_at=t0 + timedelta(minutes=minutes)
            )

        handler = ErrorLines()
        try:
            logging.getLogger().addHandler(handler)
            try:
                # 1. two events create the same customer at once (the binding does not exist yet)
                first = self._committed(
                    lambda env: ingest(env, [customer("cus_a", "Created", 1)], [customer("cus_a", "Updated", 2)])
                )
                self._process_pair(first)
                # 2. both update it at once (its binding row changes under the second one)
                second = self._committed(
                    lambda env: ingest(env, [customer("cus_a", "Later", 3)], [customer("cus_a", "Latest", 4)])
                )
                self._process_pair(second)
                # 3. two objects in opposite orders (no deadlock: claims are taken sorted)
                third = self._committed(
                    lambda env: ingest(
                        env,
                        [customer("cus_b", "Bee", 5), customer("cus_c", "Sea", 5)],
                        [customer("cus_c", "Sea two", 6), customer("cus_b", "Bee two", 6)],
                    )
                )
                self._process_pair(third)
            finally:
                logging.getLogger().removeHandler(handler)

            def outcome(env):
                events = env["integration.event"].browse(first + second + third)
                bindings = env["integration.binding"].search([("backend_id", "=", backend_id)])
                partners = env["res.partner"].search([("name", "like", suffix)])
                return (
                    events.mapped("state"),
                    sum(events.mapped("deferrals")),
                    sorted(bindings.mapped("external_id")),
                    sorted(partners.mapped("name")),
                )

            states, deferrals, bound, names = self._committed(outcome)
            self.assertFalse(handler.lines, "a healthy run logs no ERROR:\n" + "\n".join(handler.lines))
            self.assertEqual(states, ["done"] * 6)
            self.assertGreaterEqual(deferrals, 3, "each pair raced: the second one was retried quietly")
            self.assertEqual(bound, sorted(f"{ref}_{suffix}" for ref in ("cus_a", "cus_b", "cus_c")))
            self.assertEqual(names, sorted(f"{name} {suffix}" for name in ("Latest", "Bee two", "Sea two")))
        finally:

            def cleanup(env):
                env.cr.execute(
                    "SELECT res_id FROM integration_binding WHERE backend_id = %s AND res_model = 'res.partner'",
                    (backend_id,),
                )
                partner_ids = tuple(row[0] for row in env.cr.fetchall()) or (0,)
                env.cr.execute(
                    """DELETE FROM queue_job WHERE id IN (
                         SELECT r.queue_job_id FROM integration_event_queue_job_rel r
                           JOIN integration_event e ON e.id = r.integration_event_id WHERE e.backend_id = %s)""",
                    (backend_id,),
                )
                env.cr.execute("DELETE FROM integration_claim WHERE key LIKE %s", (f"{backend_id}:%",))
                env.cr.execute("DELETE FROM integration_binding WHERE backend_id = %s", (backend_id,))
                env.cr.execute("DELETE FROM integration_event WHERE backend_id = %s", (backend_id,))
                env.cr.execute("DELETE FROM integration_backend WHERE id = %s", (backend_id,))
                env.cr.execute("DELETE FROM res_partner WHERE id IN %s", (partner_ids,))

            self._committed(cleanup)
