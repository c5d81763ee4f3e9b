"""End to end: localstripe (a Stripe emulator) -> signed webhooks -> Odoo's books.

The test drives localstripe with the official SDK like a SaaS backend would:
customer with a card, product, plan, tax rate and subscription; then a plan
change, a declined card, a refund made in Odoo, a VAT number entered in
Odoo, and the cancellation. localstripe signs and posts its webhooks to
Odoo's route by itself, asynchronously and not in order (the invoice
payment may come before the subscription's creation); the test waits for
them (bounded), runs the jobs like the queue runner would, and checks what
Odoo holds. Processing reads the current objects back from localstripe.
"""

import time
from collections import Counter
from unittest.mock import patch

import requests
import stripe

from odoo import Command
from odoo.tests import HttpCase, tagged
from odoo.tests.common import release_test_lock

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from ..const import DEFAULT_FETCH_OBJECTS
from .common import API_KEY, SECRET, StripeCaseMixin, localstripe


@tagged("post_install", "-at_install")
class TestStripeEndToEnd(StripeCaseMixin, AccountTestInvoicingCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.sudo().group_ids = [Command.link(cls.env.ref("integration_base.group_integration_manager").id)]
        cls.finance = cls.env["res.users"].create({"name": "Fiona Finance", "login": "fiona.stripe"})

    # ------------------------------------------------------------------
    def _wait_for(self, expected, timeout=40):
        """Wait until Odoo received at least ``expected`` (Counter of event types)."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.env["integration.event"].search(
                [("backend_id", "=", self.backend.id), ("direction", "=", "in")]
            )
            got = Counter(events.mapped("event_type"))
            if all(got[kind] >= count for kind, count in expected.items()):
                return events
            if time.monotonic() > deadline:
                self.fail(f"webhooks missing after {timeout}s: expected {dict(expected)}, got {dict(got)}")
            # let the server threads in: they wait for this lock to use the test cursor
            with release_test_lock():
                time.sleep(0.3)

    def _process(self, expected):
        events = self._wait_for(expected)
        self.perform_jobs()
        failed = events.filtered(lambda e: e.state not in ("done", "ignored"))
        self.assertFalse(failed, [(e.event_type, e.state, e.error_message) for e in failed])
        return events

    def _raw(self, method, path, **params):
        return self.stripe.raw_request(method, path, **params).data

    def _plan(self, product, interval, cents):
        """A legacy plan ``pro-<interval>ly`` of ``product`` in USD (localstripe has no prices)."""
        return self._raw(
            "post",
            "/v1/plans",
            id=f"pro-{interval}ly",
            amount=cents,
            currency="usd",
            interval=interval,
            product=product["id"],
            nickname=f"Pro {interval}ly",
        )

    def test_subscription_lifecycle_through_localstripe(self):
        # localstripe's webhooks carry no test cookie: accept every request, and
        # let them in only while waiting for them (_wait_for)
        with localstripe() as url, patch.object(self, "http_request_allow_all", True):
            self._connect(url)
            world = self._subscribe()
            partner, sub, invoice, first_intent = self._check_subscribed(world)
            self._change_plan(world, sub)
            self._decline_the_card(world, partner, sub)
            self._refund_in_odoo(invoice, first_intent)
            self._push_the_vat_number(world["customer"], partner)
            self._cancel(world["subscription"], sub)
            self._check_nothing_duplicated(partner)

    def _connect(self, url):
        """A Stripe backend on localstripe, its webhook endpoint registered there."""
        self.backend = self._create_stripe_backend(
            api_url=url,
            stripe_fetch_objects=DEFAULT_FETCH_OBJECTS,
            max_attempts=6,
            stripe_dunning_user_id=self.finance.id,
            outbound_type_ids=[
                Command.set(
                    (
                        self.env.ref("integration_base.canonical_type_customer")
                        | self.env.ref("integration_base.canonical_type_refund")
                    ).ids
                )
            ],
        )
        self._prepare_accounting(self.backend)
        self.backend.stripe_tax_map_ids = [
            Command.clear(),
            Command.create({"percentage": 15.0, "tax_id": self.vat15.id}),
        ]
        hook = f"{self.base_url()}/integration/webhook/{self.backend.reference}"
        answer = requests.post(f"{url}/_config/webhooks/odoo", data={"url": hook, "secret": SECRET}, timeout=10)
        self.assertEqual(answer.status_code, 200)
        self.stripe = stripe.StripeClient(API_KEY, base_addresses={"api": url}, max_network_retries=0)
        self.assertIn("test mode", self.backend.action_test_connection()["params"]["message"])

    def _subscribe(self):
        """1. a customer subscribes with a card."""
        tax = self._raw("post", "/v1/tax_rates", display_name="VAT", percentage="15", inclusive="false")
        product = self._raw("post", "/v1/products", name="Pro", description="Pro plan")
        monthly = self._plan(product, "month", 2000)
        card = self._raw(
            "post",
            "/v1/payment_methods",
            type="card",
            card={"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"},
        )
        customer = self._raw(
            "post",
            "/v1/customers",
            name="Acme Widgets",
            email="billing@acme-e2e.example",
            payment_method=card["id"],
            invoice_settings={"default_payment_method": card["id"]},
            address={"line1": "Rue de la Loi 16", "city": "Brussels", "postal_code": "1000", "country": "BE"},
        )
        subscription = self._raw(
            "post",
            "/v1/subscriptions",
            customer=customer["id"],
            items=[{"plan": monthly["id"], "tax_rates": [tax["id"]]}],
        )
        self._process(
            Counter(
                {
                    "product.created": 1,
                    "plan.created": 1,
                    "customer.created": 1,
                    "invoice.created": 1,
                    "payment_intent.succeeded": 1,
                    "invoice.payment_succeeded": 1,
                    "customer.subscription.created": 1,
                }
            )
        )
        return {"tax": tax, "product": product, "customer": customer, "subscription": subscription}

    def _check_subscribed(self, world):
        """1. ...: one contact, one subscription, one paid invoice and its payment."""
        customer, subscription = world["customer"], world["subscription"]
        first_invoice_id = subscription["latest_invoice"]
        partner = self._bound("customer", customer["id"])
        self.assertRecordValues(
            partner, [{"name": "Acme Widgets", "email": "billing@acme-e2e.example", "city": "Brussels"}]
        )
        self.assertEqual(self.env["res.partner"].search_count([("email", "=", "billing@acme-e2e.example")]), 1)
        sub = self._bound("subscription", subscription["id"])
        self.assertRecordValues(
            sub,
            [
                {
                    "partner_id": partner.id,
                    "status": "active",
                    "entitlement_state": "active",
                    "plan_code": "pro-monthly",
                    "amount": 20.0,
                    "interval": "month",
                    "quantity": 1,
                }
            ],
        )
        invoice, first_intent = self._check_first_invoice(first_invoice_id, partner, world["product"])
        return partner, sub, invoice, first_intent

    def _check_first_invoice(self, first_invoice_id, partner, product):
        """1. ...: the first invoice, taxed, paid by one payment reconciled with it."""
        invoice = self._bound("invoice", first_invoice_id)
        self.assertRecordValues(
            invoice,
            [
                {
                    "state": "posted",
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "amount_untaxed": 20.0,
                    "amount_tax": 3.0,
                    "amount_total": 23.0,
                    "payment_state": "paid",
                }
            ],
        )
        self.assertEqual(invoice.currency_id.name, "USD")
        self.assertRecordValues(
            invoice.invoice_line_ids,
            [
                {
                    "name": "Pro",
                    "quantity": 1,
                    "price_unit": 20.0,
                    "tax_ids": self.vat15.ids,
                    "product_id": self._bound("product", product["id"]).id,
                }
            ],
        )
        first_intent = self._raw("get", f"/v1/invoices/{first_invoice_id}")["payment_intent"]
        payment = self._bound("payment", first_intent)
        self.assertRecordValues(
            payment,
            [
                {
                    "amount": 23.0,
                    "state": "paid",
                    "journal_id": self.backend.payment_journal_id.id,
                    "partner_id": partner.id,
                }
            ],
        )
        self.assertEqual(invoice.matched_payment_ids, payment, "one payment, reconciled with its invoice")
        self.assertEqual(
            self.env["account.move"].search_count([("move_type", "=", "out_invoice"), ("partner_id", "=", partner.id)]),
            1,
        )
        return invoice, first_intent

    def _change_plan(self, world, sub):
        """2. plan change: monthly -> yearly, prorated."""
        tax, product, _customer, subscription = (world[key] for key in ("tax", "product", "customer", "subscription"))
        yearly = self._plan(product, "year", 20000)
        item = subscription["items"]["data"][0]["id"]
        changed = self._raw(
            "post",
            f"/v1/subscriptions/{subscription['id']}",
            items=[{"id": item, "plan": yearly["id"], "tax_rates": [tax["id"]]}],
        )
        self._process(
            Counter(
                {
                    "plan.created": 2,
                    "invoice.created": 2,
                    "payment_intent.succeeded": 2,
                    "invoice.payment_succeeded": 2,
                }
            )
        )
        self.assertRecordValues(
            sub, [{"plan_code": "pro-yearly", "interval": "year", "amount": 200.0, "status": "active"}]
        )
        upgrade = self._bound("invoice", changed["latest_invoice"])
        self.assertEqual(upgrade.amount_total, 207.0, "-20.00 unused time + 200.00, plus 15% VAT")
        self.assertEqual(sorted(upgrade.invoice_line_ids.mapped("price_subtotal")), [-20.0, 200.0])
        self.assertEqual(upgrade.payment_state, "paid")

    def _decline_the_card(self, world, partner, sub):
        """3. the card is declined: past due, dunning."""
        customer, subscription = world["customer"], world["subscription"]
        declining = self._raw(
            "post",
            "/v1/payment_methods",
            type="card",
            card={"number": "4000008260003178", "exp_month": "12", "exp_year": "2030", "cvc": "123"},
        )
        self._raw("post", f"/v1/payment_methods/{declining['id']}/attach", customer=customer["id"])
        self._raw(
            "post", f"/v1/customers/{customer['id']}", invoice_settings={"default_payment_method": declining["id"]}
        )
        renewal = self._raw("post", "/v1/invoices", customer=customer["id"], subscription=subscription["id"])
        renewal = self._raw("post", f"/v1/invoices/{renewal['id']}/pay")
        intent = self._raw("get", f"/v1/payment_intents/{renewal['payment_intent']}")
        with self.assertRaises(stripe.CardError):
            self._raw(
                "post",
                f"/v1/payment_intents/{intent['id']}/_authenticate",
                client_secret=intent["client_secret"],
                success="true",
            )
        self._process(
            Counter(
                {
                    "customer.updated": 1,
                    "invoice.created": 3,
                    "payment_intent.payment_failed": 1,
                    "invoice.payment_failed": 1,
                }
            )
        )
        self.assertEqual((sub.status, sub.entitlement_state), ("past_due", "grace"))
        unpaid = self._bound("invoice", renewal["id"])
        self.assertRecordValues(unpaid, [{"state": "posted", "payment_state": "not_paid", "amount_total": 230.0}])
        dunning = self.env["integration.exception"].search(
            [("backend_id", "=", self.backend.id), ("category", "=", "payment_failed")]
        )
        self.assertEqual(len(dunning), 1, "both failure events are one failed attempt")
        self.assertRecordValues(dunning, [{"state": "new", "user_id": self.finance.id, "res_id": unpaid.id}])
        self.assertIn("declined", dunning.details)
        self.assertEqual(partner.activity_ids.user_id, self.finance)
        self.assertFalse(self._bound("payment", intent["id"]))

    def _refund_in_odoo(self, invoice, first_intent):
        """4. finance refunds the first invoice in Odoo: refunded in Stripe, once."""
        credit_note = invoice._reverse_moves([{"ref": "Goodwill refund"}])
        credit_note.action_post()
        self.perform_jobs()
        refunds = self._raw(
            "get",
            "/v1/refunds",
            charge=self._raw("get", f"/v1/payment_intents/{first_intent}")["latest_charge"]["id"],
        )["data"]
        self.assertEqual(len(refunds), 1)
        self.assertEqual((refunds[0]["amount"], refunds[0]["status"]), (2300, "succeeded"))
        self.assertEqual(self._bound("refund", refunds[0]["id"]), credit_note)
        self.assertRecordValues(credit_note, [{"state": "posted", "amount_total": 23.0, "payment_state": "paid"}])
        self.assertEqual(credit_note.matched_payment_ids.journal_id, self.backend.payment_journal_id)
        sent = self.env["integration.event"].search([("backend_id", "=", self.backend.id), ("direction", "=", "out")])
        sent.action_retry()
        self.perform_jobs()
        self.assertEqual(
            len(self._raw("get", "/v1/refunds", charge=refunds[0]["charge"])["data"]), 1, "never refunded twice"
        )

    def _push_the_vat_number(self, customer, partner):
        """5. finance enters the VAT number in Odoo: pushed to the Stripe customer."""
        partner.vat = "BE0477472701"
        self.perform_jobs()
        tax_ids = self._raw("get", f"/v1/customers/{customer['id']}/tax_ids")["data"]
        self.assertEqual([(t["type"], t["value"]) for t in tax_ids], [("eu_vat", "BE0477472701")])
        self._process(Counter({"customer.updated": 2}))  # Stripe's echo changes nothing
        self.assertEqual(partner.vat, "BE0477472701")

    def _cancel(self, subscription, sub):
        """6. the customer cancels."""
        self._raw("delete", f"/v1/subscriptions/{subscription['id']}")
        self._process(Counter({"customer.subscription.deleted": 1}))
        self.assertEqual((sub.status, sub.entitlement_state), ("canceled", "ended"))

    def _check_nothing_duplicated(self, partner):
        """Nothing was duplicated along the way."""
        self.assertEqual(self.env["res.partner"].search_count([("email", "=", "billing@acme-e2e.example")]), 1)
        self.assertEqual(self.env["integration.subscription"].search_count([("partner_id", "=", partner.id)]), 1)
        self.assertEqual(
            self.env["account.move"].search_count([("move_type", "=", "out_invoice"), ("partner_id", "=", partner.id)]),
            3,
        )
        self.assertEqual(
            self.env["account.payment"].search_count(
                [("partner_id", "=", partner.id), ("payment_type", "=", "inbound")]
            ),
            2,
        )
