import json
from pathlib import Path

from odoo.tests import BaseCase, TransactionCase, tagged

from ..exceptions import SchemaViolation
from ..schemas import SCHEMA_DIR, schema_document, validate_message


def message(type_, data, **envelope):
    base = {
        "type": type_,
        "schema_version": "1.0",
        "source": "test",
        "external_id": "x_1",
        "occurred_at": "2026-01-01T00:00:00Z",
        "data": data,
    }
    base.update(envelope)
    return base


INVOICE = {
    "customer_ref": "cus_1",
    "status": "open",
    "currency": "EUR",
    "date": "2026-01-31",
    "lines": [
        {
            "description": "Pro plan",
            "quantity": 2,
            "unit_amount": "10.00",
            "amount": "20.00",
            "taxes": [{"percentage": 21, "inclusive": False}],
        }
    ],
    "total": "24.20",
}


@tagged("at_install", "-post_install")
class TestSchemas(BaseCase):
    def assertViolation(self, msg, pointer):
        with self.assertRaises(SchemaViolation) as caught:
            validate_message(msg)
        self.assertEqual(caught.exception.pointer, pointer)
        self.assertIn(pointer, caught.exception.message)
        return caught.exception

    def test_every_schema_is_draft_2020_12(self):
        for name in ("envelope", "customer", "subscription", "invoice", "payment", "refund", "support_ticket"):
            self.assertEqual(schema_document(name)["$schema"], "https://json-schema.org/draft/2020-12/schema")

    def test_valid_messages(self):
        validate_message(message("customer", {"name": "Acme", "email": "a@example.com", "address": {"country": "BE"}}))
        validate_message(message("invoice", INVOICE))
        validate_message(
            message(
                "payment",
                {"customer_ref": "c", "amount": "1", "currency": "JPY", "date": "2026-01-01", "status": "succeeded"},
            )
        )
        validate_message(message("support_ticket", {"subject": "Help", "status": "open", "tags": ["billing"]}))

    def test_envelope_violations(self):
        self.assertViolation(message("customer", {"name": "A"}, schema_version="2.0"), "/schema_version")
        self.assertViolation(message("gizmo", {}), "/type")
        self.assertViolation(message("customer", {"name": "A"}, occurred_at="yesterday"), "/occurred_at")
        missing = message("customer", {"name": "A"})
        del missing["external_id"]
        self.assertViolation(missing, "/external_id")
        with self.assertRaises(SchemaViolation):
            validate_message(["not", "an", "object"])

    def test_data_violations_point_at_the_field(self):
        self.assertViolation(message("customer", {"name": ""}), "/data/name")
        self.assertViolation(message("customer", {"name": "A", "email": "not-an-email"}), "/data/email")
        self.assertViolation(message("customer", {"name": "A", "nickname": "x"}), "/data")
        bad_line = dict(INVOICE, lines=[dict(INVOICE["lines"][0], amount="12,50")])
        self.assertViolation(message("invoice", bad_line), "/data/lines/0/amount")
        self.assertViolation(message("invoice", dict(INVOICE, currency="eur")), "/data/currency")
        bad_tax = dict(INVOICE, lines=[dict(INVOICE["lines"][0], taxes=[{"percentage": 150}])])
        self.assertViolation(message("invoice", bad_tax), "/data/lines/0/taxes/0/percentage")

    def problems(self, msg, currencies=None):
        with self.assertRaises(SchemaViolation) as caught:
            validate_message(msg, currencies=currencies)
        return {problem["pointer"]: problem for problem in caught.exception.problems}

    def test_every_refused_value_is_listed_with_its_rule(self):
        subscription = {
            "customer_ref": "cus_1",
            "plan": {"code": "pro", "amount": "10.00", "interval": "year", "interval_count": 10},
            "quantity": 3000000000,
            "status": "weird_status",
            "current_period_start": "2030-02-06T00:00:00Z",
            "current_period_end": "2000-12-08T00:00:00Z",
        }
        found = self.problems(message("subscription", subscription))
        self.assertEqual(
            {pointer: problem["rule"] for pointer, problem in found.items()},
            {
                "/data/quantity": "maximum",
                "/data/status": "enum",
                "/data/plan/currency": "dependentRequired",
                "/data/plan/interval_count": "maximum",
                "/data/current_period_start": "x-order",
            },
        )
        self.assertEqual(found["/data/quantity"]["limit"], 2147483647, "an Integer column is a PostgreSQL int4")
        self.assertEqual(found["/data/plan/interval_count"]["limit"], 3, "at most three years of yearly bills")
        self.assertIn("active", found["/data/status"]["allowed"])
        self.assertEqual(found["/data/current_period_start"]["other_pointer"], "/data/current_period_end")

    def test_amounts_are_bounded_and_signed_where_it_makes_sense(self):
        payment = {
            "customer_ref": "c",
            "amount": "12.345",
            "currency": "KWD",
            "date": "2026-01-01",
            "status": "succeeded",
        }
        validate_message(message("payment", payment))
        for amount in ("-5.00", "1000000000000", "1e3", "12.1234567"):
            with self.subTest(amount=amount):
                self.assertIn("/data/amount", self.problems(message("payment", dict(payment, amount=amount))))
        validate_message(message("invoice", dict(INVOICE, total="-24.20")))  # a credit balance invoice
        validate_message(message("invoice", dict(INVOICE, total="999999999999.999999")))

    def test_unknown_currency_and_impossible_dates(self):
        known = frozenset({"EUR", "USD"})
        validate_message(message("invoice", INVOICE), currencies=known)
        found = self.problems(message("invoice", dict(INVOICE, currency="ZZZ")), currencies=known)
        self.assertEqual(found["/data/currency"]["format"], "iso4217")
        late = dict(INVOICE, due_date="2026-01-01")
        self.assertEqual(self.problems(message("invoice", late))["/data/date"]["rule"], "x-order")
        line = dict(INVOICE["lines"][0], period={"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00+01:00"})
        found = self.problems(message("invoice", dict(INVOICE, lines=[line])))
        self.assertEqual(found["/data/lines/0/period/start"]["other_pointer"], "/data/lines/0/period/end")
        same_moment = dict(line, period={"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00+01:00"})
        validate_message(message("invoice", dict(INVOICE, lines=[same_moment])))


