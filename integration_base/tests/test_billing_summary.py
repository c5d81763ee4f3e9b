"""integration.billing: a customer's billing at a glance, from what the engine applied."""

from datetime import date

from odoo import Command
from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from ..billing import card_expired, monthly
from .common import IntegrationCaseMixin


@tagged("post_install", "-at_install")
class TestBillingSummary(IntegrationCaseMixin, AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.env.user.sudo().group_ids = [Command.link(cls.env.ref("integration_base.group_integration_manager").id)]
        cls.backend = cls._create_backend(
            "canonical",
            name="Billing",
            max_attempts=1,
            payment_journal_id=cls.company_data["default_journal_bank"].id,
            sale_journal_id=cls.company_data["default_journal_sale"].id,
        )
        cls.eur = cls.setup_other_currency("EUR", rates=[("2026-01-01", 2.0)])
        cls.usd = cls.company_data["currency"]

    def _customer(self, **payment_method):
        data = {"name": "Globex", "email": "ap@globex.example", "is_company": True}
        if payment_method:
            data["payment_method"] = payment_method
        self._ingest_canonical(self.backend, [self._message("customer", "cus_G", data)])
        return self.env["integration.binding"]._find_record(self.backend, "customer", "cus_G")

    def _subscription(self, external_id, code, amount, currency, interval, status, **data):
        plan = {"code": code, "amount": amount, "currency": currency, "interval": interval}
        values = dict({"customer_ref": "cus_G", "plan": plan, "quantity": 2, "status": status}, **data)
        return self._message("subscription", external_id, values)

    def test_summary_of_what_was_applied(self):
        customer = self._customer(type="card", brand="amex", last4="0005", exp_month=12, exp_year=2029)
        self.assertRecordValues(
            customer,
            [{"integration_payment_method_brand": "amex", "integration_payment_method_last4": "0005"}],
        )
        events = self._ingest_canonical(
            self.backend,
            [
                self._subscription(
                    "sub_1", "pro", "50", self.usd.name, "month", "active", current_period_end="2099-05-01T00:00:00Z"
                ),
                self._subscription(
                    "sub_2", "audit", "120", "EUR", "year", "trialing", trial_end="2099-03-01T00:00:00Z"
                ),
                self._subscription("sub_3", "old", "9", self.usd.name, "month", "canceled"),
                self._message(
                    "payment",
                    "pi_failed",
                    {
                        "customer_ref": "cus_G",
                        "amount": "100",
                        "currency": self.usd.name,
                        "date": "2026-03-01",
                        "status": "failed",
                        "failure_reason": "insufficient funds",
                    },
                ),
            ],
        )
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("error_message"))
        invoice = self.init_invoice(
            "out_invoice", partner=customer, invoice_date="2026-01-10", amounts=[80.0], taxes=[]
        )
        invoice.invoice_date_due = "2026-02-10"
        invoice.action_post()
        summary = self.env["integration.billing"]._summary(customer, self.env.company)
        self.assertEqual(summary["entitlement"], "active")
        self.assertEqual(summary["plans"], ["audit", "pro"])
        # 2 x 50 USD a month + 2 x 120 EUR a year (= 20 EUR a month = 10 USD at 2 EUR per USD)
        self.assertAlmostEqual(summary["mrr"], 110.0)
        self.assertEqual(
            (summary["amount_due"], summary["amount_overdue"], summary["overdue_invoices"]), (80.0, 80.0, 1)
        )
        self.assertEqual(summary["next_invoice_date"], date(2099, 3, 1), "the trial's end comes first")
        self.assertEqual(summary["payment_method"]["last4"], "0005")
        self.assertFalse(summary["payment_method"]["expired"])
        self.assertEqual(summary["dunning"]["status"], "failing")
        self.assertIn("insufficient funds", summary["dunning"]["last_failure"])

    def test_payment_method_removed_at_the_source_is_cleared(self):
        customer = self._customer(type="card", brand="visa", last4="4242", exp_month=1, exp_year=2030)
        self._ingest_canonical(
            self.backend,
            [self._message("customer", "cus_G", {"name": "Globex", "is_company": True, "payment_method": None})],
        )
        self.assertFalse(customer.integration_payment_method_type)
        self.assertIsNone(self.env["integration.billing"]._summary(customer, self.env.company)["payment_method"])

    def test_pure_arithmetic(self):
        self.assertEqual(monthly(49.0, 3, "month", 1), 147.0)
        self.assertEqual(monthly(120.0, 1, "year", 1), 10.0)
        self.assertEqual(monthly(10.0, 1, False, 1), 0.0)
        self.assertFalse(card_expired(12, 2026, date(2026, 12, 31)), "a card works through its month")
        self.assertTrue(card_expired(12, 2026, date(2027, 1, 1)))
        self.assertFalse(card_expired(None, None, date(2027, 1, 1)))
