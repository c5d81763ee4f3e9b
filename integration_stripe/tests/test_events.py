"""Every handled Stripe event type from recorded payloads, applied to Odoo.

The backend fetches nothing from the API here (``stripe_fetch_objects`` is
empty): the payloads are the whole truth, so that each test shows what one
event does. Replays and out-of-order deliveries never duplicate anything and
end in the newest state.
"""

from odoo import Command
from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from .common import StripeCaseMixin, load

T0 = 1767225600
CUS = "cus_QaT4p2Zr8sLm01"
INV = "in_1QbXk3Zr8sLm0Inv"
PI = "pi_3QbXk4Zr8sLm0Pay"
SUB = "sub_1QbXk2Zr8sLm0Pro"


@tagged("post_install", "-at_install")
class TestStripeEvents(StripeCaseMixin, AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.env.user.sudo().group_ids = [Command.link(cls.env.ref("integration_base.group_integration_manager").id)]
        cls.salesperson = cls.env["res.users"].create({"name": "Sally Sales", "login": "sally.stripe"})
        cls.backend = cls._create_stripe_backend(sale_journal_id=cls.company_data["default_journal_sale"].id)
        cls._prepare_accounting(cls.backend)
        cls.income = cls._create_product(name="Stripe subscriptions", lst_price=0.0)
        cls.backend.stripe_income_product_id = cls.income

    # ------------------------------------------------------------------
    def _invoice_flow(self):
        self._feed(load("customer.created"), load("invoice.finalized"))
        return self._bound("invoice", INV)

    def test_customer_created_updated_deleted_replayed_out_of_order(self):
        created, updated, deleted = load("customer.created"), load("customer.updated"), load("customer.deleted")
        # the update arrives first, the creation after it, then both again
        events = self._feed(updated, created, updated, created)
        self.assertEqual(len(events), 2, "a redelivered event is stored once")
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("error_message"))
        partner = self._bound("customer", CUS)
        self.assertRecordValues(
            partner,
            [
                {
                    "name": "Acme Widgets NV",
                    "email": "billing@acme-widgets.example",
                    "phone": "+32 2 555 02 02",
                    "street": "Rue de la Loi 16",
                    "zip": "1000",
                    "city": "Brussels",
                    "active": True,
                }
            ],
        )
        self.assertEqual(partner.country_id.code, "BE")
        stale = events.filtered(lambda e: e.event_type == "customer.created")
        self.assertIn("stale", stale.note, "the older creation is not applied over the newer update")
        self.assertEqual(self.env["res.partner"].search_count([("email", "=", "billing@acme-widgets.example")]), 1)
        # replaying the older event by hand changes nothing either
        stale.action_replay()
        self.perform_jobs()
        self.assertEqual(partner.name, "Acme Widgets NV")
        self._feed(deleted)
        self.assertFalse(partner.active, "a deleted Stripe customer is archived, never deleted")

    def test_product_and_price_create_a_bound_service_product(self):
        self._feed(load("product.created"))
        product = self._bound("product", "prod_QbPro01Zr8sLm")
        self.assertRecordValues(
            product, [{"name": "Pro", "default_code": "PRO-M", "type": "service", "sale_ok": True, "active": True}]
        )
        self.assertIn("unlimited projects", product.description_sale)
        # the product is known: an invoice line of its price uses it; unknown products use the default
        self._feed(load("customer.created"), load("invoice.finalized"))
        move = self._bound("invoice", INV)
        self.assertEqual(move.invoice_line_ids.mapped("product_id"), product | self.income)

    def test_subscription_lifecycle_and_entitlement(self):
        created, updated, deleted = (
            load("customer.subscription.created"),
            load("customer.subscription.updated"),
            load("customer.subscription.deleted"),
        )
        # the subscription is updated before Stripe's creation event arrives
        self._feed(load("customer.created"), updated, created)
        sub = self._bound("subscription", SUB)
        self.assertRecordValues(
            sub,
            [
                {
                    "plan_code": "price_1QbBiz01Zr8sLm0M",
                    "plan_name": "Business monthly",
                    "quantity": 3,
                    "amount": 99.0,
                    "recurring_total": 297.0,
                    "status": "active",
                    "cancel_at_period_end": True,
                    "entitlement_state": "active",
                    "interval": "month",
                }
            ],
        )
        self.assertEqual(sub.currency_id.name, "USD")
        self.assertEqual(self.env["integration.subscription"].search_count([("partner_id", "=", sub.partner_id.id)]), 1)
        for step, (status, entitlement, event_type) in enumerate(
            (
                ("past_due", "grace", "customer.subscription.updated"),
                ("unpaid", "suspended", "customer.subscription.updated"),
                ("paused", "suspended", "customer.subscription.paused"),
                ("active", "active", "customer.subscription.resumed"),
                ("trialing", "active", "customer.subscription.trial_will_end"),
            ),
            start=1,
        ):
            payload = self._with(updated, created=updated["created"] + 100 * step, status=status)
            payload["type"] = event_type
            event = self._feed(payload)
            self.assertEqual(event.state, "done", event.error_message)
            self.assertEqual((sub.status, sub.entitlement_state), (status, entitlement), event_type)
        self._feed(deleted)
        self.assertEqual((sub.status, sub.entitlement_state), ("canceled", "ended"))
        self.assertTrue(sub.canceled_at)

    def test_invoice_created_finalized_paid_with_discount_and_taxes(self):
        draft, finalized, paid, pi = (
            load("invoice.created"),
            load("invoice.finalized"),
            load("invoice.paid"),
            load("payment_intent.succeeded"),
        )
        self._feed(load("customer.created"), draft)
        move = self._bound("invoice", INV)
        self.assertEqual(move.state, "draft", "invoice.created: a draft customer invoice")
        self._feed(finalized)
        self.assertEqual(move.state, "posted", "invoice.finalized: posted")
        self.assertRecordValues(
            move,
            [
                {
                    "move_type": "out_invoice",
                    "ref": "7F2A1B3C-0001",
                    "amount_untaxed": 113.20,
                    "amount_tax": 16.98,
                    "amount_total": 130.18,
                    "partner_id": self._bound("customer", CUS).id,
                    "journal_id": self.company_data["default_journal_sale"].id,
                }
            ],
        )
        self.assertEqual(move.currency_id.name, "USD")
        lines = move.invoice_line_ids.sorted("sequence")
        self.assertRecordValues(
            lines,
            [
                {
                    "quantity": 2,
                    "price_unit": 49.0,
                    "discount": 10.0,
                    "price_subtotal": 88.20,
                    "tax_ids": self.vat15.ids,
                },
                {"quantity": 1, "price_unit": 25.0, "discount": 0.0, "price_subtotal": 25.0, "tax_ids": self.vat15.ids},
            ],
        )
        # paid twice (invoice.paid and payment_intent.succeeded), out of order, and redelivered
        events = self._feed(pi, paid, pi, paid)
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("error_message"))
        payment = self._bound("payment", PI)
        self.assertRecordValues(
            payment, [{"amount": 130.18, "journal_id": self.backend.payment_journal_id.id, "state": "paid"}]
        )
        self.assertEqual(move.payment_state, "paid")
        self.assertEqual(move.matched_payment_ids, payment)
        self.assertEqual(
            payment.move_id.line_ids.filtered(lambda line: line.debit).account_id,
            self.backend.stripe_clearing_account_id,
            "Stripe payments wait on the Stripe balance account for their payout",
        )
        self.assertEqual(self.env["account.payment"].search_count([("partner_id", "=", move.partner_id.id)]), 1)
        # a late draft event (older) does not touch the posted invoice
        late = self._feed(self._with(draft, created=T0 + 1))
        self.assertIn("stale", late.note)
        self.assertEqual(move.state, "posted")

    def test_partial_payment_leaves_the_rest_due(self):
        move = self._invoice_flow()
        partial = self._with(load("payment_intent.succeeded"), amount=5000, amount_received=5000)
        event = self._feed(partial)
        self.assertEqual(event.state, "done", event.error_message)
        self.assertEqual(move.payment_state, "partial")
        self.assertAlmostEqual(move.amount_residual, 80.18)
        self.assertEqual(self._bound("payment", PI).amount, 50.0)

    def test_invoice_before_its_customer_waits_then_applies(self):
        invoice_event = self._deliver(load("invoice.finalized"))
        self._run_job(invoice_event.job_ids[-1:].uuid)
        self.assertEqual(invoice_event.state, "queued", "the customer may still come: retried later")
        self.assertIn("cus_QaT4p2Zr8sLm01", invoice_event.error_message)
        customer_event = self._deliver(load("customer.created"))
        self._run_job(customer_event.job_ids.uuid)
        self.perform_jobs()
        self.assertEqual(invoice_event.state, "done", invoice_event.error_message)
        self.assertEqual(self._bound("invoice", INV).state, "posted")

    def test_proration_lines(self):
        self._feed(load("customer.created"), load("invoice.finalized.proration"))
        move = self._bound("invoice", "in_1QbXp4Zr8sLm0Pro")
        self.assertEqual(move.state, "posted")
        self.assertRecordValues(
            move.invoice_line_ids.sorted("sequence"),
            [{"price_unit": -24.0, "price_subtotal": -24.0}, {"price_unit": 50.0, "price_subtotal": 50.0}],
        )
        self.assertIn("Unused time", move.invoice_line_ids.sorted("sequence")[0].name)
        self.assertEqual(move.amount_total, 29.90)
        event = self.env["integration.event"].search([("external_id", "=", "evt_1QbXp3Zr8sLm0Inv")])
        self.assertIn('"proration": true', event.canonical)

    def test_zero_decimal_currency(self):
        jpy = self.setup_other_currency("JPY", rates=[("2020-01-01", 150.0)])
        self._feed(load("customer.created"), load("invoice.finalized.jpy"))
        move = self._bound("invoice", "in_1QbJpy02Zr8sLm0")
        self.assertEqual(move.currency_id, jpy)
        self.assertRecordValues(
            move, [{"amount_untaxed": 3600.0, "amount_tax": 360.0, "amount_total": 3960.0, "state": "posted"}]
        )
        self.assertRecordValues(
            move.invoice_line_ids, [{"quantity": 3, "price_unit": 1200.0, "tax_ids": self.jct10.ids}]
        )
        event = self.env["integration.event"].search([("external_id", "=", "evt_1QbJpy04Zr8sLm0")])
        self.assertIn('"total": "3960"', event.canonical, "¥3960 is 3960 yen, not 39.60")

    def test_three_decimal_currency_inactive_then_activated(self):
        kwd = self.env.ref("base.KWD")
        kwd.active = False
        self._feed(load("customer.created"))
        event = self._feed(load("invoice.finalized.kwd"))
        self.assertEqual(event.state, "failed")
        exc = event.exception_ids
        self.assertRecordValues(exc, [{"category": "currency", "kind": "business", "state": "new"}])
        self.assertIn("KWD", exc.details)
        self.assertFalse(self._bound("invoice", "in_1QbKwd02Zr8sLm0"), "nothing is created")
        # finance activates the currency and retries from the exception
        self.setup_other_currency("KWD", rates=[("2020-01-01", 0.3)])
        exc.action_retry()
        self.perform_jobs()
        self.assertEqual(event.state, "done", event.error_message)
        self.assertEqual(exc.state, "resolved")
        move = self._bound("invoice", "in_1QbKwd02Zr8sLm0")
        self.assertEqual(move.amount_total, 12.34)
        self.assertIn('"total": "12.340"', event.canonical)

    def test_voided_and_uncollectible(self):
        move = self._invoice_flow()
        self._feed(load("invoice.marked_uncollectible"))
        self.assertEqual(move.state, "posted", "an uncollectible invoice stays posted and unpaid")
        void_later = self._with(load("invoice.voided"), created=T0 + 50 * 86400)
        self._feed(void_later)
        self.assertEqual(move.state, "cancel", "invoice.voided: cancelled")

    def test_amount_mismatch_is_an_exception_and_creates_nothing(self):
        self._feed(load("customer.created"))
        finalized = load("invoice.finalized")
        finalized["data"]["object"]["total"] += 7  # Stripe says 130.25, the lines make 130.18
        event = self._feed(finalized)
        self.assertEqual(event.state, "failed")
        self.assertRecordValues(event.exception_ids, [{"category": "amount_mismatch", "state": "new"}])
        self.assertIn("130.25", event.exception_ids.details)
        self.assertFalse(self._bound("invoice", INV))
        self.assertFalse(self.env["account.move"].search([("ref", "=", "7F2A1B3C-0001")]))

    def test_payment_for_an_invoice_not_in_odoo(self):
        self._feed(load("customer.created"))
        event = self._feed(load("payment_intent.succeeded"))
        self.assertEqual(event.state, "dead", "retried (the invoice may come), then a person decides")
        self.assertRecordValues(
            event.exception_ids, [{"category": "missing_record", "link_external_id": INV, "link_model": "account.move"}]
        )
        self.assertFalse(self._bound("payment", PI))

    def test_ambiguous_customer(self):
        self.env["res.partner"].create(
            [
                {"name": "Acme (old)", "email": "billing@acme-widgets.example"},
                {"name": "Acme (duplicate)", "email": "Billing@Acme-Widgets.example"},
            ]
        )
        event = self._feed(load("customer.created"))
        self.assertEqual(event.state, "failed")
        exc = event.exception_ids
        self.assertEqual(exc.category, "ambiguous_customer")
        self.assertEqual(len(exc.candidate_partner_ids), 2)
        self.assertFalse(self._bound("customer", CUS))

    def test_failed_payment_dunning(self):
        self._feed(load("customer.created"), load("customer.subscription.created"))
        partner = self._bound("customer", CUS)
        partner.user_id = self.salesperson
        sub = self._bound("subscription", SUB)
        move = self._invoice_flow()
        failed_invoice, failed_intent = load("invoice.payment_failed"), load("payment_intent.payment_failed")
        events = self._feed(failed_invoice, failed_intent, failed_invoice)
        self.assertEqual(len(events), 2)
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("error_message"))
        exceptions = self.env["integration.exception"].search([("category", "=", "payment_failed")])
        self.assertEqual(len(exceptions), 1, "one failed attempt (one charge) is one exception")
        self.assertRecordValues(
            exceptions, [{"state": "new", "kind": "business", "res_model": "account.move", "res_id": move.id}]
        )
        self.assertIn("insufficient funds", exceptions.details.lower())
        activities = partner.activity_ids
        self.assertEqual(len(activities), 1)
        self.assertEqual(activities.user_id, self.salesperson, "the customer's salesperson follows up")
        self.assertIn("Failed payment", activities.summary)
        self.assertEqual((sub.status, sub.entitlement_state), ("past_due", "grace"))
        self.assertFalse(self._bound("payment", PI), "nothing is booked for a failed payment")
        self.assertEqual(move.payment_state, "not_paid")
        # Stripe's retry succeeds: the payment is booked, the invoice paid
        self._feed(load("payment_intent.succeeded"))
        self.assertEqual(move.payment_state, "paid")

    def test_dunning_without_salesperson_goes_to_the_configured_user(self):
        self.backend.stripe_dunning_user_id = self.salesperson
        move = self._invoice_flow()
        self._feed(load("invoice.payment_failed"))
        exc = self.env["integration.exception"].search([("category", "=", "payment_failed")])
        self.assertEqual(exc.user_id, self.salesperson)
        self.assertEqual(move.partner_id.activity_ids.user_id, self.salesperson)

    def test_partial_refunds_and_refund_exceeding_payment(self):
        move = self._invoice_flow()
        self._feed(load("payment_intent.succeeded"))
        refunded = load("charge.refunded")
        events = self._feed(refunded, refunded)
        self.assertEqual(len(events), 1)
        credit_note = self._bound("refund", "re_3QbXf1Zr8sLm0Ref")
        self.assertRecordValues(
            credit_note,
            [
                {
                    "move_type": "out_refund",
                    "state": "posted",
                    "amount_total": 50.0,
                    "reversed_entry_id": move.id,
                    "payment_state": "paid",
                }
            ],
        )
        refund_payment = credit_note.matched_payment_ids
        self.assertRecordValues(
            refund_payment,
            [{"payment_type": "outbound", "amount": 50.0, "journal_id": self.backend.payment_journal_id.id}],
        )
        # a second partial refund, as its own refund.created event (the charge is in the payload's refund)
        second = load("refund.created")
        charge = load("charge")
        second["data"]["object"]["charge"] = charge
        self._feed(second)
        credit_notes = self.env["account.move"].search([("reversed_entry_id", "=", move.id)])
        self.assertEqual(sorted(credit_notes.mapped("amount_total")), [30.0, 50.0])
        # a refund larger than what is left is an exception and books nothing
        too_much = self._with(second, event_id="evt_toomuch", id="re_toomuch", amount=6000)
        event = self._feed(too_much)
        self.assertEqual(event.state, "failed")
        self.assertRecordValues(event.exception_ids, [{"category": "refund_exceeds"}])
        self.assertEqual(len(self.env["account.move"].search([("reversed_entry_id", "=", move.id)])), 2)

    def test_dispute_opened_then_won(self):
        self._invoice_flow()
        self._feed(load("payment_intent.succeeded"))
        created = load("charge.dispute.created")
        events = self._feed(created, created)
        self.assertEqual(events.state, "done")
        exc = self.env["integration.exception"].search([("category", "=", "dispute")])
        self.assertRecordValues(exc, [{"severity": "high", "state": "new", "res_model": "account.payment"}])
        self.assertIn("fraudulent", exc.details)
        self.assertIn("2026-01-28", exc.details, "the evidence due date")
        closed = self._feed(load("charge.dispute.closed"))
        self.assertEqual(closed.state, "done")
        self.assertEqual(exc.state, "resolved")

    def test_dispute_lost_stays_open_for_finance(self):
        created = load("charge.dispute.created")
        self._feed(created)
        lost = self._with(load("charge.dispute.closed"), status="lost")
        self._feed(lost)
        exc = self.env["integration.exception"].search([("category", "=", "dispute")])
        self.assertEqual(len(exc), 1)
        self.assertEqual(exc.state, "new")
        self.assertIn("was lost", exc.details)
        self.assertIn("Book the loss", exc.hint)

    def test_other_event_types_are_stored_as_ignored(self):
        payload = self._with(load("customer.created"), event_id="evt_source")
        payload["type"] = "customer.source.created"
        event = self._deliver(payload)
        self.assertEqual(event.state, "ignored")
        self.assertFalse(event.job_ids)
        self.assertIn("not handled", event.note)

    def test_every_event_twice_in_reverse_order_gives_the_same_books(self):
        names = [
            "customer.created",
            "product.created",
            "customer.subscription.created",
            "invoice.created",
            "invoice.finalized",
            "payment_intent.succeeded",
            "invoice.paid",
            "customer.updated",
            "customer.subscription.updated",
            "charge.refunded",
        ]
        payloads = [load(name) for name in names]
        self._feed(*reversed(payloads))
        for _round in range(2):
            # retries of what waited for its references, then every event again
            self.env["integration.event"].search([("state", "in", ("failed", "dead"))]).action_retry()
            self.perform_jobs()
        self._feed(*payloads)
        events = self.env["integration.event"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(events), len(names))
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("error_message"))
        partner = self._bound("customer", CUS)
        self.assertEqual(partner.name, "Acme Widgets NV")
        sub = self._bound("subscription", SUB)
        self.assertEqual((sub.plan_code, sub.quantity), ("price_1QbBiz01Zr8sLm0M", 3))
        move = self._bound("invoice", INV)
        self.assertEqual(
            self.env["account.move"].search_count([("move_type", "=", "out_invoice"), ("partner_id", "=", partner.id)]),
            1,
        )
        self.assertEqual(
            self.env["account.payment"].search_count(
                [("partner_id", "=", partner.id), ("payment_type", "=", "inbound")]
            ),
            1,
        )
        self.assertEqual(self.env["account.move"].search_count([("reversed_entry_id", "=", move.id)]), 1)
        self.assertEqual(move.state, "posted")
