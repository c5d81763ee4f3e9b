import json

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_base.tests.common import local_http_server

from .common import API_TOKEN, HubspotCaseMixin

COMPANY_ID = "9845651234"


@tagged("post_install", "-at_install")
class TestHubspotBillingStatusOut(HubspotCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.currency = cls.env.company.currency_id
        cls.acme = cls.env["res.partner"].create({"name": "Acme Widgets", "is_company": True})
        cls.env["integration.binding"]._bind(cls.backend, "customer", f"company:{COMPANY_ID}", cls.acme)
        Subscription = cls.env["integration.subscription"]
        common = {"partner_id": cls.acme.id, "company_id": cls.env.company.id, "currency_id": cls.currency.id}
        cls.pro = Subscription.create(
            dict(common, name="Pro", plan_code="pro", amount=49.0, quantity=2, interval="month", status="trialing")
        )
        cls.addon = Subscription.create(
            dict(
                common,
                name="Audit log",
                plan_code="audit_log",
                amount=120.0,
                quantity=1,
                interval="year",
                status="active",
            )
        )
        # subscribed once the customer's subscriptions exist: the tests start without outbound events
        cls.backend.outbound_type_ids = [Command.set(cls.env.ref("integration_base.canonical_type_subscription").ids)]

    def _outbound(self):
        return self._events(self.backend, direction="out")

    def _patched(self, server):
        return [(call["method"], call["path"], json.loads(call["body"])) for call in server.calls]

    def _money(self, amount):
        return f"{amount:.{self.currency.decimal_places}f}"

    def test_subscription_change_patches_the_company(self):
        with local_http_server(lambda *args: (200, {}, {"id": COMPANY_ID, "properties": {}})) as server:
            self.backend.api_url = server.url
            self.pro.write({"status": "active", "quantity": 3})
            event = self._outbound()
            self.assertRecordValues(
                event, [{"state": "queued", "canonical_type": "subscription", "res_id": self.pro.id}]
            )
            self.perform_jobs()
        self.assertRecordValues(event, [{"state": "done", "response_status": 200}])
        self.assertEqual(
            self._patched(server),
            [
                (
                    "PATCH",
                    f"/crm/v3/objects/companies/{COMPANY_ID}",
                    {
                        "properties": {
                            "billing_status": "active",
                            "billing_plan": "audit_log;pro",
                            "mrr": self._money(3 * 49 + 120 / 12),
                        }
                    },
                )
            ],
        )
        call = server.calls[0]
        self.assertEqual(call["headers"]["Authorization"], f"Bearer {API_TOKEN}")
        self.assertEqual(call["headers"]["Idempotency-Key"], event.external_id)

        # every subscription ends: the CRM learns it
        with local_http_server(lambda *args: (200, {}, {"id": COMPANY_ID})) as server:
            self.backend.api_url = server.url
            (self.pro | self.addon).write({"status": "canceled"})
            self.perform_jobs()
        self.assertEqual(
            [properties for _method, _path, properties in self._patched(server)],
            [{"properties": {"billing_status": "ended", "billing_plan": "", "mrr": self._money(0)}}] * 2,
        )

    def test_finding2_new_subscription_is_pushed_on_create(self):
        """Finding 2 of issue 13: a subscription created in Odoo (e.g. from Stripe) reaches HubSpot at once."""
        with local_http_server(lambda *args: (200, {}, {"id": COMPANY_ID, "properties": {}})) as server:
            self.backend.api_url = server.url
            enterprise = self.env["integration.subscription"].create(
                {
                    "name": "Enterprise",
                    "partner_id": self.acme.id,
                    "plan_code": "enterprise",
                    "amount": 500.0,
                    "interval": "month",
                    "currency_id": self.currency.id,
                    "status": "active",
                }
            )
            event = self._outbound()
            self.assertRecordValues(
                event, [{"event_type": "subscription.created", "state": "queued", "res_id": enterprise.id}]
            )
            self.perform_jobs()
        self.assertEqual(event.state, "done")
        self.assertEqual(
            self._patched(server),
            [
                (
                    "PATCH",
                    f"/crm/v3/objects/companies/{COMPANY_ID}",
                    {
                        "properties": {
                            "billing_status": "active",
                            "billing_plan": "audit_log;enterprise;pro",
                            "mrr": self._money(500 + 2 * 49 + 120 / 12),  # a trial counts as active
                        }
                    },
                )
            ],
        )

    def test_past_due_is_grace_and_still_counts(self):
        with local_http_server(lambda *args: (200, {}, {"id": COMPANY_ID})) as server:
            self.backend.api_url = server.url
            self.addon.write({"status": "past_due"})
            self.pro.write({"status": "unpaid"})  # suspended: no MRR
            self.perform_jobs()
        last = self._patched(server)[-1][2]["properties"]
        self.assertEqual(last, {"billing_status": "grace", "billing_plan": "audit_log", "mrr": self._money(10)})

    def test_customer_not_in_hubspot_sends_nothing(self):
        other = self.env["res.partner"].create({"name": "Not in the CRM"})
        sub = self.env["integration.subscription"].create(
            {"name": "Solo", "partner_id": other.id, "plan_code": "solo", "status": "active"}
        )
        with local_http_server(lambda *args: (200, {}, {})) as server:
            self.backend.api_url = server.url
            sub.write({"status": "past_due"})
            self.perform_jobs()
        event = self._outbound()
        self.assertEqual(event.state, "done")
        self.assertIn("not linked to a HubSpot contact or company", event.note)
        self.assertFalse(server.calls)

    def test_refused_patch_fails_with_an_exception(self):
        error = {"status": "error", "message": "Property values were not valid", "category": "VALIDATION_ERROR"}
        with local_http_server(lambda *args: (400, {}, error)) as server:
            self.backend.api_url = server.url
            self.pro.write({"status": "active"})
            self.perform_jobs()
        event = self._outbound()
        self.assertEqual(event.state, "failed")
        self.assertIn("Property values were not valid", event.error_message)
        self.assertEqual(len(event.exception_ids), 1)

    def test_connection_test(self):
        with local_http_server(lambda *args: (200, {}, {"results": []})) as server:
            self.backend.api_url = server.url
            message = self.backend.action_test_connection()["params"]["message"]
        self.assertIn("reachable", message)
        self.assertEqual(server.calls[0]["path"], "/crm/v3/objects/contacts?limit=1")
        with local_http_server(
            lambda *args: (401, {}, {"status": "error", "category": "INVALID_AUTHENTICATION"})
        ) as server:
            self.backend.api_url = server.url
            with self.assertRaisesRegex(UserError, "INVALID_AUTHENTICATION"):
                self.backend.action_test_connection()
