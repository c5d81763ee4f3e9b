"""Stripe payment, dunning, refund, dispute and other events from recorded
payloads, applied to Odoo (see ``test_events.py``)."""

from odoo.tests import tagged

from .common import CUS, INV, PI, SUB, StripeEventsCase, load


@tagged("post_install", "-at_install")
class TestStripePaymentEvents(StripeEventsCase):
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
