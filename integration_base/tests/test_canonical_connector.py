"""The built-in canonical connector: Standard Webhooks in, signed JSON out."""

import json
import time
import uuid
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import IntegrationCaseMixin, local_http_server

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
OTHER = "whsec_" + "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItMTI="


@tagged("post_install", "-at_install")
class TestCanonicalConnector(IntegrationCaseMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._create_backend("canonical", name="In-house billing", webhook_secret=SECRET)

    def _post(self, message, secret=SECRET, msg_id=None, timestamp=None, headers=None):
        body = json.dumps(message)
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        when = datetime.fromtimestamp(timestamp or time.time(), UTC)
        signed = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, when, body),
        }
        signed.update(headers or {})
        return self.url_open(f"/integration/webhook/{self.backend.reference}", data=body.encode(), headers=signed)

    def test_signed_canonical_message_is_applied(self):
        message = self._message(
            "customer",
            "crm-42",
            {"name": "Canonical Co", "email": "co@example.com", "address": {"city": "Brussels", "country": "BE"}},
        )
        response = self._post(message)
        self.assertEqual(response.status_code, 202, response.text)
        event = self.env["integration.event"].browse(response.json()["event_id"])
        self.perform_jobs()
        self.assertEqual(event.state, "done", event.error_message)
        partner = self.env["integration.binding"]._find_record(self.backend, "customer", "crm-42")
        self.assertRecordValues(
            partner, [{"name": "Canonical Co", "city": "Brussels", "country_id": self.env.ref("base.be").id}]
        )
        self.assertEqual(json.loads(event.canonical)[0]["correlation_id"], event.correlation_id)

    def test_previous_secret_still_accepted_during_rotation(self):
        self.backend.write({"webhook_secret": OTHER, "webhook_secret_previous": SECRET})
        self.assertEqual(self._post(self._message("customer", "c1", {"name": "Old"})).status_code, 202)
        self.assertEqual(self._post(self._message("customer", "c2", {"name": "New"}), secret=OTHER).status_code, 202)

    @mute_logger("odoo.addons.integration_base.controllers.main")
    def test_forged_stale_and_incomplete_requests(self):
        message = self._message("customer", "c3", {"name": "Nope"})
        self.assertEqual(self._post(message, secret=OTHER).status_code, 401)
        self.assertEqual(self._post(message, timestamp=time.time() - 3600).status_code, 401)
        self.assertEqual(self._post(message, headers={"webhook-signature": "v1,not-base64!"}).status_code, 401)
        self.assertEqual(self._post(message, headers={"webhook-signature": "garbage"}).status_code, 401)
        missing = self._post(message, headers={"webhook-id": ""})
        self.assertEqual(missing.status_code, 401)
        self.assertEqual(self._post({"type": "customer"}).status_code, 400, "no external_id")
        self.assertFalse(self.env["integration.event"].search([("backend_id", "=", self.backend.id)]))

    def test_schema_violation_is_stored_and_explained(self):
        response = self._post(self._message("customer", "c4", {"name": "Bad", "email": "not-an-email"}))
        self.assertEqual(response.status_code, 202, "stored first: the sender's part is done")
        self.perform_jobs()
        event = self.env["integration.event"].browse(response.json()["event_id"])
        self.assertEqual(event.state, "failed")
        self.assertRecordValues(event.exception_ids, [{"category": "schema_violation", "pointer": "/data/email"}])

    def test_outbound_message_is_signed_and_valid(self):
        self.backend.outbound_type_ids = self.env.ref("integration_base.canonical_type_customer")
        with local_http_server(lambda *a: (204, {}, b"")) as server:
            self.backend.api_url = f"{server.url}/hooks/odoo"
            partner = self.env["res.partner"].create({"name": "Outbound Co", "vat": "BE0477472701", "city": "Liège"})
            self.perform_jobs()
        self.assertEqual(len(server.calls), 1)
        call = server.calls[0]
        self.assertEqual(call["path"], "/hooks/odoo")
        headers = {key.lower(): value for key, value in call["headers"].items()}
        Webhook(SECRET).verify(call["body"], headers)  # raises if the signature is wrong
        message = json.loads(call["body"])
        self.assertEqual(message["data"]["metadata"]["odoo_id"], partner.id)
        self.assertEqual(message["external_id"], f"odoo-res-partner-{partner.id}")
        self.assertEqual(headers["idempotency-key"], headers["webhook-id"])
