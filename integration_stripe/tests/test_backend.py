"""Backend configuration: keys and modes, fetch settings, rate limits, accounting setup, connection test."""

from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.integration_base.tests.common import local_http_server

from .common import FakeStripeApi, StripeCaseMixin

BALANCE = {"object": "balance", "livemode": False, "available": [{"amount": 2000, "currency": "usd"}], "pending": []}


@tagged("post_install", "-at_install")
class TestStripeBackend(StripeCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._create_stripe_backend()

    def test_key_must_match_the_mode(self):
        with self.assertRaisesRegex(ValidationError, "live key but the backend is in test mode"):
            self.backend.api_key = "sk_live_" + "a" * 24
        with self.assertRaisesRegex(ValidationError, "starts with sk_"):
            self.backend.api_key = "pk_test_" + "a" * 24
        self.backend.write({"stripe_livemode": True, "api_key": "rk_live_" + "b" * 24})
        self.assertTrue(self.backend.stripe_livemode)

    def test_fetch_objects_are_checked(self):
        with self.assertRaisesRegex(ValidationError, "Unknown Stripe objects to fetch: balance"):
            self.backend.stripe_fetch_objects = "customer, balance"
        self.backend.stripe_fetch_objects = " invoice ,customer "
        self.assertEqual(self.backend._stripe_fetch_set(), {"invoice", "customer"})

    def test_rate_limit_defaults_to_stripe_limits(self):
        self.assertEqual(self.backend.rate_limit, 25.0, "test mode: 25 operations per second")
        live = self._create_stripe_backend(name="Live", stripe_livemode=True, api_key="sk_live_" + "c" * 24)
        self.assertEqual(live.rate_limit, 100.0)

    def test_stripe_makes_the_signing_secret(self):
        with self.assertRaisesRegex(UserError, "Stripe makes the signing secret"):
            self.backend.action_rotate_webhook_secret()
        self.assertTrue(self.backend.sudo().webhook_secret)

    def test_prepare_accounting_creates_what_is_missing_once(self):
        self.env.company.transfer_account_id = self.env["account.account"].create(
            {"name": "Transfers", "code": "109900", "account_type": "asset_current", "reconcile": True}
        )
        self.backend.action_prepare_accounting()
        journal = self.backend.payment_journal_id
        clearing = self.backend.stripe_clearing_account_id
        self.assertEqual(journal.type, "bank")
        self.assertRecordValues(clearing, [{"account_type": "asset_current", "reconcile": True}])
        self.assertEqual(self.backend.stripe_fee_account_id.account_type, "expense")
        self.assertEqual(self.backend.stripe_transfer_account_id, self.env.company.transfer_account_id)
        methods = journal.inbound_payment_method_line_ids | journal.outbound_payment_method_line_ids
        self.assertEqual(methods.payment_account_id, clearing, "Stripe payments book on the Stripe balance")
        self.backend.action_prepare_accounting()
        self.assertEqual(self.backend.payment_journal_id, journal, "nothing is created twice")
        self.assertEqual(self.backend.stripe_clearing_account_id, clearing)
        self.assertEqual(self.backend._payout_accounts()["clearing"], clearing)

    def test_tax_mapping_proposal_and_match(self):
        tax = self.env["account.tax"].create({"name": "VAT 21%", "amount": 21.0, "type_tax_use": "sale"})
        self.backend.action_stripe_add_tax_mapping()
        line = self.backend.stripe_tax_map_ids.filtered(lambda ln: ln.tax_id == tax)
        self.assertRecordValues(line, [{"percentage": 21.0, "inclusive": False, "stripe_tax_rate": False}])
        other = self.env["account.tax"].create({"name": "VAT 21% (special)", "amount": 21.0, "type_tax_use": "sale"})
        self.backend.stripe_tax_map_ids = [
            Command.create({"stripe_tax_rate": "txr_special", "percentage": 21.0, "tax_id": other.id})
        ]
        maps = self.backend.stripe_tax_map_ids
        self.assertEqual(maps._match({"ref": "txr_special", "percentage": 21.0}), other, "by rate id first")
        self.assertEqual(maps._match({"ref": "txr_other", "percentage": 21.0, "inclusive": False}), tax)
        self.assertFalse(maps._match({"ref": "txr_other", "percentage": 21.0, "inclusive": True}))
        with self.assertRaises(IntegrityError), self.cr.savepoint(), mute_logger("odoo.sql_db"):
            self.backend.stripe_tax_map_ids = [Command.create({"percentage": 120.0, "tax_id": tax.id})]
            self.env.flush_all()

    def test_connection_test(self):
        api = FakeStripeApi({"/v1/balance": BALANCE})
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            action = self.backend.action_test_connection()
            self.assertIn("test mode", action["params"]["message"])
            self.assertIn("2000 USD", action["params"]["message"])
            _method, path, _params, headers = api.calls[0]
            self.assertEqual((path, headers["Stripe-Version"]), ("/v1/balance", "2024-06-20"))
            # a live account behind a test backend
            api.objects["/v1/balance"] = dict(BALANCE, livemode=True)
            with self.assertRaisesRegex(UserError, "live account but the backend is in test mode"):
                self.backend.action_test_connection()
            # a key Stripe refuses
            api.objects["/v1/balance"] = None
            api.posted[("GET", "/v1/balance")] = lambda params: (
                401,
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****"}},
            )
            with self.assertRaisesRegex(UserError, "Stripe refused the connection: .*API key was refused"):
                self.backend.action_test_connection()
        self.backend.sudo().api_key = False
        with self.assertRaisesRegex(UserError, "no secret API key"):
            self.backend.action_test_connection()
