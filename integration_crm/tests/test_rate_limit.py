"""HubSpot's rate limit: a burst of 190 calls per 10 seconds, 429 answers honoured (finding 4 of issue 13)."""

import time
from datetime import timedelta

from odoo import fields
from odoo.tests import BaseCase, TransactionCase, tagged

from odoo.addons.integration_base.http_client import bucket_for
from odoo.addons.integration_base.tests.common import local_http_server

from .common import HubspotCaseMixin, fixture
from .hubspot_api import RATE_LIMITED


@tagged("post_install", "-at_install")
class TestBurst(BaseCase):
    def test_private_app_burst_then_rate(self):
        bucket = bucket_for(("hubspot", "burst-test"), 19, 190)
        self.assertEqual([bucket.acquire(max_wait=0) for _call in range(190)], [0] * 190, "190 calls at once")
        wait = bucket.acquire(max_wait=0)
        self.assertGreater(wait, 0, "the 191st waits")
        self.assertLessEqual(wait, 1 / 19 + 0.01, "then 19 a second")


@tagged("post_install", "-at_install")
class TestHubspotRateLimit(HubspotCaseMixin, TransactionCase):
    def test_backend_defaults_to_the_private_app_limit(self):
        self.assertEqual(self.backend.rate_limit, 19.0)

    def _run_pending_once(self):
        for job in self.env["queue.job"].sudo().search([("state", "=", "pending")], order="id"):
            self._run_job(job.uuid)

    def test_429_is_honoured_by_every_job_of_the_batch(self):
        self._ingest_items(fixture("hubspot_contact_batch.json")[:2])
        api = self.hubspot_api(("contacts", fixture("hubspot_contact_512.json")))
        api.script.append(RATE_LIMITED)
        events = self._events(self.backend)
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            self._run_pending_once()
            self.assertEqual(len(server.calls), 1, "the second job waits for the Retry-After: no call")
            soon = fields.Datetime.now() + timedelta(seconds=2)
            for event in events:
                self.assertEqual(event.state, "queued", "retried later, not failed")
                self.assertLessEqual(event.next_retry_at, soon, "at HubSpot's Retry-After (1 s), not a backoff")
                self.assertIn("rate", event.error_message)
            self.assertIn("429", events.sorted("id")[0].error_message)
            time.sleep(1.1)
            self.perform_jobs()
        self.assertEqual(events.mapped("state"), ["done", "done"])
        self.assertEqual(len(server.calls), 2, "the 429, then one batch read for both events")
        self.assertEqual(server.calls[1]["path"], "/crm/v3/objects/contacts/batch/read")
