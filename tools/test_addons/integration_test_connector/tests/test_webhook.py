import json
import time

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import OLD_SECRET, SECRET, TestConnectorMixin


@tagged("post_install", "-at_install")
class TestWebhookRoute(TestConnectorMixin, HttpCase):
    def _post(self, body, headers=None, reference=None, signature=True, content_type="application/json"):
        headers = dict(headers or {})
        if content_type:
            headers["Content-Type"] = content_type
        if signature is True:
            headers["X-Test-Signature"] = self._signature(body)
        elif signature:
            headers["X-Test-Signature"] = signature
        url = f"/integration/webhook/{reference or self.backend.reference}"
        return self.url_open(url, data=body, headers=headers, allow_redirects=False)

    def _count(self):
        return self.env["integration.event"].search_count([("backend_id", "=", self.backend.id)])

    def _jobs(self):
        return self.env["queue.job"].search_count([("model_name", "=", "integration.event")])

    def test_valid_event_is_stored_queued_and_processed(self):
        payload = self._event_payload([self._customer("cus_1", name="Route Customer", email="route@example.com")])
        response = self._post(self._body(payload), headers={"X-Correlation-ID": "corr-123"})
        self.assertEqual(response.status_code, 202, response.text)
        self.assertEqual(response.headers["X-Correlation-ID"], "corr-123")
        answer = response.json()
        event = self.env["integration.event"].browse(answer["event_id"])
        self.assertRecordValues(
            event,
            [
                {
                    "state": "queued",
                    "external_id": payload["id"],
                    "event_type": "thing.updated",
                    "correlation_id": "corr-123",
                }
            ],
        )
        self.assertEqual(json.loads(event.payload), payload)
        self.assertEqual(json.loads(event.headers)["X-Test-Signature"], "***", "signature header must be redacted")
        self.assertEqual(len(event.job_ids), 1)
        self.assertEqual(event.job_ids.channel, "root.integration")
        self.perform_jobs()
        self.assertEqual(event.state, "done")
        partner = self.env["res.partner"].search([("email", "=", "route@example.com")])
        self.assertEqual(partner.name, "Route Customer")
        self.assertEqual(event.record_ids.res_id, partner.id)
        self.assertEqual(event.record_ids.correlation_id, "corr-123")

    def test_correlation_id_is_made_when_missing_or_invalid(self):
        response = self._post(self._body(self._event_payload()), headers={"X-Correlation-ID": "bad id with spaces"})
        self.assertEqual(response.status_code, 202)
        cid = response.headers["X-Correlation-ID"]
        self.assertRegex(cid, r"^[0-9a-f]{32}$")
        self.assertEqual(self.env["integration.event"].browse(response.json()["event_id"]).correlation_id, cid)

    def test_redelivery_is_acknowledged_and_stored_once(self):
        body = self._body(self._event_payload([self._customer("cus_dup", name="Dup")]))
        first = self._post(body)
        second = self._post(body)
        self.assertEqual(first.status_code, 202)
        self.assertEqual(second.status_code, 200)
        self.assertEqual(second.json()["status"], "duplicate")
        self.assertEqual(self._count(), 1)
        self.assertEqual(self._jobs(), 1)
        self.perform_jobs()
        self.assertEqual(self.env["res.partner"].search_count([("name", "=", "Dup")]), 1)

    def test_unsupported_type_is_stored_as_ignored(self):
        response = self._post(self._body(self._event_payload(type_="unsupported.thing")))
        self.assertEqual(response.status_code, 202)
        event = self.env["integration.event"].browse(response.json()["event_id"])
        self.assertEqual(event.state, "ignored")
        self.assertTrue(event.note)
        self.assertFalse(event.job_ids)

    @mute_logger("odoo.addons.integration_base.controllers.main")
    def test_event_refused_by_a_rule_is_visible_as_rejected(self):
        payload = self._event_payload(reject="test-mode event sent to a live backend")
        response = self._post(self._body(payload))
        self.assertEqual(response.status_code, 422)
        self.assertIn("live backend", response.json()["error"])
        event = self.env["integration.event"].search([("backend_id", "=", self.backend.id)])
        self.assertRecordValues(event, [{"state": "rejected", "external_id": payload["id"]}])
        self.assertIn("live backend", event.note)
        self.assertFalse(event.job_ids, "a rejected event is never processed")

    def test_rotated_secret_is_accepted(self):
        self.backend.write({"webhook_secret": "new-secret", "webhook_secret_previous": OLD_SECRET})
        body = self._body(self._event_payload())
        self.assertEqual(self._post(body, signature=self._signature(body, OLD_SECRET)).status_code, 202)
        body = self._body(self._event_payload())
        self.assertEqual(self._post(body, signature=self._signature(body, "new-secret")).status_code, 202)
        body = self._body(self._event_payload())
        self.assertEqual(self._post(body, signature=self._signature(body, SECRET)).status_code, 401)

    @mute_logger("odoo.addons.integration_base.controllers.main")
    def test_bad_inputs_get_their_status_and_store_nothing(self):
        good = self._body(self._event_payload())
        oversized = self._body(self._event_payload(padding="x" * 2048))
        self.backend.max_body_bytes = 1024
        cases = [
            ("oversized", lambda: self._post(oversized), 413),
            ("wrong content type", lambda: self._post(good, content_type="text/plain"), 415),
            ("no content type", lambda: self._post(good, content_type=None), 415),
            ("unknown backend", lambda: self._post(good, reference="nope-" + self.backend.reference), 404),
            ("missing signature", lambda: self._post(good, signature=None), 401),
            ("invalid signature", lambda: self._post(good, signature=self._signature(good, "wrong")), 401),
            (
                "tampered body",
                lambda: self._post(good.replace(b"thing", b"thinG"), signature=self._signature(good)),
                401,
            ),
            (
                "stale signature",
                lambda: self._post(good, signature=self._signature(good, timestamp=time.time() - 3600)),
                401,
            ),
            ("malformed signature", lambda: self._post(good, signature="garbage"), 401),
            ("broken JSON", lambda: self._post(b'{"id": "evt_x", '), 400),
            ("JSON not an object", lambda: self._post(b'["evt"]'), 400),
            ("invalid UTF-8", lambda: self._post(b'{"id": "\xff\xfe"}'), 400),
            ("no event id", lambda: self._post(self._body({"type": "thing.updated"})), 400),
            ("numeric event id", lambda: self._post(self._body({"id": 42, "type": "thing.updated"})), 400),
            ("list event type", lambda: self._post(self._body({"id": "evt_list", "type": ["a"]})), 400),
            ("no event type", lambda: self._post(self._body({"id": "evt_no_type"})), 400),
        ]
        for label, call, status in cases:
            with self.subTest(label):
                response = call()
                self.assertEqual(response.status_code, status, f"{label}: {response.text}")
                self.assertTrue(response.json()["error"], label)
                self.assertTrue(response.headers.get("X-Correlation-ID"), label)
        self.assertEqual(self._count(), 0)
        self.assertEqual(self._jobs(), 0)

    @mute_logger("odoo.addons.integration_base.controllers.main")
    def test_backend_without_secret_refuses_everything(self):
        self.backend.webhook_secret = False
        body = self._body(self._event_payload())
        response = self._post(body)
        self.assertEqual(response.status_code, 401)
        self.assertIn("secret", response.json()["error"])
        self.assertEqual(self._count(), 0)

    @mute_logger("odoo.addons.integration_base.controllers.main", "odoo.http")
    def test_get_is_not_allowed(self):
        response = self.url_open(f"/integration/webhook/{self.backend.reference}")
        self.assertEqual(response.status_code, 405)
        self.assertEqual(self._count(), 0)

    def test_archived_backend_is_unknown(self):
        self.backend.active = False
        with mute_logger("odoo.addons.integration_base.controllers.main"):
            response = self._post(self._body(self._event_payload()))
        self.assertEqual(response.status_code, 404)
