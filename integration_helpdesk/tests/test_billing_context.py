from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon

from .common import BillingWorldMixin, ZendeskCaseMixin

CONTROLLER_LOGGER = "odoo.addons.integration_helpdesk.controllers.main"


@tagged("post_install", "-at_install")
class TestBillingContext(BillingWorldMixin, ZendeskCaseMixin, AccountTestInvoicingHttpCommon):
    def _get(self, email="jane.doe@acme.example", token=None, reference=None):
        headers = {}
        if token is not False:
            headers["Authorization"] = f"Bearer {token or self.backend.api_key}"
        params = {"email": email} if email is not None else {}
        self.env.flush_all()
        return self.url_open(
            f"/integration/helpdesk/{reference or self.backend.reference}/billing-context",
            params=params,
            headers=headers,
        )

    def test_context_of_a_contact_is_its_company_billing(self):
        response = self._get()
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.headers["Cache-Control"], "no-store")
        context = response.json()
        self.assertEqual(
            {key: context["customer"][key] for key in ("name", "email", "is_company")},
            {"name": "Acme Corp", "email": "billing@acme.example", "is_company": True},
        )
        self.assertTrue(context["customer"]["odoo_url"].endswith(f"/odoo/res.partner/{self.acme.id}"))
        self.assertEqual(context["entitlement"], "grace", "past due: the best entitlement among the subscriptions")
        self.assertEqual(
            [(sub["plan"], sub["status"], sub["entitlement"]) for sub in context["subscriptions"]],
            [("starter", "canceled", "ended"), ("pro", "past_due", "grace")],
        )
        pro = context["subscriptions"][1]
        self.assertEqual(
            {
                key: pro[key]
                for key in ("plan_name", "quantity", "amount", "currency", "interval", "current_period_end")
            },
            {
                "plan_name": "Pro",
                "quantity": 3,
                "amount": self._money(49),
                "currency": self.currency.name,
                "interval": "month",
                "current_period_end": "2026-04-01T00:00:00Z",
            },
        )
        invoices = {invoice["number"]: invoice for invoice in context["open_invoices"]}
        self.assertEqual(set(invoices), {self.inv_open.name, self.inv_partial.name}, "no draft, no paid invoice")
        self.assertEqual(
            {key: invoices[self.inv_partial.name][key] for key in ("total", "amount_due", "payment_state", "overdue")},
            {"total": self._money(200), "amount_due": self._money(150), "payment_state": "partial", "overdue": True},
        )
        self.assertEqual(invoices[self.inv_open.name]["due_date"], "2099-12-31")
        self.assertFalse(invoices[self.inv_open.name]["overdue"])
        self.assertEqual(context["amount_due"], [{"currency": self.currency.name, "amount": self._money(250)}])
        self.assertEqual(
            {key: context["last_payment"][key] for key in ("date", "amount", "currency", "reference")},
            {
                "date": "2026-02-15",
                "amount": self._money(50),
                "currency": self.currency.name,
                "reference": self.last_payment.name,
            },
        )

    def test_backend_shows_the_url_to_give_the_helpdesk(self):
        url = self.backend.helpdesk_billing_context_url
        self.assertTrue(url.endswith(f"/integration/helpdesk/{self.backend.reference}/billing-context"), url)
        other = self._create_backend("canonical", name="Not a helpdesk")
        self.assertFalse(other.helpdesk_billing_context_url)

    def test_email_is_matched_exactly_and_without_case(self):
        self.assertEqual(self._get(email="  JANE.DOE@ACME.EXAMPLE ").status_code, 200)
        with mute_logger(CONTROLLER_LOGGER):
            self.assertEqual(self._get(email="%@acme.example").status_code, 404, "no wildcard search")
            self.assertEqual(self._get(email="jane.doe@acme.example.org").status_code, 404)

    def test_customer_without_billing_answers_empty_lists(self):
        self.env["res.partner"].create({"name": "New Prospect", "email": "prospect@example.com"})
        context = self._get(email="prospect@example.com").json()
        self.assertEqual(
            {
                key: context[key]
                for key in ("entitlement", "subscriptions", "open_invoices", "amount_due", "last_payment")
            },
            {"entitlement": "none", "subscriptions": [], "open_invoices": [], "amount_due": [], "last_payment": None},
        )
        self.assertEqual(
            {key: context[key] for key in ("entitlements", "next_invoice_date", "payment_method")},
            {"entitlements": [], "next_invoice_date": None, "payment_method": None},
        )
        self.assertEqual(context["dunning"]["status"], "ok")
        self.assertEqual(context["mrr"]["amount"], self._money(0))

    @mute_logger(CONTROLLER_LOGGER)
    def test_bad_credentials_are_refused(self):
        for token in (False, "wrong-key", self.backend.api_key + "x"):
            response = self._get(token=token)
            self.assertEqual(response.status_code, 401, token)
            self.assertNotIn("Acme", response.text)
        self.env.flush_all()
        basic = self.url_open(
            f"/integration/helpdesk/{self.backend.reference}/billing-context",
            params={"email": "jane.doe@acme.example"},
            headers={"Authorization": f"Basic {self.backend.api_key}"},
        )
        self.assertEqual(basic.status_code, 401)
        api_key = self.backend.api_key
        self.backend.api_key = False
        response = self._get(token=api_key)
        self.assertEqual(response.status_code, 401)
        self.assertIn("no API key", response.json()["error"])

    @mute_logger(CONTROLLER_LOGGER)
    def test_unknown_backend_or_other_connector_is_not_found(self):
        self.assertEqual(self._get(reference="no-such-reference").status_code, 404)
        other = self._create_backend("canonical", name="Not a helpdesk", api_key=self.backend.api_key)
        self.assertEqual(self._get(reference=other.reference).status_code, 404)

    @mute_logger(CONTROLLER_LOGGER)
    def test_bad_email_parameter(self):
        for email, status in ((None, 400), ("", 400), ("not-an-address", 400), ("nobody@acme.example", 404)):
            response = self._get(email=email)
            self.assertEqual(response.status_code, status, email)
            self.assertTrue(response.json()["error"])

    @mute_logger(CONTROLLER_LOGGER)
    def test_two_customers_with_one_email_is_a_conflict(self):
        self.env["res.partner"].create({"name": "Other Corp", "is_company": True, "email": "Billing@Acme.example"})
        response = self._get(email="billing@acme.example")
        self.assertEqual(response.status_code, 409)
        self.assertIn("2 customers", response.json()["error"])

    def test_other_company_data_is_not_shown(self):
        other_company = self.setup_other_company(name="Other company")["company"]
        self.env["integration.subscription"].create(
            {
                "name": "Elsewhere",
                "partner_id": self.acme.id,
                "company_id": other_company.id,
                "plan_code": "enterprise",
                "status": "active",
            }
        )
        context = self._get().json()
        self.assertNotIn("enterprise", [sub["plan"] for sub in context["subscriptions"]])
        self.assertEqual(context["entitlement"], "grace")

    def test_finding2_what_an_agent_needs_to_see(self):
        """Finding 2 of issue 14: unit amount only, no total or MRR, no next invoice date,
        no payment method, no failed-payment status, no entitlement list."""
        context = self._get().json()
        pro = next(sub for sub in context["subscriptions"] if sub["plan"] == "pro")
        self.assertEqual(
            {key: pro[key] for key in ("amount", "quantity", "total", "mrr", "interval_count")},
            {
                "amount": self._money(49),
                "quantity": 3,
                "total": self._money(147),
                "mrr": self._money(147),
                "interval_count": 1,
            },
        )
        self.assertEqual(context["mrr"], {"amount": self._money(147), "currency": self.currency.name}, "entitled only")
        self.assertEqual(context["next_invoice_date"], "2026-04-01")
        self.assertEqual(
            context["payment_method"],
            {"type": "card", "brand": "visa", "last4": "4242", "exp_month": 8, "exp_year": 2030, "expired": False},
        )
        dunning = context["dunning"]
        self.assertEqual((dunning["status"], dunning["failed_payments"]), ("failing", 1))
        self.assertIn("card declined", dunning["last_failure"])
        self.assertTrue(dunning["last_failure_at"].endswith("Z"))
        self.assertEqual(
            context["entitlements"],
            [
                {
                    "plan": "pro",
                    "plan_name": "Pro",
                    "quantity": 3,
                    "state": "grace",
                    "until": "2026-04-01T00:00:00Z",
                    "ends": False,
                }
            ],
        )
        self.assertEqual(
            context["amount_overdue"], {"amount": self._money(150), "currency": self.currency.name, "invoices": 1}
        )
        # finance settles the failure: the agent sees it at once
        self.failure.action_resolve()
        self.assertEqual(self._get().json()["dunning"]["status"], "past_due", "still past due, no open failure")

    def test_yearly_plan_mrr_and_expired_card(self):
        self.pro.write({"interval": "year", "amount": 1200.0, "quantity": 2})
        self.acme.write({"integration_payment_method_exp_month": 1, "integration_payment_method_exp_year": 2020})
        context = self._get().json()
        self.assertEqual(context["mrr"]["amount"], self._money(200))
        self.assertTrue(context["payment_method"]["expired"])

    def test_no_cors_the_key_stays_on_servers(self):
        """The API sends no CORS header: a page in an agent's browser cannot read it (documented)."""
        self.env.flush_all()
        response = self.url_open(
            f"/integration/helpdesk/{self.backend.reference}/billing-context",
            params={"email": "jane.doe@acme.example"},
            headers={"Authorization": f"Bearer {self.backend.api_key}", "Origin": "https://acme.zendesk.com"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertFalse([name for name in response.headers if name.lower().startswith("access-control-")])