@tagged("post_install", "-at_install")
class TestSchemaBounds(TransactionCase):
    """Every number of every canonical schema (of every installed addon) has bounds a column can take."""

    INT4 = 2**31 - 1

    def _walk(self, node, path, found):
        if isinstance(node, dict):
            types = node.get("type")
            types = [types] if isinstance(types, str) else types or []
            if "integer" in types or "number" in types:
                found.append((path, node))
            for key, value in node.items():
                if key not in ("enum", "const", "default", "examples", "x-order"):
                    self._walk(value, f"{path}/{key}", found)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                self._walk(value, f"{path}/{index}", found)

    def test_every_integer_and_amount_is_bounded(self):
        folders = self.env["integration.canonical.type"]._schema_folders()
        documents = {
            path: json.loads(path.read_text()) for folder in folders for path in Path(folder).glob("v*/*.json")
        }
        self.assertIn("subscription.json", {path.name for path in documents})
        numbers = []
        for path, document in documents.items():
            self._walk(document, path.name, numbers)
        self.assertTrue(numbers)
        for where, node in numbers:
            with self.subTest(where=where):
                self.assertIn("maximum", node, f"{where} has no upper bound")
                self.assertIn("minimum", node, f"{where} has no lower bound")
                if node.get("type") == "integer" or node.get("type") == ["integer"]:
                    self.assertLessEqual(node["maximum"], 2**63 - 1)
        common = json.loads(Path(SCHEMA_DIR, "v1", "common.json").read_text())["$defs"]
        self.assertEqual(common["count"]["maximum"], self.INT4)
        for name in ("amount", "unsigned_amount"):
            self.assertIn("\\d{1,12}", common[name]["pattern"], "amounts stay below one trillion")
