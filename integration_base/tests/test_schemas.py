from odoo.tests import BaseCase, tagged

from ..exceptions import SchemaViolation
from ..schemas import schema_document, validate_message


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
        self.assertViolation(missing, "/")
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
