"""Stripe customer, product, subscription and invoice events from recorded
payloads, applied to Odoo (payments, refunds and disputes:
``test_events_payments.py``).

The backend fetches nothing from the API here (``stripe_fetch_objects`` is
empty): the payloads are the whole truth, so that each test shows what one
event does. Replays and out-of-order deliveries never duplicate anything and
end in the newest state.
"""

from odoo.tests import tagged

from .common import CUS, INV, PI, SUB, T0, StripeEventsCase, load


@tagged("post_install", "-at_install")
class TestStripeEvents(StripeEventsCase):
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
