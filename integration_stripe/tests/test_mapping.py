"""Stripe objects -> canonical messages, as pure functions: no database, no
registry, no API (plain ``unittest``; pytest collects it with the rest).

Every case maps a recorded Stripe object (``tests/data``, shaped like the
pinned API version) and checks the result field by field, then against the
canonical JSON Schemas, which are pure too.
"""

import copy
import json
import unittest
from decimal import Decimal
from pathlib import Path

from odoo.addons.integration_base.exceptions import SchemaViolation
from odoo.addons.integration_base.schemas import validate_message

from .. import mapping, mapping_invoice, mapping_payment, reading, streams

DATA = Path(__file__).parent / "data"
CREATED = 1767229300  # an event's ``created``


def stripe_object(name):
    payload = json.loads((DATA / f"{name}.json").read_text())
    return payload["data"]["object"] if payload.get("object") == "event" else payload


def valid(canonical_type, external_id, data, action="upsert"):
    """The message of ``data``, validated like the engine does before applying it."""
    message = mapping.message(canonical_type, external_id, data, action, occurred_at="2026-01-01T00:00:00Z")
    return validate_message(message)


class TestCustomersProductsSubscriptions(unittest.TestCase):
    def test_customer_payment_method_brand_last4_expiry_only(self):
        customer = stripe_object("customer.created")
        # as GET /v1/customers/{id}?expand[]=invoice_settings.default_payment_method answers
        customer["invoice_settings"] = {
            "custom_fields": None,
            "default_payment_method": {
                "id": "pm_1QaT4p2Zr8sLm0Card",
                "object": "payment_method",
                "type": "card",
                "card": {
                    "brand": "visa",
                    "country": "BE",
                    "exp_month": 8,
                    "exp_year": 2030,
                    "fingerprint": "Xt5EWLLDS7FJjR1c",
                    "funding": "credit",
                    "last4": "4242",
                },
                "customer": customer["id"],
            },
            "footer": None,
        }
        data = mapping.customer_data(customer)
        self.assertEqual(
            data["payment_method"], {"type": "card", "brand": "visa", "last4": "4242", "exp_month": 8, "exp_year": 2030}
        )
        valid("customer", customer["id"], data)
        customer["invoice_settings"]["default_payment_method"] = {
            "id": "pm_1QaT4p2Zr8sLm0Sepa",
            "object": "payment_method",
            "type": "sepa_debit",
            "sepa_debit": {"bank_code": "37040044", "country": "DE", "last4": "3000"},
        }
        self.assertEqual(
            mapping.customer_data(customer)["payment_method"],
            {"type": "sepa_debit", "brand": None, "last4": "3000", "exp_month": None, "exp_year": None},
        )
        # not expanded (a webhook's copy): Odoo keeps what it has; none at Stripe: cleared
        customer["invoice_settings"]["default_payment_method"] = "pm_1QaT4p2Zr8sLm0Card"
        self.assertNotIn("payment_method", mapping.customer_data(customer))
        customer["invoice_settings"]["default_payment_method"] = None
        self.assertIsNone(mapping.customer_data(customer)["payment_method"])
        # the legacy default source, expanded
        customer["default_source"] = {
            "id": "card_1Q",
            "object": "card",
            "brand": "MasterCard",
            "last4": "4444",
            "exp_month": 1,
            "exp_year": 2031,
        }
        self.assertEqual(mapping.customer_data(customer)["payment_method"]["brand"], "MasterCard")

    def test_customer_with_address_vat_and_locale(self):
        customer = stripe_object("customer.created")
        customer["tax_ids"] = {"data": [{"type": "eu_vat", "value": "BE0477472701"}, {"type": "us_ein", "value": "1"}]}
        data = mapping.customer_data(customer)
        self.assertEqual(
            data,
            {
                "name": "Acme Widgets SA",
                "email": "billing@acme-widgets.example",
                "phone": "+32 2 555 01 01",
                "address": {
                    "line1": "Rue de la Loi 16",
                    "line2": None,
                    "city": "Brussels",
                    "zip": "1000",
                    "state": None,
                    "country": "BE",
                },
                "vat": "BE0477472701",
                "currency": "USD",
                "lang": "fr-BE",
                "metadata": {"stripe_id": "cus_QaT4p2Zr8sLm01"},
            },
        )
        valid("customer", customer["id"], data)

    def test_customer_without_name_nor_address(self):
        data = mapping.customer_data({"id": "cus_1", "address": {"line1": None}, "email": None})
        self.assertEqual(data["name"], "cus_1")
        self.assertNotIn("address", data)
        deleted = stripe_object("customer.deleted")
        self.assertEqual(mapping.deleted_customer_data({"id": deleted["id"]}), {"name": deleted["id"]})
        valid("customer", deleted["id"], mapping.deleted_customer_data(deleted), action="delete")

    def test_product_takes_the_price_it_is_the_default_of(self):
        product = stripe_object("product.created")
        price = stripe_object("price.created")
        product["default_price"] = price["id"]
        data = mapping.product_data(product, price)
        self.assertEqual((data["list_price"], data["currency"]), ("49.00", "USD"))
        self.assertNotIn("list_price", mapping.product_data(product), "a default price only as an id says nothing")
        valid("product", product["id"], data)
        self.assertEqual(mapping.deleted_product_data({"id": "prod_1"}), {"name": "prod_1", "active": False})

    def test_subscription_plan_interval_and_status(self):
        subscription = stripe_object("customer.subscription.created")
        data = mapping.subscription_data(subscription)
        self.assertEqual(data["customer_ref"], "cus_QaT4p2Zr8sLm01")
        self.assertEqual(data["plan"]["code"], "price_1QbPro01Zr8sLm0M")
        self.assertEqual(data["plan"]["name"], "Pro monthly")
        self.assertEqual((data["plan"]["interval"], data["plan"]["interval_count"]), ("month", 1))
        self.assertEqual(data["current_period_start"], "2026-01-01T00:00:00Z")
        valid("subscription", subscription["id"], data)
        odd = copy.deepcopy(subscription)
        odd["status"] = "something_new"
        data = mapping.subscription_data(odd)
        self.assertEqual(data["status"], "something_new", "an unknown status is passed on, never guessed")
        with self.assertRaises(SchemaViolation) as refused:
            valid("subscription", subscription["id"], data)
        self.assertEqual(refused.exception.pointer, "/data/status")

    def test_odd_values_are_refused_naming_the_field(self):
        subscription = stripe_object("customer.subscription.created")
        for field, value in (("quantity", "many"), ("quantity", 1.5), ("current_period_end", "tomorrow")):
            odd = copy.deepcopy(subscription)
            odd["items"]["data"][0].pop("quantity", None)
            odd.pop("current_period_end", None)
            odd[field] = value
            with self.subTest(field=field, value=value), self.assertRaises(reading.StripeValueError) as refused:
                mapping.subscription_data(odd)
            self.assertEqual(refused.exception.field, field)
            self.assertIn(subscription["id"], refused.exception.message)
        for odd in ({}, {"id": 42}, {"id": ""}):
            with self.subTest(obj=odd), self.assertRaises(reading.StripeValueError):
                mapping.customer_data(odd)

    def test_a_price_without_currency_is_refused_not_zero(self):
        subscription = stripe_object("customer.subscription.created")
        for item in subscription["items"]["data"]:
            item["price"]["currency"] = None
        data = mapping.subscription_data(subscription)
        self.assertNotIn("currency", data["plan"])
        with self.assertRaises(SchemaViolation) as refused:
            valid("subscription", subscription["id"], data)
        self.assertEqual(refused.exception.pointer, "/data/plan/currency")
        self.assertEqual(refused.exception.problems[0]["rule"], "dependentRequired")

    def test_huge_amounts_reach_the_schema_as_they_are(self):
        invoice = stripe_object("invoice.finalized")
        invoice["total"] = 10**30
        data = mapping_invoice.invoice_data(invoice, invoice["lines"]["data"])
        self.assertEqual(data["total"], str(10**30))
        with self.assertRaises(SchemaViolation) as refused:
            valid("invoice", invoice["id"], data)
        self.assertEqual(refused.exception.pointer, "/data/total")

    def test_plan_named_by_its_product_in_odoo(self):
        subscription = stripe_object("customer.subscription.created")
        for item in subscription["items"]["data"]:
            for key in ("price", "plan"):
                item[key].pop("nickname", None)
        _item, price = mapping.subscription_price(subscription)
        self.assertIsNone(mapping.plan_name(price), "only the product (an id here) could name the plan")
        self.assertEqual(mapping.subscription_data(subscription, "Pro")["plan"]["name"], "Pro")
        self.assertEqual(mapping.subscription_data(subscription)["plan"]["name"], price["id"])


