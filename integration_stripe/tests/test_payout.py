"""Payout reconciliation: the balance transactions of a payout against Odoo's books.

A payout settles charges, refunds and fees. Odoo booked the payments and
refund payments on the Stripe balance (clearing) account; the payout books
the fees and the transfer to the bank and, when every transaction matches,
reconciles all of it. Every difference is an exception for finance.
"""

import copy

from odoo import Command
from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.integration_base.tests.common import local_http_server

from .common import FakeStripeApi, StripeCaseMixin, load

PI = "pi_3QbXk4Zr8sLm0Pay"


@tagged("post_install", "-at_install")
class TestStripePayout(StripeCaseMixin, AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.env.user.sudo().group_ids = [Command.link(cls.env.ref("integration_base.group_integration_manager").id)]
        cls.backend = cls._create_stripe_backend()
        cls._prepare_accounting(cls.backend)

    def setUp(self):
        super().setUp()
        # the books before the payout: invoice paid through Stripe, then partly refunded
        self._feed(
            load("customer.created"),
            load("invoice.finalized"),
            load("payment_intent.succeeded"),
            load("charge.refunded"),
        )
        self.payment = self._bound("payment", PI)
        self.refund = self._bound("refund", "re_3QbXf1Zr8sLm0Ref")
        self.assertTrue(self.payment and self.refund)
        self.transactions = {"po_1QbXh1Zr8sLm0Pyt": load("balance_transactions")["data"]}
        self.api = FakeStripeApi({"/v1/balance_transactions": self._transactions_of_payout})

    def _transactions_of_payout(self, params):
        return copy.deepcopy(self.transactions.get(params.get("payout"), []))

    def _clearing_lines(self, records):
        moves = records.move_id if records._name == "account.payment" else records
        return moves.line_ids.filtered(lambda line: line.account_id == self.backend.stripe_clearing_account_id)

    def test_payout_books_fees_and_transfer_and_reconciles(self):
        with local_http_server(self.api) as server:
            self.backend.api_url = server.url
            events = self._feed(load("payout.paid"), load("payout.paid"))
        self.assertEqual(events.state, "done", events.error_message)
        calls = [(path, params) for method, path, params, _headers in self.api.calls]
        self.assertEqual(calls[0][0], "/v1/balance_transactions")
        self.assertEqual(calls[0][1]["payout"], "po_1QbXh1Zr8sLm0Pyt")
        self.assertEqual(calls[0][1]["expand[0]"], "data.source")
        entry = self._bound("payout", "po_1QbXh1Zr8sLm0Pyt")
        self.assertRecordValues(entry, [{"state": "posted", "journal_id": self.backend.payment_journal_id.id}])
        accounts = self.backend._payout_accounts()
        by_account = {}
        for line in entry.line_ids:
            by_account[line.account_id] = by_account.get(line.account_id, 0.0) + line.balance
        self.assertAlmostEqual(by_account[accounts["transfer"]], 76.10, msg="the net payout goes to the bank")
        self.assertAlmostEqual(by_account[accounts["fee"]], 4.08, msg="Stripe's fees are booked as an expense")
        self.assertAlmostEqual(by_account[accounts["clearing"]], -80.18)
        lines = (
            self._clearing_lines(self.payment)
            | self._clearing_lines(self.refund.matched_payment_ids)
            | self._clearing_lines(entry)
        )
        self.assertTrue(all(lines.mapped("reconciled")), "charge, refund, fees and payout are settled together")
        self.assertEqual(len(lines.full_reconcile_id), 1)
        self.assertFalse(self.env["integration.exception"].search([("category", "=", "reconciliation")]))
        self.assertIn("reconciled", events.note)

    def test_every_difference_is_an_exception(self):
        transactions = load("balance_transactions")["data"]
        charge, _refund, payout_txn = transactions
        unknown = copy.deepcopy(charge)
        unknown.update(id="txn_unknown", amount=2000, fee=88, net=1912)
        unknown["source"].update(id="ch_unknown", payment_intent="pi_unknown")
        wrong = copy.deepcopy(charge)
        wrong.update(id="txn_wrong", amount=13000, fee=408)  # Odoo booked 130.18 for this payment
        dispute = {
            "id": "txn_dispute",
            "object": "balance_transaction",
            "amount": -1500,
            "fee": 1500,
            "currency": "usd",
            "type": "adjustment",
            "description": "Chargeback withdrawal for ch_3QbXk4Zr8sLm0Chg",
            "source": "dp_1QbXg1Zr8sLm0Dsp",
            "reporting_category": "dispute",
            "net": -3000,
        }
        self.transactions["po_2"] = [unknown, wrong, dispute, payout_txn]
        payout = load("payout.paid")
        payout["id"] = "evt_po_2"
        payout["data"]["object"].update(id="po_2", amount=9999)
        with local_http_server(self.api) as server:
            self.backend.api_url = server.url
            event = self._feed(payout)
            self.assertEqual(event.state, "done", event.error_message)
            exceptions = self.env["integration.exception"].search([("category", "=", "reconciliation")])
            details = " | ".join(exceptions.mapped("details"))
            self.assertEqual(len(exceptions), 4, details)
            self.assertIn("pi_unknown of 20.00 is not in Odoo", details)
            self.assertIn("130.00 USD at the source, 130.18 in Odoo", details)
            self.assertIn("Chargeback withdrawal", details)
            self.assertIn("the payout is 99.99", details)
            self.assertEqual(set(exceptions.mapped("state")), {"new"}, "non-blocking: they stay open for finance")
            entry = self._bound("payout", "po_2")
            self.assertEqual(entry.state, "posted", "what Stripe paid out is booked anyway")
            self.assertFalse(
                any(self._clearing_lines(self.payment).mapped("reconciled")), "nothing is reconciled on a difference"
            )
            # a replay neither books twice nor repeats the exceptions
            event.action_replay()
            self.perform_jobs()
        self.assertEqual(len(self.env["integration.exception"].search([("category", "=", "reconciliation")])), 4)
        self.assertEqual(self.env["account.move"].search_count([("ref", "=", "Payout po_2")]), 1)

    def test_missing_accounts_is_a_clear_exception(self):
        self.backend.stripe_fee_account_id = False
        with local_http_server(self.api) as server:
            self.backend.api_url = server.url
            event = self._feed(load("payout.paid"))
        self.assertEqual(event.state, "failed")
        self.assertRecordValues(event.exception_ids, [{"category": "mapping"}])
        self.assertIn("Stripe fees account", event.exception_ids.details)
        self.assertFalse(self._bound("payout", "po_1QbXh1Zr8sLm0Pyt"))
