"""Billing pushed to Zendesk: user and organization fields, on change, through the engine's outbound.

The local server answers like Zendesk's ``PUT /api/v2/users/{id}`` and
``PUT /api/v2/organizations/{id}`` (the updated object), 429 with
``Retry-After`` when rate limited, 404 for a deleted user.
"""

import json
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon
from odoo.addons.integration_base.tests.common import LocalHttpServer

from .common import BillingWorldMixin, ZendeskCaseMixin


class FakeZendeskApi(LocalHttpServer):
    """Zendesk's Users and Organizations API: PUT answers the updated object."""

    def __init__(self):
        self.script = []  # (status, headers, body) answers to give first
        super().__init__(self._answer)

    def _answer(self, method, path, headers, body):
        if self.script:
            return self.script.pop(0)
        if method == "PUT" and path == "/api/v2/users/9001.json":
            user = json.loads(body)["user"]
            return 200, {}, {"user": {"id": int(path.split("/")[-1].split(".")[0]), **user}}
        if method == "PUT" and path.startswith("/api/v2/organizations/"):
            organization = json.loads(body)["organization"]
            return 200, {}, {"organization": {"id": int(path.split("/")[-1].split(".")[0]), **organization}}
        return 404, {}, {"error": "RecordNotFound", "description": "Not found"}

    def puts(self):
        return [(call["path"], json.loads(call["body"])) for call in self.calls if call["method"] == "PUT"]


@tagged("post_install", "-at_install")
class TestZendeskBillingPush(BillingWorldMixin, ZendeskCaseMixin, AccountTestInvoicingHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = FakeZendeskApi()
        cls.api.__enter__()
        cls.addClassCleanup(cls.api.__exit__)
        cls.backend.sudo().write(
            {
                "api_url": cls.api.url,
                "helpdesk_api_user": "agent@acme.example",
                "helpdesk_api_token": "zd-api-token-1",
                "outbound_type_ids": [(4, cls.env.ref("integration_helpdesk.canonical_type_customer_billing").id)],
            }
        )
        Binding = cls.env["integration.binding"]
        Binding._bind(cls.backend, "customer", "9001", cls.jane)
        Binding._bind(cls.backend, "customer", "organization:777", cls.acme)

    def setUp(self):
        super().setUp()
        self.api.calls.clear()
        self.api.script.clear()

    def _next_transaction(self):
        """What follows is another transaction (the outbox makes one event per record and transaction)."""
        self.env.flush_all()
        self.env.cr.precommit.clear()

    def _outbound(self):
        return self.env["integration.event"].search(
            [("backend_id", "=", self.backend.id), ("direction", "=", "out")], order="id"
        )

    def test_subscription_change_writes_user_and_organization_fields(self):
        self.pro.status = "active"
        [event] = self._outbound()
        self.assertEqual(event.event_type, "customer_billing.updated")
        self.perform_jobs()
        self.assertEqual(event.state, "done", event.error_message)
        fields_ = {"billing_status": "active", "billing_plan": "pro", "billing_overdue_amount": 150.0}
        self.assertEqual(
            sorted(self.api.puts()),
            [
                ("/api/v2/organizations/777.json", {"organization": {"organization_fields": fields_}}),
                ("/api/v2/users/9001.json", {"user": {"user_fields": fields_}}),
            ],
        )
        auth = self.api.calls[0]["headers"]["Authorization"]
        self.assertTrue(auth.startswith("Basic "))
        self.assertEqual(json.loads(event.payload)["data"]["customer_refs"], ["9001", "organization:777"])

    def test_unchanged_billing_is_not_written_again(self):
        self.pro.status = "active"
        self.perform_jobs()
        self.api.calls.clear()
        self._next_transaction()
        self.pro.write({"quantity": 4})
        self.pro.write({"quantity": 3})  # back: one event in this transaction, nothing to tell
        self.perform_jobs()
        event = self._outbound()[-1]
        self.assertEqual(event.state, "done")
        self.assertIn("have not changed", event.note)
        self.assertFalse(self.api.calls)
        # the MRR changes, not the fields written in Zendesk (status, plan, overdue): nothing to write
        self._next_transaction()
        self.pro.write({"amount": 59.0})
        self.perform_jobs()
        self.assertIn("have not changed", self._outbound()[-1].note)
        self.assertFalse(self.api.calls)

    def test_payment_clears_the_overdue_amount(self):
        self._pay(self.inv_partial, 150.0, fields.Date.today())
        self.perform_jobs()
        self.assertEqual(len(self._outbound()), 1, "payment and paid invoice of one customer: one event")
        values = {
            body["user"]["user_fields"]["billing_overdue_amount"] for path, body in self.api.puts() if "users" in path
        }
        self.assertEqual(values, {0.0})

    def test_rate_limited_by_zendesk_retries_after_retry_after(self):
        self.api.script.append((429, {"Retry-After": "45"}, {"error": "TooManyRequests"}))
        self.pro.status = "active"
        event = self._outbound()
        before = fields.Datetime.now()
        self._run_job(event.job_ids.uuid)
        self.assertEqual(event.state, "queued")
        self.assertAlmostEqual((event.next_retry_at - before).total_seconds(), 45, delta=3)
        self.perform_jobs()
        self.assertEqual(event.state, "done")

    def test_customers_zendesk_does_not_know_get_no_event_and_deleted_users_are_skipped(self):
        other = self.env["res.partner"].create({"name": "Initech", "is_company": True})
        self.env["integration.subscription"].create(
            {"name": "Pro - Initech", "partner_id": other.id, "plan_code": "pro", "status": "active"}
        )
        self.assertFalse(self._outbound(), "no Zendesk user or organization: nothing to write")
        self.env["integration.binding"]._bind(
            self.backend, "customer", "9404", self.jane.copy({"parent_id": self.acme.id})
        )
        self.pro.status = "active"
        self.perform_jobs()
        event = self._outbound()
        self.assertEqual(event.state, "done", event.error_message)
        self.assertIn("9404 is not in the helpdesk any more", event.note)
        self.assertEqual(len(self.api.puts()), 3)

    def test_invoices_falling_overdue_are_pushed_by_the_daily_run(self):
        self.inv_open.invoice_date_due = fields.Date.today() - timedelta(days=1)
        self.env["account.move"]._cron_helpdesk_overdue()
        self.perform_jobs()
        values = [
            body["user"]["user_fields"]["billing_overdue_amount"] for path, body in self.api.puts() if "users" in path
        ]
        self.assertEqual(values, [250.0])

    def test_field_keys_are_the_backends(self):
        self.backend.write({"helpdesk_field_plan": False, "helpdesk_field_status": "plan_state"})
        self.pro.status = "active"
        self.perform_jobs()
        users = [body["user"]["user_fields"] for path, body in self.api.puts() if "users" in path]
        self.assertEqual(users, [{"plan_state": "active", "billing_overdue_amount": 150.0}])
