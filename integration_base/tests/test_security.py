from pathlib import Path

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from .common import IntegrationCaseMixin, local_http_server


@tagged("post_install", "-at_install")
class TestNeutralizeAndTriggers(IntegrationCaseMixin, TransactionCase):
    def test_neutralize_blanks_secrets_and_stops_traffic(self):
        backend = self._create_backend(
            "canonical",
            api_key="sk_live_x",
            webhook_secret_previous="old",
            outbound_type_ids=[(6, 0, self.env.ref("integration_base.canonical_type_customer").ids)],
        )
        reference = backend.reference
        sql = (Path(__file__).parents[1] / "data" / "neutralize.sql").read_text()
        self.env.flush_all()
        self.env.cr.execute(sql)
        self.env.invalidate_all()
        self.assertRecordValues(
            backend, [{"webhook_secret": False, "webhook_secret_previous": False, "api_key": False}]
        )
        self.assertNotEqual(backend.reference, reference, "the production webhook URL stops working")
        self.assertFalse(backend.outbound_type_ids)

    def test_test_connection(self):
        backend = self._create_backend("canonical")
        with self.assertRaises(UserError):
            backend.action_test_connection()
        with local_http_server(lambda *a: (405, {}, b"")) as server:
            backend.api_url = server.url
            action = backend.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("reachable", action["params"]["message"])
        backend.api_url = "http://127.0.0.1:9"  # discard port: nothing listens
        with self.assertRaises(UserError):
            backend.action_test_connection()

    def test_rotation_keeps_the_previous_secret(self):
        backend = self._create_backend("canonical")
        first = backend.webhook_secret
        backend.action_rotate_webhook_secret()
        self.assertEqual(backend.webhook_secret_previous, first)
        self.assertTrue(backend.webhook_secret.startswith("whsec_"))
        self.assertEqual(backend._get_webhook_secrets(), [backend.webhook_secret, first])

    def test_subscription_state_change_is_pushed(self):
        with local_http_server(lambda *a: (200, {}, {"ok": True})) as server:
            backend = self._create_backend(
                "canonical",
                api_url=server.url,
                outbound_type_ids=[(6, 0, self.env.ref("integration_base.canonical_type_subscription").ids)],
            )
            partner = self.env["res.partner"].create({"name": "Subscriber"})
            sub = self.env["integration.subscription"].create(
                {"name": "Pro", "partner_id": partner.id, "plan_code": "pro", "status": "active"}
            )
            created = self._events(backend, direction="out")
            self.assertEqual(created.event_type, "subscription.created", "a new subscription is news too")
            sub.write({"quantity": 1})  # unchanged: nothing more to push
            self.assertEqual(self._events(backend, direction="out"), created)
            sub.write({"status": "past_due"})  # same transaction: the one event sends the current state
            self.perform_jobs()
        self.assertEqual(sub.entitlement_state, "grace")
        [message] = server.json_calls()
        self.assertEqual(message["type"], "subscription")
        self.assertEqual(message["data"]["status"], "past_due")
        self.assertEqual(message["data"]["metadata"]["entitlement"], "grace")
