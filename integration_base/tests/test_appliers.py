"""Accounting appliers: canonical invoice, payment and refund into Odoo."""

from datetime import UTC, datetime, timedelta

from odoo import Command
from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from .common import IntegrationCaseMixin, local_http_server


@tagged("post_install", "-at_install")
class TestAccountingAppliers(IntegrationCaseMixin, AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        # the accounting test user also manages integrations
        cls.env.user.sudo().group_ids = [Command.link(cls.env.ref("integration_base.group_integration_manager").id)]
        cls.backend = cls._create_backend(
            "canonical",
            name="Billing",
            max_attempts=2,
            payment_journal_id=cls.company_data["default_journal_bank"].id,
            sale_journal_id=cls.company_data["default_journal_sale"].id,
        )
        cls.tax = cls.tax_sale_a
        cls.eur = cls.setup_other_currency("EUR")
        cls.clock = datetime(2026, 3, 1, tzinfo=UTC)

    def _feed(self, *messages):
        """Store one canonical event per message, run the jobs, return the events."""
        for message in messages:
            self.clock += timedelta(seconds=1)
            message.setdefault("occurred_at", self.clock.isoformat().replace("+00:00", "Z"))
        return self._ingest_canonical(self.backend, messages)

    def _msg(self, type_, external_id, data, **envelope):
        message = {
            "type": type_,
            "schema_version": "1.0",
            "source": "billing",
            "external_id": external_id,
            "data": data,
        }
        message.update(envelope)
        return message

    def _invoice(self, external_id="in_1", status="open", currency="EUR", total=None, lines=None, **data):
        lines = lines or [
            {
                "description": "Pro plan (2 seats)",
                "quantity": 2,
                "unit_amount": "100.00",
                "amount": "200.00",
                "taxes": [{"percentage": self.tax.amount, "inclusive": False}],
            },
            {
                "description": "Unused time on Starter (proration)",
                "quantity": 1,
                "unit_amount": "-20.00",
                "amount": "-20.00",
                "proration": True,
                "taxes": [{"percentage": self.tax.amount, "inclusive": False}],
            },
        ]
        computed = sum(
            float(line["amount"]) * (1 + sum(tax["percentage"] for tax in line.get("taxes", [])) / 100)
            for line in lines
        )
        values = {
            "customer_ref": "cus_1",
            "number": f"INV-{external_id}",
            "status": status,
            "currency": currency,
            "date": "2026-03-01",
            "due_date": "2026-03-31",
            "lines": lines,
            "total": total or f"{computed:.2f}",
        }
        values.update(data)
        return self._msg("invoice", external_id, values)

    def _payment(self, external_id, amount, invoice_ref="in_1", status="succeeded", currency="EUR"):
        data = {
            "customer_ref": "cus_1",
            "invoice_ref": invoice_ref,
            "amount": amount,
            "currency": currency,
            "date": "2026-03-02",
            "status": status,
        }
        return self._msg("payment", external_id, data)

    def _customer(self):
        return self._msg("customer", "cus_1", {"name": "Billing Customer", "email": "billing@example.com"})

    def _bound(self, type_, external_id):
        return self.env["integration.binding"]._find_record(self.backend, type_, external_id)

    def test_invoice_created_posted_with_lines_taxes_and_currency(self):
        events = self._feed(self._customer(), self._invoice())
        self.assertEqual(events.mapped("state"), ["done", "done"], events.mapped("error_message"))
        move = self._bound("invoice", "in_1")
        self.assertRecordValues(
            move,
            [
                {
                    "move_type": "out_invoice",
                    "state": "posted",
                    "currency_id": self.eur.id,
                    "ref": "INV-in_1",
                    "amount_untaxed": 180.0,
                    "amount_total": 180.0 * (1 + self.tax.amount / 100),
                }
            ],
        )
        self.assertEqual(move.partner_id, self._bound("customer", "cus_1"))
        self.assertEqual(move.invoice_line_ids.mapped("tax_ids"), self.tax)
        self.assertEqual(move.journal_id, self.company_data["default_journal_sale"])
        # replaying both events changes nothing
        events.action_replay()
        self.perform_jobs()
        self.assertEqual(self.env["account.move"].search_count([("ref", "=", "INV-in_1")]), 1)

    def test_draft_then_finalized_then_voided(self):
        self._feed(self._customer(), self._invoice(status="draft"))
        move = self._bound("invoice", "in_1")
        self.assertEqual(move.state, "draft")
        lines = [{"description": "Pro plan", "quantity": 3, "unit_amount": "100.00", "amount": "300.00", "taxes": []}]
        self._feed(self._invoice(status="open", lines=lines))
        self.assertRecordValues(move, [{"state": "posted", "amount_total": 300.0}])
        self._feed(self._invoice(status="void", lines=lines))
        self.assertEqual(move.state, "cancel")

    def test_amount_mismatch_is_an_exception_and_creates_nothing(self):
        events = self._feed(self._customer(), self._invoice(total="999.00"))
        self.assertEqual(events[1].state, "failed")
        exc = events[1].exception_ids
        self.assertEqual(exc.category, "amount_mismatch")
        self.assertIn("999", exc.details)
        self.assertFalse(self._bound("invoice", "in_1"))
        self.assertFalse(self.env["account.move"].search([("ref", "=", "INV-in_1")]))

    def test_unknown_or_inactive_currency(self):
        self.env.ref("base.JPY").active = False
        events = self._feed(self._customer(), self._invoice(currency="JPY"), self._invoice("in_2", currency="XYZ"))
        inactive, unknown = events[1].exception_ids, events[2].exception_ids
        self.assertEqual(inactive.category, "currency")
        self.assertIn("not active", events[1].error_message)
        # a code Odoo does not know at all is a value to correct, refused before anything is applied
        self.assertRecordValues(unknown, [{"category": "schema_violation", "pointer": "/data/currency"}])
        self.assertIn("“XYZ” is not a currency Odoo knows", unknown.description)
        self.assertTrue(unknown.can_correct)

    def test_zero_decimal_currency(self):
        jpy = self.env.ref("base.JPY")
        jpy.active = True
        lines = [{"description": "Plan", "quantity": 1, "unit_amount": "1500", "amount": "1500", "taxes": []}]
        events = self._feed(self._customer(), self._invoice(currency="JPY", lines=lines, total="1500"))
        self.assertEqual(events[1].state, "done", events[1].error_message)
        self.assertRecordValues(self._bound("invoice", "in_1"), [{"currency_id": jpy.id, "amount_total": 1500.0}])

    def test_three_decimal_currency_stays_exact(self):
        kwd = self.setup_other_currency("KWD", rates=[("2020-01-01", 0.3)])
        self.assertEqual(kwd.decimal_places, 3)
        self.env["decimal.precision"].search([("name", "=", "Product Price")]).digits = 2
        lines = [{"description": "Plan", "quantity": 2, "unit_amount": "12.345", "amount": "24.690", "taxes": []}]
        events = self._feed(
            self._customer(),
            self._invoice(currency="KWD", lines=lines, total="24.690"),
            self._payment("py_kwd", "24.690", currency="KWD"),
        )
        self.assertEqual(events.mapped("state"), ["done"] * 3, events.mapped("error_message"))
        move = self._bound("invoice", "in_1")
        self.assertRecordValues(move, [{"currency_id": kwd.id, "amount_total": 24.69, "payment_state": "paid"}])
        self.assertEqual(move.invoice_line_ids.price_unit, 12.345, "not 12.35: the unit price keeps 3 decimals")
        self.assertIn("Product Price precision raised from 2 to 3", events[1].note)
        self.assertEqual(self._bound("payment", "py_kwd").amount, 24.69)

    def test_partial_then_full_payment_reconciled(self):
        self._feed(self._customer(), self._invoice())
        move = self._bound("invoice", "in_1")
        total = move.amount_total
        self._feed(self._payment("py_1", "100.00"))
        self.assertEqual(move.payment_state, "partial")
        self.assertAlmostEqual(move.amount_residual, total - 100.0)
        events = self._feed(
            self._payment("py_2", f"{total - 100.0:.2f}"), self._payment("py_2", f"{total - 100.0:.2f}")
        )
        self.assertIn(move.payment_state, ("paid", "in_payment"))
        payments = self._bound("payment", "py_1") | self._bound("payment", "py_2")
        self.assertEqual(len(payments), 2)
        self.assertEqual(payments.journal_id, self.company_data["default_journal_bank"])
        self.assertEqual(events[1].record_ids.action, "skipped", "the redelivered payment is not booked twice")
        self.assertEqual(move.matched_payment_ids, payments)

    def test_overpayment_and_payment_for_a_missing_invoice(self):
        self._feed(self._customer(), self._invoice())
        events = self._feed(self._payment("py_big", "5000.00"), self._payment("py_lost", "10.00", invoice_ref="in_404"))
        self.assertEqual(events[0].exception_ids.category, "amount_mismatch")
        self.assertEqual(events[1].state, "dead", "the invoice may still come: retried, then dead")
        exc = events[1].exception_ids
        self.assertRecordValues(
            exc, [{"category": "missing_record", "link_external_id": "in_404", "link_model": "account.move"}]
        )

    def test_failed_payment_opens_a_payment_exception_and_books_nothing(self):
        self._feed(self._customer(), self._invoice())
        events = self._feed(self._payment("py_fail", "10.00", status="failed"))
        self.assertEqual(events.state, "done")
        self.assertEqual(events.exception_ids.category, "payment_failed")
        self.assertFalse(self._bound("payment", "py_fail"))

    def test_partial_refund_credit_note_and_refund_payment(self):
        self._feed(self._customer(), self._invoice())
        move = self._bound("invoice", "in_1")
        self._feed(self._payment("py_1", f"{move.amount_total:.2f}"))
        refund = self._msg(
            "refund",
            "re_1",
            {
                "payment_ref": "py_1",
                "invoice_ref": "in_1",
                "customer_ref": "cus_1",
                "amount": "50.00",
                "currency": "EUR",
                "date": "2026-03-05",
                "status": "succeeded",
                "reason": "requested_by_customer",
            },
        )
        events = self._feed(refund, refund)
        self.assertEqual(events.mapped("state"), ["done", "done"], events.mapped("error_message"))
        credit_note = self._bound("refund", "re_1")
        self.assertRecordValues(
            credit_note,
            [{"move_type": "out_refund", "state": "posted", "amount_total": 50.0, "reversed_entry_id": move.id}],
        )
        self.assertIn(credit_note.payment_state, ("paid", "in_payment"))
        self.assertEqual(self.env["account.move"].search_count([("reversed_entry_id", "=", move.id)]), 1)
        too_much = self._msg(
            "refund",
            "re_2",
            {
                "payment_ref": "py_1",
                "invoice_ref": "in_1",
                "customer_ref": "cus_1",
                "amount": f"{move.amount_total:.2f}",
                "currency": "EUR",
                "date": "2026-03-06",
                "status": "succeeded",
            },
        )
        event = self._feed(too_much)
        self.assertEqual(event.exception_ids.category, "refund_exceeds")
        self.assertFalse(self._bound("refund", "re_2"))

    def test_posted_invoice_and_payment_are_pushed_to_other_subscribers(self):
        invoice_type = self.env.ref("integration_base.canonical_type_invoice")
        payment_type = self.env.ref("integration_base.canonical_type_payment")
        with local_http_server(lambda *a: (200, {}, {"ok": True})) as server:
            crm = self._create_backend(
                "canonical",
                name="CRM",
                api_url=server.url,
                outbound_type_ids=[Command.set((invoice_type | payment_type).ids)],
            )
            self.backend.outbound_type_ids = [Command.set((invoice_type | payment_type).ids)]
            self._feed(self._customer(), self._invoice())
            move = self._bound("invoice", "in_1")
            self._feed(self._payment("py_1", f"{move.amount_total:.2f}"))
            self.perform_jobs()
        outbound = self.env["integration.event"].search([("direction", "=", "out")])
        self.assertEqual(outbound.backend_id, crm, "never echoed back to the billing system that sent them")
        self.assertEqual(
            sorted(outbound.mapped("event_type")), ["invoice.paid", "invoice.posted", "payment.posted"]
        )  # the invoice's payment is pushed too
        self.assertEqual(set(outbound.mapped("state")), {"done"}, outbound.mapped("error_message"))
        messages = {message["type"]: message for message in server.json_calls()}
        self.assertEqual(messages["invoice"]["data"]["total"], f"{move.amount_total:.2f}".rstrip("0").rstrip("."))
        self.assertEqual(messages["invoice"]["data"]["currency"], "EUR")
        self.assertEqual(messages["payment"]["data"]["invoice_ref"], f"odoo-account-move-{move.id}")
        invoice_event = outbound.filtered(lambda e: e.event_type == "invoice.posted")
        self.assertEqual(
            invoice_event.correlation_id,
            self.env["integration.event"]
            .search([("direction", "=", "in"), ("event_type", "=", "invoice")])
            .correlation_id,
            "the outbound push carries the correlation id of the inbound flow",
        )
