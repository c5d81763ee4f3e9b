"""Odoo -> Stripe: the customer's Odoo-owned fields, and refunds of credit notes.

Calls go through the official SDK to an HTTP server answering like Stripe,
so the requests checked here are the ones Stripe would receive.
"""

import time

from odoo import Command
from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.integration_base.tests.common import local_http_server

from .common import FakeStripeApi, StripeCaseMixin, load

CUS = "cus_QaT4p2Zr8sLm01"
INV = "in_1QbXk3Zr8sLm0Inv"
PI = "pi_3QbXk4Zr8sLm0Pay"


@tagged("post_install", "-at_install")
class TestStripeOutbound(StripeCaseMixin, AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.env.user.sudo().group_ids = [Command.link(cls.env.ref("integration_base.group_integration_manager").id)]
        cls.backend = cls._create_stripe_backend()
        cls._prepare_accounting(cls.backend)
        types = cls.env.ref("integration_base.canonical_type_customer") | cls.env.ref(
            "integration_base.canonical_type_refund"
        )
        cls.backend.outbound_type_ids = [Command.set(types.ids)]

    def setUp(self):
        super().setUp()
        self.api = FakeStripeApi({f"/v1/customers/{CUS}/tax_ids": []})
        self.refunds = []
        self.api.posted[("POST", f"/v1/customers/{CUS}")] = lambda params: (
            200,
            dict(load("customer.created")["data"]["object"]),
        )
        self.api.posted[("POST", f"/v1/customers/{CUS}/tax_ids")] = lambda params: (
            200,
            {"id": "txi_1QbVatZr8sLm0", "object": "tax_id", "type": params["type"], "value": params["value"]},
        )
        self.api.posted[("POST", "/v1/refunds")] = self._refund

    def _refund(self, params):
        refund = {
            "id": f"re_odoo{len(self.refunds) + 1}",
            "object": "refund",
            "amount": int(params["amount"]),
            "charge": "ch_3QbXk4Zr8sLm0Chg",
            "created": int(time.time()),
            "currency": "usd",
            "metadata": {
                "odoo_move_id": params["metadata[odoo_move_id]"],
                "odoo_credit_note": params["metadata[odoo_credit_note]"],
            },
            "payment_intent": params.get("payment_intent"),
            "reason": None,
            "status": "succeeded",
        }
        self.refunds.append(refund)
        return 200, refund

    def _outbound(self):
        return self.env["integration.event"].search([("backend_id", "=", self.backend.id), ("direction", "=", "out")])

    def test_address_and_vat_are_pushed_to_the_known_stripe_customer(self):
        self._feed(load("customer.created"))
        partner = self._bound("customer", CUS)
        self.assertFalse(self._outbound(), "what came from Stripe is not echoed back")
        stranger = self.env["res.partner"].create({"name": "Not in Stripe", "street": "Nowhere 1"})
        stranger.vat = "BE0477472701"
        self.assertFalse(self._outbound(), "Odoo does not create Stripe customers")
        partner.write({"street": "Avenue Louise 54", "zip": "1050", "vat": "BE0477472701"})
        event = self._outbound()
        self.assertEqual(len(event), 1)
        with local_http_server(self.api) as server:
            self.backend.api_url = server.url
            self.perform_jobs()
        self.assertEqual(event.state, "done", event.error_message)
        calls = [(method, path) for method, path, _params, _headers in self.api.calls]
        self.assertEqual(
            calls,
            [
                ("POST", f"/v1/customers/{CUS}"),
                ("GET", f"/v1/customers/{CUS}/tax_ids"),
                ("POST", f"/v1/customers/{CUS}/tax_ids"),
            ],
        )
        _method, _path, params, headers = self.api.calls[0]
        self.assertEqual(params["address[line1]"], "Avenue Louise 54")
        self.assertEqual(params["address[postal_code]"], "1050")
        self.assertEqual(params["address[country]"], "BE")
        self.assertNotIn("email", params, "only Odoo-owned fields are sent")
        self.assertEqual(headers["Stripe-Version"], "2024-06-20")
        self.assertEqual(headers["Idempotency-Key"], f"{event.external_id}-customer")
        self.assertEqual(self.api.calls[2][2], {"type": "eu_vat", "value": "BE0477472701"})
        self.assertIn("VAT number BE0477472701 (eu_vat) added", event.note)

    def test_credit_note_is_refunded_in_stripe_once(self):
        self._feed(load("customer.created"), load("invoice.finalized"), load("payment_intent.succeeded"))
        invoice = self._bound("invoice", INV)
        credit_note = invoice._reverse_moves([{"ref": "Customer left after a week"}])
        credit_note.invoice_line_ids.filtered(lambda line: line.price_unit == 49.0).unlink()  # only the onboarding fee
        credit_note.action_post()
        event = self._outbound()
        self.assertEqual(len(event), 1)
        self.assertEqual(event.canonical_type, "refund")
        with local_http_server(self.api) as server:
            self.backend.api_url = server.url
            self.perform_jobs()
            self.assertEqual(event.state, "done", event.error_message)
            _method, path, params, headers = self.api.calls[0]
            self.assertEqual(path, "/v1/refunds")
            self.assertEqual(params["payment_intent"], PI)
            self.assertEqual(params["amount"], "2875", "28.75 USD in cents")
            self.assertEqual(params["metadata[odoo_move_id]"], str(credit_note.id))
            self.assertRegex(headers["Idempotency-Key"], rf"^odoo-[0-9a-f-]+-refund-{credit_note.id}$")
            self.assertEqual(self._bound("refund", "re_odoo1"), credit_note)
            self.assertEqual(credit_note.payment_state, "paid", "the refund payment is booked in the Stripe journal")
            self.assertEqual(credit_note.matched_payment_ids.journal_id, self.backend.payment_journal_id)
            # sent again (a retry, a replay): Stripe is not asked twice
            event.action_retry()
            self.perform_jobs()
        self.assertEqual(len(self.api.paths("POST")), 1)
        self.assertIn("already refunded", event.note)
        # Stripe's own event of that refund then books nothing more
        refunded = load("charge.refunded")
        refunded["data"]["object"]["refunds"]["data"] = [self.refunds[0]]
        self._feed(refunded)
        self.assertEqual(self.env["account.move"].search_count([("reversed_entry_id", "=", invoice.id)]), 1)
        self.assertEqual(len(credit_note.matched_payment_ids), 1)

    def test_refund_larger_than_the_payment_is_refused_before_calling_stripe(self):
        self._feed(load("customer.created"), load("invoice.finalized"), load("payment_intent.succeeded"))
        invoice = self._bound("invoice", INV)
        first = invoice._reverse_moves([{"ref": "first"}])
        first.action_post()
        second = invoice._reverse_moves([{"ref": "second"}])
        second.action_post()
        with local_http_server(self.api) as server:
            self.backend.api_url = server.url
            self.perform_jobs()
        events = self._outbound().sorted("id")
        self.assertEqual(events.mapped("state"), ["done", "failed"])
        self.assertRecordValues(events[1].exception_ids, [{"category": "refund_exceeds"}])
        self.assertEqual(len(self.api.paths("POST")), 1, "the second refund never reached Stripe")

    def test_credit_note_of_an_invoice_not_paid_through_stripe_is_not_sent(self):
        move = self.init_invoice("out_invoice", partner=self.partner_a, amounts=[100.0], post=True)
        credit_note = move._reverse_moves([{"ref": "local"}])
        credit_note.action_post()
        self.assertFalse(self._outbound())

    def test_calls_respect_the_rate_limit(self):
        self._feed(load("customer.created"))
        self.backend.rate_limit = 0.5  # one call every two seconds
        self._bound("customer", CUS).street = "Rate Street 1"
        event = self._outbound()
        with local_http_server(self.api) as server:
            self.backend.api_url = server.url
            self._run_job(event.job_ids.uuid)
        self.assertEqual(len(self.api.calls), 1, "the second call waits for a token instead of flooding Stripe")
        self.assertEqual(event.state, "queued")
        self.assertIn("rate limit", event.error_message)
        self.assertTrue(event.next_retry_at)
