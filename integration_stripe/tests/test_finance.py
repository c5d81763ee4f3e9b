"""Data finance can trust, from recorded Stripe payloads.

Odd values are refused into exceptions that name the business object and
say what is wrong in plain words; a finance user corrects them with the
guided form (never seeing the raw payload) or escalates; same-second events
are ordered by the object; accounting details (three decimals, dunning of
never-paid subscriptions, redelivered payouts, the default income product).
"""

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import CUS, SUB, StripeCaseMixin, StripeEventsCase, load

#: 2030-02-06 and 2000-12-08: a period that ends before it starts
LATE, EARLY = 1896220800, 976233600


def subscription(base="customer.subscription.created", price=None, item=None, **fields):
    """A recorded subscription event with other values in its object, its first item or its price."""
    payload = StripeCaseMixin._with(load(base), **fields)
    first = payload["data"]["object"]["items"]["data"][0]
    first.update(item or {})
    first["price"].update(price or {})
    return payload


@tagged("post_install", "-at_install")
class TestRefusedReadably(StripeEventsCase):
    def setUp(self):
        super().setUp()
        self._feed(load("customer.created"))
        self.partner = self._bound("customer", CUS)

    def test_out_of_range_quantity_names_the_subscription_and_its_customer(self):
        for quantity in (3_000_000_000, 10**15):
            with self.subTest(quantity=quantity):
                event = self._feed(subscription(quantity=quantity, item={"quantity": quantity}))
                self.assertEqual(event.state, "failed")
                self.assertFalse(self._bound("subscription", SUB), "nothing is stored")
                exc = event.exception_ids
                self.assertRecordValues(
                    exc,
                    [
                        {
                            "category": "schema_violation",
                            "kind": "business",
                            "pointer": "/data/quantity",
                            "subject": f"Subscription {SUB}",
                            "partner_id": self.partner.id,
                            "customer_name": "Acme Widgets SA",
                            "amount_text": "49.00 USD",
                            "can_correct": True,
                        }
                    ],
                )
                self.assertIn(f"Subscription {SUB} (Acme Widgets SA)", exc.name)
                self.assertIn(f"quantity is {quantity}: Odoo takes at most 2147483647", exc.description)
                self.assertTrue(exc.document_date)
                exc.action_ignore("checked in the test")

    def test_odd_values_are_refused_never_guessed(self):
        variants = {
            "unknown status": ({"status": "weird_status"}, {}, "/data/status", "“weird_status”, which is not one of"),
            "currency that is no code": ({}, {"currency": "currency"}, "/data/plan/currency", "is not a currency code"),
            "currency Odoo does not know": (
                {},
                {"currency": "zzz"},
                "/data/plan/currency",
                "not a currency Odoo knows",
            ),
            "price without currency": ({}, {"currency": None}, "/data/plan/currency", "needed with plan › amount"),
            "a bill every 797691627 months": (
                {},
                {"recurring": {"interval": "month", "interval_count": 797691627}},
                "/data/plan/interval_count",
                "Odoo takes at most 36",
            ),
            "period ending before it starts": (
                {"current_period_start": LATE, "current_period_end": EARLY},
                {},
                "/data/current_period_start",
                "the dates are in the wrong order",
            ),
            "negative price": (
                {},
                {"unit_amount": -4900, "unit_amount_decimal": "-4900"},
                "/data/plan/amount",
                "not negative",
            ),
        }
        for name, (fields, price, pointer, words) in variants.items():
            with self.subTest(name):
                event = self._feed(subscription(price=price, **fields))
                self.assertEqual(event.state, "failed", event.note)
                exc = event.exception_ids
                self.assertEqual(exc.category, "schema_violation")
                self.assertEqual(exc.pointer, pointer)
                self.assertIn(words, exc.description)
                self.assertEqual(exc.subject, f"Subscription {SUB}")
                self.assertFalse(self._bound("subscription", SUB), "never a stored guess")
                exc.action_ignore("checked in the test")

    def test_a_finance_user_corrects_the_value_and_sees_the_record(self):
        finance = new_test_user(self.env, "fiona.fix", groups="base.group_user,integration_base.group_integration_user")
        event = self._feed(subscription(quantity=3_000_000_000, item={"quantity": 3_000_000_000}))
        exc, raw = event.exception_ids, event.payload
        Wizard = self.env["integration.exception.correct.wizard"].with_user(finance)
        wizard = Wizard.with_context(active_id=exc.id, default_exception_id=exc.id).create({})
        line = wizard.line_ids
        self.assertRecordValues(line, [{"label": "quantity", "current_value": "3000000000", "new_value": "3000000000"}])
        self.assertIn("Odoo takes at most 2147483647", line.problem)
        # a value still wrong is refused at once, and nothing is kept
        line.new_value = "-3"
        with self.assertRaisesRegex(UserError, "quantity is -3: it cannot be less than 0"):
            wizard.action_confirm()
        self.assertFalse(event.corrections)
        line.new_value = "3"
        action = wizard.action_confirm()
        sub = self._bound("subscription", SUB)
        self.assertEqual((action["res_model"], action["res_id"]), ("integration.subscription", sub.id))
        self.assertRecordValues(sub, [{"quantity": 3, "partner_id": self.partner.id, "status": "active"}])
        self.assertEqual((event.state, exc.state), ("done", "resolved"))
        self.assertEqual(event.payload, raw, "the raw payload stays as received")
        audit = exc.message_ids.mapped("body")
        self.assertTrue(any("fiona.fix" in body and "quantity: 3000000000 → 3" in body for body in audit), audit)
        with self.assertRaises(AccessError):
            event.with_user(finance).read(["payload"])
        with self.assertRaises(AccessError):
            event.with_user(finance).read(["corrections"])
        # the correction holds for a replay of the same event
        event.action_replay()
        self.perform_jobs()
        self.assertEqual((event.state, sub.quantity), ("done", 3))

    def test_escalation_assigns_a_manager_with_an_activity(self):
        finance = new_test_user(self.env, "fred.fin", groups="base.group_user,integration_base.group_integration_user")
        manager = new_test_user(
            self.env, "mona.manager", groups="base.group_user,integration_base.group_integration_manager"
        )
        exc = self._feed(subscription(status="weird_status")).exception_ids
        exc.with_user(finance).action_escalate()
        self.assertEqual(exc.user_id.has_group("integration_base.group_integration_manager"), True)
        self.assertRecordValues(exc, [{"escalated": True, "state": "in_progress"}])
        activity = self.env["mail.activity"].sudo().search([("res_model", "=", exc._name), ("res_id", "=", exc.id)])
        self.assertEqual(activity.user_id, exc.user_id)
        self.assertIn("Escalated by fred.fin", activity.summary)
        # the backend's escalation contact gets them when set
        self.backend.escalation_user_id = manager
        again = self._feed(subscription(status="another_status", event_id="evt_again"))
        self.assertEqual(exc.event_ids, self.env["integration.event"].search([("exception_ids", "!=", False)]) | again)
        self.assertEqual(exc.occurrences, 2, "the same value of the same subscription: counted, not a new exception")
        other = self._feed(subscription(status="another_status", id="sub_OtherOne")).exception_ids
        self.assertTrue(other)
        other.with_user(finance).action_escalate()
        self.assertEqual(other.user_id, manager)


