"""Exceptions a finance person can act on, with the canonical connector.

Plain words for every kind of refused value, the guided correction of
several values at once (both dates of an impossible period), the same
problem counted once across events, and what finance users may not do.
"""

import json

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import BaseCase, TransactionCase, new_test_user, tagged

from .. import corrections
from ..words import field_label, problem_text
from .common import IntegrationCaseMixin


@tagged("at_install", "-post_install")
class TestCorrectionsAndWords(BaseCase):
    def test_typed_values(self):
        self.assertEqual(corrections.convert(" 3 ", "integer"), 3)
        self.assertEqual(corrections.convert("2,5", ["number", "null"]), 2.5)
        self.assertEqual(corrections.convert("10", "number"), 10)
        self.assertEqual(corrections.convert("EUR", "string"), "EUR")
        self.assertIsNone(corrections.convert("", "string"))
        with self.assertRaises(ValueError):
            corrections.convert("three", "integer")

    def test_set_values_in_messages(self):
        message = {"type": "invoice", "external_id": "in_1", "data": {"lines": [{"amount": "1"}], "plan": {}}}
        self.assertTrue(corrections.set_value(message, "/data/lines/0/amount", "2"))
        self.assertTrue(corrections.set_value(message, "/data/plan/currency", "EUR"))
        self.assertTrue(corrections.set_value(message, "/data/missing/deep", None), "removing nothing is fine")
        self.assertFalse(corrections.set_value(message, "/data/lines/5/amount", "2"), "no line 6")
        self.assertFalse(corrections.set_value(message, "/external_id", "x"), "only data is corrected")
        self.assertEqual(message["data"], {"lines": [{"amount": "2"}], "plan": {"currency": "EUR"}})
        other = {"type": "invoice", "external_id": "in_2", "data": {}}
        applied = corrections.apply(
            [message, other], [{"type": "invoice", "external_id": "in_2", "pointer": "/data/total", "value": "9"}]
        )
        self.assertEqual((applied, other["data"], "total" in message["data"]), (1, {"total": "9"}, False))

    def test_field_labels(self):
        self.assertEqual(field_label("/data/quantity"), "quantity")
        self.assertEqual(field_label("/data/plan/interval_count"), "plan › interval count")
        self.assertEqual(field_label("/data/lines/0/taxes/1/percentage"), "line 1 › tax 2 › percentage")


@tagged("post_install", "-at_install")
class TestExceptionsForPeople(IntegrationCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.finance = new_test_user(
            cls.env, "fin.base", groups="base.group_user,integration_base.group_integration_user"
        )

    def _backend(self):
        return self._create_backend("canonical", name="Billing", max_attempts=1)

    def _event(self, backend, message):
        return self._ingest_canonical(backend, [message])

    def test_every_rule_reads_as_plain_words(self):
        env = self.env
        cases = {
            ("maximum", None): "Odoo takes at most",
            ("minimum", None): "cannot be less than",
            ("enum", None): "which is not one of: a, b",
            ("required", None): "is missing",
            ("x-order", None): "the dates are in the wrong order",
            ("format", "iso4217"): "is not a currency Odoo knows",
            ("pattern", "amount"): "is not an amount Odoo can store",
            ("minLength", None): "is empty",
            ("additionalProperties", None): "an entry the suite does not know",
        }
        for (rule, kind), words in cases.items():
            problem = {
                "pointer": "/data/x",
                "rule": rule,
                "value": "v",
                "limit": 1,
                "allowed": ["a", "b"],
                "other": "/data/y",
                "other_value": "w",
                "message": "m",
            }
            problem["format" if rule == "format" else "kind"] = kind
            with self.subTest(rule=rule):
                self.assertIn(words, problem_text(env, problem))

    def test_impossible_period_corrected_in_one_go(self):
        backend = self._backend()
        self._event(backend, self._message("customer", "cus_p", {"name": "Period Co"}))
        data = {
            "customer_ref": "cus_p",
            "plan": {
                "code": "pro",
                "amount": "10",
                "currency": self.env.company.currency_id.name,
                "interval": "month",
                "interval_count": 1,
            },
            "quantity": 1,
            "status": "active",
            "current_period_start": "2026-05-01T00:00:00Z",
            "current_period_end": "2026-04-01T00:00:00Z",
        }
        event = self._event(backend, self._message("subscription", "sub_p", data))
        exc = event.exception_ids
        self.assertTrue(exc.can_correct)
        Wizard = self.env["integration.exception.correct.wizard"].with_user(self.finance)
        wizard = Wizard.with_context(default_exception_id=exc.id).create({})
        self.assertEqual(wizard.line_ids.mapped("pointer"), ["/data/current_period_start", "/data/current_period_end"])
        wizard.line_ids[1].new_value = "2026-06-01T00:00:00Z"
        wizard.action_confirm()
        self.assertEqual(event.state, "done", f"{event.error_message} {event.exception_ids.description}")
        sub = self.env["integration.binding"]._find_record(backend, "subscription", "sub_p")
        self.assertEqual(str(sub.current_period_end), "2026-06-01 00:00:00")
        self.assertEqual(json.loads(event.corrections)[0]["pointer"], "/data/current_period_end")

    def test_what_finance_users_may_not_do(self):
        backend = self._backend()
        event = self._event(backend, self._message("customer", "cus_bad", {"name": "Bad", "email": "nope"}))
        exc = event.exception_ids.with_user(self.finance)
        with self.assertRaises(UserError):
            exc.action_edit_payload(json.dumps({"type": "customer"}))
        with self.assertRaises(AccessError):
            event.with_user(self.finance).read(["payload"])
        with self.assertRaises(AccessError):
            self.env["integration.exception.edit.wizard"].with_user(self.finance).create(
                {"exception_id": exc.id, "payload": "{}"}
            )
        # the guided correction changes the refused values only (a line made through RPC for another field)
        wizard = (
            self.env["integration.exception.correct.wizard"]
            .with_user(self.finance)
            .create(
                {
                    "exception_id": exc.id,
                    "line_ids": [Command.create({"pointer": "/data/name", "new_value": "Changed"})],
                }
            )
        )
        with self.assertRaisesRegex(AccessError, "Only the refused values"):
            wizard.action_confirm()
        # what they may: escalate, to a manager
        exc.action_escalate()
        self.assertTrue(exc.user_id.has_group("integration_base.group_integration_manager"))