class TestInvoices(unittest.TestCase):
    def _invoice(self, name):
        invoice = stripe_object(name)
        return invoice, list(invoice["lines"]["data"])

    def test_lines_taxes_and_totals(self):
        invoice, lines = self._invoice("invoice.finalized")
        self.assertEqual(mapping_invoice.missing_tax_rates(invoice, lines), [], "the rates are expanded on the lines")
        data = mapping_invoice.invoice_data(invoice, lines)
        self.assertEqual((data["total"], data["tax"], data["subtotal"]), ("130.18", "16.98", "123.00"))
        self.assertEqual(data["customer_ref"], "cus_QaT4p2Zr8sLm01")
        first = data["lines"][0]
        self.assertEqual((first["quantity"], first["unit_amount"], first["amount"]), (2, "49.00", "98.00"))
        self.assertEqual(
            first["taxes"],
            [{"ref": "txr_1QbVat15Zr8sLm0", "name": "VAT", "percentage": 15.0, "inclusive": False, "amount": "13.23"}],
        )
        valid("invoice", invoice["id"], data)

    def test_zero_and_three_decimal_currencies(self):
        invoice, lines = self._invoice("invoice.finalized.kwd")
        self.assertEqual(mapping_invoice.invoice_data(invoice, lines)["total"], "12.340")
        invoice, lines = self._invoice("invoice.finalized.jpy")
        missing = mapping_invoice.missing_tax_rates(invoice, lines)
        rates = {rate_id: {"id": rate_id, "percentage": 10.0, "display_name": "JCT"} for rate_id in missing}
        data = mapping_invoice.invoice_data(invoice, lines, rates)
        self.assertEqual(data["total"], "3960")
        self.assertEqual([tax["percentage"] for tax in data["lines"][0]["taxes"]], [10.0])
        valid("invoice", invoice["id"], data)

    def test_rates_read_from_the_api_fill_references_by_id(self):
        invoice, lines = self._invoice("invoice.finalized")
        for line in lines:
            line["tax_rates"] = []
        self.assertEqual(mapping_invoice.missing_tax_rates(invoice, lines), ["txr_1QbVat15Zr8sLm0"])
        rate = {"id": "txr_1QbVat15Zr8sLm0", "percentage": 21.0, "display_name": "BTW"}
        data = mapping_invoice.invoice_data(invoice, lines, {"txr_1QbVat15Zr8sLm0": rate})
        self.assertEqual(data["lines"][0]["taxes"][0]["percentage"], 21.0)
        gone = mapping_invoice.invoice_data(invoice, lines, {"txr_1QbVat15Zr8sLm0": {}})
        self.assertEqual(gone["lines"][0]["taxes"][0]["percentage"], 0.0, "a rate Stripe lost maps to 0%")

    def test_proration_line_unit_is_its_amount(self):
        invoice, lines = self._invoice("invoice.finalized.proration")
        data = mapping_invoice.invoice_data(invoice, lines)
        prorations = [line for line in data["lines"] if line["proration"]]
        self.assertTrue(prorations)
        for line in prorations:
            # never the price's unit amount: a proration charges part of a period
            self.assertEqual(Decimal(line["unit_amount"]) * line["quantity"], Decimal(line["amount"]))
        valid("invoice", invoice["id"], data)


