"""The Stripe webhook on base's route: real signed bodies over HTTP.

Signatures are made the way Stripe makes them (``t=<time>,v1=<HMAC>``, the
official SDK's helper); the verifier is the SDK's, with a 5-minute tolerance,
any of several ``v1`` signatures and either secret of a rotation.
"""

import json
import time

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import SECRET, StripeCaseMixin, load, sign


@tagged("post_install", "-at_install")
class TestStripeWebhook(StripeCaseMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._create_stripe_backend()

    def _post(self, body, signature=True, reference=None):
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if signature is True:
            headers["Stripe-Signature"] = sign(body)
        elif signature:
            headers["Stripe-Signature"] = signature
        with mute_logger("odoo.addons.integration_base.controllers.main"):
            return self.url_open(
                f"/integration/webhook/{reference or self.backend.reference}", data=body, headers=headers
            )

    def _count(self):
        return self.env["integration.event"].search_count([("backend_id", "=", self.backend.id)])

    @staticmethod
    def _body(name="customer.created", **changes):
        payload = load(name)
        payload.update(changes)
        return json.dumps(payload, indent=2).encode()

    def test_signed_event_is_stored_and_queued_once(self):
        body = self._body()
        response = self._post(body)
        self.assertEqual(response.status_code, 202, response.text)
        event = self.env["integration.event"].browse(response.json()["event_id"])
        self.assertRecordValues(
            event, [{"external_id": "evt_1QbXa1Zr8sLm0Cus", "event_type": "customer.created", "state": "queued"}]
        )
        self.assertEqual(json.loads(event.headers)["Stripe-Signature"], "***", "the signature is not stored")
        again = self._post(body)
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["status"], "duplicate")
        self.assertEqual(self._count(), 1)

    def test_several_v1_signatures_one_valid(self):
        body = self._body()
        timestamp = int(time.time())
        valid = sign(body, timestamp=timestamp).split("v1=")[1]
        header = f"t={timestamp},v1={'0' * 64},v0={'1' * 64},v1={valid}"
        self.assertEqual(self._post(body, signature=header).status_code, 202)

    def test_forged_tampered_stale_future_missing_and_malformed_signatures(self):
        body = self._body()
        now = int(time.time())
        cases = {
            "forged with another secret": (body, sign(body, secret="whsec_" + "Zm9yZ2Vk")),
            "tampered body": (body.replace(b"Acme Widgets SA", b"Acme Widgets XX"), sign(body)),
            "stale (6 minutes old)": (body, sign(body, timestamp=now - 360)),
            "from the future": (body, sign(body, timestamp=now + 3600)),
            "missing": (body, None),
            "malformed": (body, "v1=deadbeef"),
            "no v1 scheme": (body, f"t={now},v0={'a' * 64}"),
        }
        for label, (sent, header) in cases.items():
            with self.subTest(label):
                response = self._post(sent, signature=header)
                self.assertEqual(response.status_code, 401, response.text)
                self.assertIn("signature", response.json()["error"].lower())
        self.assertEqual(self._count(), 0, "nothing unauthenticated is stored")

    def test_rotation_accepts_the_previous_secret_until_it_is_cleared(self):
        self.backend.write({"webhook_secret": "whsec_" + "bmV3LXNlY3JldA", "webhook_secret_previous": SECRET})
        old_signed = self._body()
        self.assertEqual(self._post(old_signed, signature=sign(old_signed, secret=SECRET)).status_code, 202)
        new_signed = self._body("product.created")
        header = sign(new_signed, secret="whsec_" + "bmV3LXNlY3JldA")
        self.assertEqual(self._post(new_signed, signature=header).status_code, 202)
        self.backend.webhook_secret_previous = False
        late = self._body("price.created")
        self.assertEqual(self._post(late, signature=sign(late, secret=SECRET)).status_code, 401)
        self.assertEqual(self._count(), 2)

    def test_livemode_mismatch_is_refused_and_kept_as_rejected(self):
        body = self._body(livemode=True)
        response = self._post(body)
        self.assertEqual(response.status_code, 422)
        self.assertIn("live-mode event", response.json()["error"])
        event = self.env["integration.event"].search([("backend_id", "=", self.backend.id)])
        self.assertRecordValues(event, [{"state": "rejected", "external_id": "evt_1QbXa1Zr8sLm0Cus"}])
        self.assertFalse(event.job_ids, "a rejected event is never processed")
        self.assertFalse(self.env["res.partner"].search([("email", "=", "billing@acme-widgets.example")]))
        # the live backend takes it
        live = self._create_stripe_backend(name="Stripe (live)", stripe_livemode=True, api_key="sk_live_" + "x" * 24)
        self.assertEqual(self._post(body, reference=live.reference).status_code, 202)

    def test_not_an_event_and_unsupported_types(self):
        not_event = json.dumps({"id": "cus_1", "object": "customer"}).encode()
        self.assertEqual(self._post(not_event).status_code, 400)
        unsupported = self._body(type="customer.discount.created", id="evt_1QbDiscountZr8sLm0")
        response = self._post(unsupported)
        self.assertEqual(response.status_code, 202)
        event = self.env["integration.event"].browse(response.json()["event_id"])
        self.assertEqual(event.state, "ignored")
        self.assertFalse(event.job_ids)

    def test_signed_event_whose_data_is_not_an_object_is_400(self):
        # found by the bench/ bad-input run's fuzzing: a list as `data` was a 500
        for data in ([], ["x"], "data", 42, {"object": []}):
            with self.subTest(data=data):
                body = json.dumps(dict(json.loads(self._body()), data=data, id=f"evt_bad{len(str(data))}")).encode()
                response = self._post(body)
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn("data.object", response.json()["error"])
        self.assertEqual(self._count(), 0)

    def test_fail_closed_without_secret(self):
        self.backend.webhook_secret = False
        self.assertEqual(self._post(self._body()).status_code, 401)
        self.assertEqual(self._count(), 0)

    def test_signed_event_is_processed_into_odoo(self):
        self.assertEqual(self._post(self._body()).status_code, 202)
        self.perform_jobs()
        partner = self._bound("customer", "cus_QaT4p2Zr8sLm01")
        self.assertEqual(partner.name, "Acme Widgets SA")
        self.assertEqual(partner.email, "billing@acme-widgets.example")
