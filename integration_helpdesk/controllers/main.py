"""The billing-context API the helpdesk calls while an agent reads a ticket.

``GET /integration/helpdesk/<backend reference>/billing-context?email=<requester>``
with ``Authorization: Bearer <the backend's API key>`` answers, in JSON, the
customer's subscriptions and entitlement, open invoices and amounts due, and
last payment. Read only; every refusal says why:

=====================================  ======
unknown backend (or not a helpdesk)    404
no API key on the backend, bad token   401
``email`` missing or not an address    400
no customer with that e-mail           404
several customers with that e-mail     409
=====================================  ======
"""

import hmac
import logging

from odoo import SUPERUSER_ID, http
from odoo.http import request
from odoo.tools import email_normalize

from odoo.addons.integration_base.exceptions import WebhookError
from odoo.addons.integration_base.values import iso_datetime

_logger = logging.getLogger(__name__)


def _money(amount, currency):
    return f"{currency.round(amount):.{currency.decimal_places}f}"


def _date(value):
    return value.isoformat() if value else None


class HelpdeskBillingContextController(http.Controller):
    _billing_context_url = "/integration/helpdesk/<string:reference>/billing-context"

    @http.route(
        _billing_context_url,
        type="http",
        auth="none",
        methods=["GET"],
        csrf=False,
        save_session=False,
        readonly=True,
    )
    def billing_context(self, reference, email=None, **_kwargs):
        try:
            status, body = 200, self._billing_context(reference, email)
        except WebhookError as exc:
            status, body = exc.status, {"error": exc.reason}
            _logger.info("billing context %s refused (%s): %s", reference[:6], status, exc.reason)
        return request.make_json_response(body, status=status, headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------
    def _backend(self, env, reference):
        backend = env["integration.backend"].search([("reference", "=", reference)], limit=1)
        if not backend or not backend._connector()._offers_billing_context(backend):
            raise WebhookError("unknown helpdesk backend", status=404)
        return backend

    def _check_token(self, backend):
        api_key = backend.sudo().api_key or ""
        if not api_key:
            raise WebhookError("the backend has no API key: every request is refused", status=401)
        scheme, _sep, token = request.httprequest.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or not hmac.compare_digest(token.encode(), api_key.encode()):
            raise WebhookError("send Authorization: Bearer <the backend's API key>", status=401)

    def _customer(self, env, backend, email):
        if not (email or "").strip():
            raise WebhookError("the email parameter is required", status=400)
        normalized = email_normalize(email.strip())
        if not normalized:
            raise WebhookError("the email parameter is not an e-mail address", status=400)
        partners = env["res.partner"].search(
            [("email_normalized", "=", normalized), ("company_id", "in", (False, backend.company_id.id))]
        )
        customers = partners.commercial_partner_id
        if not customers:
            raise WebhookError("no customer with this e-mail address", status=404)
        if len(customers) > 1:
            raise WebhookError(f"{len(customers)} customers share this e-mail address", status=409)
        return customers

    # ------------------------------------------------------------------
    # Answer
    # ------------------------------------------------------------------
    def _billing_context(self, reference, email):
        env = request.env(user=SUPERUSER_ID)
        backend = self._backend(env, reference)
        self._check_token(backend)
        customer = self._customer(env, backend, email)
        company = backend.company_id
        subscriptions = env["integration.subscription"].search(
            [("partner_id", "child_of", customer.id), ("company_id", "=", company.id)], order="id desc", limit=50
        )
        return {
            "customer": {"name": customer.name, "email": customer.email or None, "is_company": customer.is_company},
            "entitlement": subscriptions._best_entitlement(),
            "subscriptions": [self._subscription_json(sub) for sub in subscriptions],
            **self._invoices_json(env, customer, company),
            "last_payment": self._last_payment_json(env, customer, company),
        }

    def _subscription_json(self, sub):
        return {
            "plan": sub.plan_code,
            "plan_name": sub.plan_name or sub.plan_code,
            "status": sub.status,
            "entitlement": sub.entitlement_state,
            "quantity": sub.quantity,
            "amount": _money(sub.amount, sub.currency_id) if sub.currency_id else None,
            "currency": sub.currency_id.name or None,
            "interval": sub.interval or None,
            "current_period_end": iso_datetime(sub.current_period_end),
            "cancel_at_period_end": sub.cancel_at_period_end,
        }

    def _invoices_json(self, env, customer, company):
        """``open_invoices`` (oldest due first) and ``amount_due`` per currency."""
        domain = [
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
            ("commercial_partner_id", "=", customer.id),
            ("company_id", "=", company.id),
        ]
        Move = env["account.move"]
        invoices = Move.search(domain, order="invoice_date_due, id", limit=50)
        due = Move._read_group(domain, ["currency_id"], ["amount_residual:sum"], order="currency_id")
        today = env.cr.now().date()
        return {
            "open_invoices": [
                {
                    "number": move.name,
                    "date": _date(move.invoice_date),
                    "due_date": _date(move.invoice_date_due),
                    "currency": move.currency_id.name,
                    "total": _money(move.amount_total, move.currency_id),
                    "amount_due": _money(move.amount_residual, move.currency_id),
                    "payment_state": move.payment_state,
                    "overdue": bool(move.invoice_date_due and move.invoice_date_due < today),
                }
                for move in invoices
            ],
            "amount_due": [{"currency": currency.name, "amount": _money(amount, currency)} for currency, amount in due],
        }

    def _last_payment_json(self, env, customer, company):
        payment = env["account.payment"].search(
            [
                ("partner_type", "=", "customer"),
                ("payment_type", "=", "inbound"),
                ("partner_id", "child_of", customer.id),
                ("state", "in", ("in_process", "paid")),
                ("company_id", "=", company.id),
            ],
            order="date desc, id desc",
            limit=1,
        )
        if not payment:
            return None
        return {
            "date": _date(payment.date),
            "amount": _money(payment.amount, payment.currency_id),
            "currency": payment.currency_id.name,
            "reference": payment.name,
            "state": payment.state,
        }