class TestPaymentsRefundsPayouts(unittest.TestCase):
    def test_failed_intent_is_a_failed_payment_with_its_reason(self):
        intent = stripe_object("payment_intent.payment_failed")
        data = mapping_payment.intent_payment_data(intent)
        self.assertEqual((data["status"], data["amount"], data["invoice_ref"]), ("failed", "130.18", intent["invoice"]))
        self.assertEqual(data["failure_reason"], "Your card has insufficient funds.")
        self.assertEqual(data["metadata"]["failure_key"], "ch_3QbXk5Zr8sLm0Dcl", "one failed attempt: one charge")
        self.assertEqual(data["metadata"]["decline_code"], "insufficient_funds")
        valid("payment", intent["id"], data)

    def test_succeeded_intent_counts_what_was_received(self):
        intent = stripe_object("payment_intent.succeeded")
        intent["amount_received"] = 10000
        data = mapping_payment.intent_payment_data(intent, invoice_ref="in_1", subscription_ref="sub_1")
        self.assertEqual((data["status"], data["amount"]), ("succeeded", "100.00"))
        self.assertEqual((data["invoice_ref"], data["metadata"]["subscription_ref"]), ("in_1", "sub_1"))
        self.assertIsNone(data["failure_reason"])

    def test_invoice_payment_without_intent(self):
        invoice = stripe_object("invoice.payment_failed")
        data = mapping_payment.invoice_payment_data(invoice, failed=True, event_created=CREATED)
        self.assertEqual((data["status"], data["amount"]), ("failed", "130.18"))
        self.assertEqual(data["date"], "2026-01-01")
        paid = mapping_payment.invoice_payment_data(stripe_object("invoice.paid"))
        self.assertEqual(paid["status"], "succeeded")

    def test_refund_of_a_charge(self):
        charge = stripe_object("charge.refunded")
        refund = charge["refunds"]["data"][0]
        data = mapping_payment.refund_data(refund, charge, CREATED)
        self.assertEqual(data["payment_ref"], "pi_3QbXk4Zr8sLm0Pay", "the payment is the PaymentIntent")
        self.assertEqual((data["amount"], data["currency"], data["invoice_ref"]), ("50.00", "USD", charge["invoice"]))
        valid("refund", refund["id"], data)
        charge_only = dict(charge, payment_intent=None)
        self.assertEqual(mapping_payment.refund_payment_ref({"id": "re_1"}, charge_only), charge["id"])

    def test_refund_answered_to_an_outbound_refund(self):
        data = mapping_payment.outbound_refund_data({"amount": 1250, "status": "requires_action"}, "EUR", "2026-01-02")
        self.assertEqual(data, {"amount": "12.50", "currency": "EUR", "status": "pending", "date": "2026-01-02"})

    def test_payout_transactions(self):
        payout = stripe_object("payout.paid")
        transactions = json.loads((DATA / "balance_transactions.json").read_text())["data"]
        data = mapping_payment.payout_data(payout, transactions)
        self.assertEqual((data["amount"], data["status"], data["reference"]), ("76.10", "paid", payout["id"]))
        self.assertEqual(
            [(txn["type"], txn["amount"], txn["fee"]) for txn in data["transactions"]],
            [("payment", "130.18", "4.08"), ("refund", "-50.00", "0.00")],
            "the payout's own transaction is not one it settles",
        )
        self.assertEqual(data["transactions"][0]["payment_ref"], "pi_3QbXk4Zr8sLm0Pay")
        self.assertEqual(data["transactions"][1]["refund_ref"], "re_3QbXf1Zr8sLm0Ref")
        valid("payout", payout["id"], data)