@tagged("post_install", "-at_install")
class TestOrderAndAccounting(StripeEventsCase):
    def test_same_second_update_never_reopens_a_canceled_subscription(self):
        self._feed(load("customer.created"), load("customer.subscription.created"))
        deleted = load("customer.subscription.deleted")
        updated = StripeCaseMixin._with(
            load("customer.subscription.updated"), created=deleted["created"], status="active"
        )
        events = self._feed(deleted, updated)
        sub = self._bound("subscription", SUB)
        self.assertEqual((sub.status, sub.entitlement_state), ("canceled", "ended"))
        self.assertEqual(events.mapped("state"), ["done", "done"])
        self.assertIn("a final state is only left by a newer event", events[1].note)
        # a newer event is applied
        later = StripeCaseMixin._with(
            load("customer.subscription.updated"), created=deleted["created"] + 1, status="active"
        )
        self._feed(later)
        self.assertEqual(sub.status, "active")

    def test_dunning_of_a_never_paid_subscription(self):
        self._feed(load("customer.created"), subscription(status="incomplete"))
        sub = self._bound("subscription", SUB)
        self.assertEqual(sub.entitlement_state, "suspended", "never paid: no grace period")
        self._invoice_flow()
        self._feed(load("invoice.payment_failed"))
        exc = self.env["integration.exception"].search([("category", "=", "payment_failed")])
        self.assertIn("is not started: its first payment has not gone through", exc.description)
        self.assertNotIn("past due", exc.description)
        self.assertNotIn("..", exc.description)
        self.assertEqual(sub.status, "incomplete")
        self.assertIn("Acme Widgets SA", exc.name)

    def test_a_redelivered_payout_failing_for_one_cause_is_one_exception(self):
        backend = self._create_stripe_backend(name="Stripe without key", api_key=False)
        paid = load("payout.paid")
        events = self._feed(paid, StripeCaseMixin._with(paid), StripeCaseMixin._with(paid), backend=backend)
        self.assertEqual(set(events.mapped("state")), {"failed"})
        exceptions = self.env["integration.exception"].search([("backend_id", "=", backend.id)])
        self.assertEqual(len(exceptions), 1, "one problem of one payout: one exception")
        self.assertRecordValues(exceptions, [{"occurrences": 3, "event_count": 3, "category": "mapping"}])
        self.assertIn("Payout po_1QbXh1Zr8sLm0Pyt", exceptions.name)
        self.assertEqual(exceptions.event_ids, events)

    def test_prepare_accounting_makes_the_default_income_product(self):
        backend = self._create_stripe_backend(name="Fresh Stripe")
        self.assertFalse(backend.stripe_income_product_id)
        backend.action_prepare_accounting()
        product = backend.stripe_income_product_id
        self.assertRecordValues(product, [{"type": "service", "sale_ok": True, "default_code": "STRIPE-INCOME"}])
        self.assertTrue(product.property_account_income_id, "lines of unknown products have an income account")
        again = self._create_stripe_backend(name="Second Stripe")
        again.action_prepare_accounting()
        self.assertEqual(again.stripe_income_product_id, product, "made once per company")


@tagged("post_install", "-at_install")
class TestCorrectionTour(StripeCaseMixin, HttpCase):
    """A finance user fixes a refused value with the guided form, in the browser."""

    def test_finance_user_corrects_a_refused_value_and_sees_the_subscription(self):
        new_test_user(self.env, "fiona.tour", groups="base.group_user,integration_base.group_integration_user")
        self.backend = self._create_stripe_backend()
        self._feed(load("customer.created"))
        event = self._feed(subscription(quantity=3_000_000_000, item={"quantity": 3_000_000_000}))
        exc = event.exception_ids
        self.assertEqual(exc.state, "new")
        self.start_tour("/odoo", "integration_exception_correct", login="fiona.tour")
        sub = self._bound("subscription", SUB)
        self.assertRecordValues(sub, [{"quantity": 3}])
        self.assertEqual((event.state, exc.state), ("done", "resolved"))
