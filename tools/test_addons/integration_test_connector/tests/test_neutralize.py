"""Finding 5 of issue 8: a neutralized copy must not talk to production.

The copy is made the way ``odoo neutralize`` makes it: every installed
module's ``data/neutralize.sql`` runs on the database
(:func:`odoo.modules.neutralize.neutralize_database`), here on the test
transaction that holds queued outbound work and a running stream. Then the
jobs run as the job runner would run them when the copy starts.
"""

from odoo.modules.neutralize import neutralize_database
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_base.tests.common import local_http_server

from .common import TestConnectorMixin


@tagged("post_install", "-at_install")
class TestNeutralizedCopy(TestConnectorMixin, TransactionCase):
    def test_hole5_a_neutralized_copy_sends_nothing_to_production(self):
        with local_http_server(lambda *a: (200, {}, {"data": [], "has_more": False})) as production:
            self.backend.write(
                {
                    "api_url": production.url,
                    "api_key": "production-key",
                    "outbound_type_ids": [(6, 0, self.env.ref("integration_base.canonical_type_customer").ids)],
                }
            )
            self.env["res.partner"].create({"name": "Queued before the copy"})
            outbound = self._events(self.backend, direction="out")
            self.assertEqual(outbound.state, "queued")
            stream = self.env["integration.stream"].create({"backend_id": self.backend.id, "stream": "items"})
            stream.action_run()
            jobs = outbound.job_ids | self.env["queue.job"].search([("model_name", "=", "integration.stream")])
            self.assertEqual(set(jobs.mapped("state")), {"pending"})

            self.env.flush_all()
            neutralize_database(self.env.cr)
            self.env.invalidate_all()
            self.perform_jobs()  # the copy starts: its job runner runs what is pending

        self.assertFalse(production.calls, "nothing may reach production from a copy")
        self.assertFalse(self.backend.api_url)
        self.assertFalse(self.backend.sudo().api_key)
        self.assertEqual(set(jobs.mapped("state")), {"cancelled"})
        self.assertEqual(outbound.state, "ignored", "visible as not sent, never retried")
        self.assertIn("neutralized", outbound.note)
        self.assertRecordValues(stream, [{"state": "idle", "scheduled": False}])
        self.assertIn("neutralized", stream.last_error or "")
