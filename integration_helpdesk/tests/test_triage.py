"""Ticket triage: the billing rule (pure), and what finance sees on the customer and the invoice."""

import json
import unittest

from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon

from ..triage import boosted_priority, triage
from .common import BillingWorldMixin, ZendeskCaseMixin, fixture

#: (subject, description, tags) -> reason, None when not a billing ticket
CASES = [
    (("Double charge on invoice", None, ()), "charge"),
    (("We were charged twice", None, ()), "charge"),
    (("My card was declined", None, ()), "payment_failed"),
    (("Help", "The payment failed again this morning", ()), "payment_failed"),
    (("Refund please", None, ()), "refund"),
    (("Please cancel my subscription", None, ()), "cancel"),
    (("Cannot download my invoice", None, ()), "invoice"),
    (("Question about INV/2026/00042", None, ()), "invoice"),
    (("Need our VAT number on receipts", None, ()), "invoice"),
    (("Update the credit card", None, ()), "payment"),
    (("Help", "nothing here", ("vip", "refund")), "refund"),
    (("Help", None, ("billing",)), "invoice"),
    (("Cannot log in", "The password reset link expired", ("login",)), None),
    (("Who is in charge of my account?", None, ()), None),
    (("Cancel the meeting", None, ()), None),
    (("Export fails", "The CSV export crashes", ()), None),
]


@tagged("post_install", "-at_install")
class TestTriageRule(unittest.TestCase):
    def test_the_rule(self):
        for (subject, description, tags), reason in CASES:
            with self.subTest(subject=subject, description=description, tags=tags):
                result = triage(subject, description, tags)
                self.assertEqual((result.billing, result.reason), (reason is not None, reason))

    def test_priority_boost(self):
        billing, failed, other = triage("Refund"), triage("Card declined"), triage("Login")
        self.assertEqual(
            [boosted_priority(p, billing) for p in ("low", "normal", "high", "urgent", None)],
            ["normal", "high", "urgent", "urgent", "high"],
        )
        self.assertEqual(boosted_priority("low", failed), "high", "a failed payment is at least high")
        self.assertEqual(boosted_priority("low", other), "low")


@tagged("post_install", "-at_install")
class TestTriageLinks(BillingWorldMixin, ZendeskCaseMixin, AccountTestInvoicingHttpCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["integration.binding"]._bind(cls.backend, "customer", "9001001", cls.jane)
        cls.backend.api_url = "https://acme.zendesk.com"

    def _ticket(self, ticket_id, subject, description="", tags=(), priority="NORMAL"):
        payload = fixture("zendesk_ticket_created.json")
        payload["id"] = f"evt-{ticket_id}"
        payload["detail"].update(
            id=ticket_id, subject=subject, description=description, tags=list(tags), priority=priority
        )
        body = json.dumps(payload).encode()
        self.env.flush_all()
        response = self.url_open(
            f"/integration/webhook/{self.backend.reference}", data=body, headers=self._signed_headers(body)
        )
        self.assertEqual(response.status_code, 202, response.text)
        self.perform_jobs()
        return self.env["integration.binding"]._find_record(self.backend, "support_ticket", ticket_id)

    def test_links_named_invoice_then_failed_payment_then_latest_invoice(self):
        named = self._ticket("7001", f"Wrong amount on {self.inv_open.name}")
        self.assertRecordValues(
            named, [{"category": "billing", "billing_reason": "invoice", "invoice_id": self.inv_open.id}]
        )
        failed = self._ticket("7002", "My card was declined", priority="LOW")
        self.assertRecordValues(
            failed,
            [
                {
                    "billing_reason": "payment_failed",
                    "priority": "high",
                    "helpdesk_priority": "low",
                    "payment_failure_id": self.failure.id,
                    "invoice_id": self.inv_partial.id,
                }
            ],
        )
        self.failure.action_resolve()
        latest = self.env["account.move"].search(
            [("commercial_partner_id", "=", self.acme.id), ("move_type", "=", "out_invoice"), ("state", "=", "posted")],
            order="invoice_date desc, id desc",
            limit=1,
        )
        refund = self._ticket("7003", "Refund please")
        self.assertRecordValues(refund, [{"invoice_id": latest.id, "payment_failure_id": False}])
        other = self._ticket("7004", "Cannot log in", "The password reset link expired")
        self.assertRecordValues(
            other, [{"category": "other", "billing_reason": False, "invoice_id": False, "priority": "normal"}]
        )
        self.assertEqual(named.helpdesk_url, "https://acme.zendesk.com/agent/tickets/7001")
        self.assertEqual(named.partner_id, self.jane)
        self.assertEqual(
            named.subscription_ids, self.pro | self.starter, "the account's subscriptions, not the contact's"
        )

    def test_finance_sees_tickets_on_the_customer_and_the_invoice(self):
        self._ticket("7101", "My card was declined")
        self._ticket("7102", "Cannot log in")
        solved = self._ticket("7103", "Refund please")
        solved.status = "solved"
        for partner in (self.acme, self.jane):  # the company and its contact show the account's tickets
            self.assertEqual(
                (partner.integration_ticket_count, partner.integration_billing_ticket_count), (2, 1), partner.name
            )
        self.assertEqual(len(self.acme.integration_ticket_ids), 3)
        # both billing tickets are about the invoice whose payment failed (still open)
        self.assertEqual(self.inv_partial.integration_ticket_count, 2)
        Ticket = self.env["integration.support.ticket"]
        self.assertEqual(
            Ticket.search([("commercial_partner_id", "=", self.acme.id), ("is_open", "=", True)]).mapped("name"),
            ["Cannot log in", "My card was declined"],
        )
        self.assertEqual(
            Ticket.search([("category", "=", "billing"), ("is_open", "=", False)]).mapped("name"), ["Refund please"]
        )