class TestDisputesEnvelopeStreams(unittest.TestCase):
    def test_dispute_reports(self):
        dispute = stripe_object("charge.dispute.created")
        report = mapping_payment.dispute_report(dispute, "Acme Widgets SA")
        self.assertFalse(report["closed"])
        self.assertEqual(report["key"], f"dispute:{dispute['id']}")
        self.assertIn("Acme Widgets SA disputes a payment of 130.18 USD (fraudulent", report["text"])
        self.assertIn("2026-01-28", report["text"], "the evidence due date")
        lost = mapping_payment.dispute_report(dict(dispute, status="lost"))
        self.assertIn("was lost", lost["text"])
        self.assertIn("an unknown customer", lost["text"])
        self.assertTrue(lost["hint"])
        self.assertTrue(mapping_payment.dispute_report(stripe_object("charge.dispute.closed"))["closed"])

    def test_envelope_and_its_validation(self):
        message = mapping.message("customer", "cus_1", {"name": "A"}, occurred_at="2026-01-01T00:00:00Z")
        self.assertEqual(
            {key: message[key] for key in ("type", "schema_version", "source", "action")},
            {"type": "customer", "schema_version": "1.0", "source": "stripe", "action": "upsert"},
        )
        self.assertNotIn("occurred_at", mapping.message("customer", "cus_1", {"name": "A"}))
        with self.assertRaises(SchemaViolation):
            valid("customer", "cus_1", {"name": ""})

    def test_metadata_keeps_scalars(self):
        self.assertEqual(mapping.metadata({"a": 1, "b": None, "c": {"x": 1}, "d": [1], "e": "x"}), {"a": 1, "e": "x"})
        self.assertEqual(mapping.ref({"id": "x"}), "x")
        self.assertIsNone(mapping.ref(""))

    def test_stream_cursors_and_synthetic_events(self):
        self.assertEqual(streams.after("after:evt_1"), "evt_1")
        self.assertIsNone(streams.after("done"))
        event = streams.synthetic_event("backfill_1_cus_1", "customer.updated", {"id": "cus_1", "livemode": 1}, 5)
        self.assertEqual(event["data"]["object"]["id"], "cus_1")
        self.assertTrue(event["odoo_fresh"], "read just now: not fetched again")
        self.assertIs(event["livemode"], True)
