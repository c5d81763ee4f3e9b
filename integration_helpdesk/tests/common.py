import json
from datetime import UTC, datetime
from pathlib import Path

from odoo import Command

from odoo.addons.integration_base.tests.common import IntegrationCaseMixin

from ..zendesk import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

DATA = Path(__file__).parent / "data"
SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
OLD_SECRET = "b2xkX3NpZ25pbmdfc2VjcmV0X2JlaW5nX3JvdGF0ZWQ="


def fixture(name):
    return json.loads((DATA / name).read_text())


def zendesk_timestamp(moment=None):
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZendeskCaseMixin(IntegrationCaseMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        # accounting test classes run as their own user: make it configure integrations
        cls.env.user.sudo().group_ids = [
            Command.link(cls.env.ref("base.group_system").id),
            Command.link(cls.env.ref("integration_base.group_integration_manager").id),
        ]
        cls.backend = cls._create_backend(
            "zendesk", name="Zendesk support", webhook_secret=SECRET, api_key="zd-billing-context-key-4f1e9a7c"
        )

    @staticmethod
    def _signed_headers(body, secret=SECRET, timestamp=None):
        timestamp = timestamp or zendesk_timestamp()
        return {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }


class BillingWorldMixin:
    """Acme Corp (company) and Jane Doe (its contact): subscriptions, invoices,
    payments, a card on file and a failed payment, for the billing views of
    the helpdesk (API, sidebar app, pushed fields). Mixed in first:
    ``(BillingWorldMixin, ZendeskCaseMixin, AccountTestInvoicing*)``, so that
    the user rights ZendeskCaseMixin gives exist when the world is made."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.currency = cls.company_data["currency"]
        Partner = cls.env["res.partner"]
        cls.acme = Partner.create(
            {
                "name": "Acme Corp",
                "is_company": True,
                "email": "billing@acme.example",
                "integration_payment_method_type": "card",
                "integration_payment_method_brand": "visa",
                "integration_payment_method_last4": "4242",
                "integration_payment_method_exp_month": 8,
                "integration_payment_method_exp_year": 2030,
            }
        )
        cls.jane = Partner.create({"name": "Jane Doe", "email": "jane.doe@acme.example", "parent_id": cls.acme.id})
        Subscription = cls.env["integration.subscription"]
        common = {"partner_id": cls.acme.id, "company_id": cls.env.company.id, "currency_id": cls.currency.id}
        cls.pro = Subscription.create(
            dict(
                common,
                name="Pro - Acme",
                plan_code="pro",
                plan_name="Pro",
                amount=49.0,
                quantity=3,
                interval="month",
                status="past_due",
                current_period_end=datetime(2026, 4, 1),
            )
        )
        cls.starter = Subscription.create(
            dict(common, name="Starter - Acme", plan_code="starter", amount=9.0, status="canceled")
        )
        cls.inv_open = cls._invoice(cls.acme, 100.0, due="2099-12-31")
        cls.inv_partial = cls._invoice(cls.jane, 200.0, due="2026-02-09")
        cls.inv_paid = cls._invoice(cls.acme, 30.0, due="2026-02-09")
        cls.draft = cls.init_invoice("out_invoice", partner=cls.acme, amounts=[999.0], taxes=[])
        cls._pay(cls.inv_paid, 30.0, "2026-02-01")
        cls.last_payment = cls._pay(cls.inv_partial, 50.0, "2026-02-15")
        cls.failure = cls._failed_payment(cls.inv_partial, "card declined")

    @classmethod
    def _invoice(cls, partner, amount, due):
        invoice = cls.init_invoice(
            "out_invoice", partner=partner, invoice_date="2026-01-10", amounts=[amount], taxes=[]
        )
        invoice.invoice_date_due = due
        invoice.action_post()
        return invoice

    @classmethod
    def _pay(cls, invoice, amount, date):
        return (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"amount": amount, "payment_date": date})
            ._create_payments()
        )

    @classmethod
    def _failed_payment(cls, invoice, reason):
        """A failed payment of ``invoice`` reported by the billing platform, applied by generic dunning.

        :return: the open *failed payment* exception it leaves
        """
        billing = cls._create_backend("canonical", name="Billing platform")
        Binding = cls.env["integration.binding"]
        Binding._bind(billing, "customer", "cus_acme", invoice.commercial_partner_id)
        Binding._bind(billing, "invoice", "in_failed", invoice)
        message = cls._message(
            "payment",
            "pi_failed",
            {
                "customer_ref": "cus_acme",
                "invoice_ref": "in_failed",
                "amount": f"{invoice.amount_residual:.2f}",
                "currency": invoice.currency_id.name,
                "date": "2026-02-20",
                "status": "failed",
                "failure_reason": reason,
            },
        )
        event, _created = cls.env["integration.event"]._ingest(
            billing, {"external_id": "evt_pi_failed", "event_type": "payment"}, json.dumps(message)
        )
        event._process()  # what its job does
        return event.exception_ids

    def _money(self, amount):
        return f"{amount:.{self.currency.decimal_places}f}"
