"""The billing-context API the helpdesk calls while an agent reads a ticket.

``GET /integration/helpdesk/<backend reference>/billing-context?email=<requester>``
with ``Authorization: Bearer <the backend's API key>`` answers, in JSON, the
customer's billing as an agent needs it (``integration.helpdesk.billing.context``):
entitlement and entitlements, subscriptions with totals and MRR, next invoice
date, payment method, failed payments (dunning), open invoices, amounts due
and overdue, last payment, and a link to the customer in Odoo. Read only;
every refusal says why:

=====================================  ======
unknown backend (or not a helpdesk)    404
no API key on the backend, bad token   401
``email`` missing or not an address    400
no customer with that e-mail           404
several customers with that e-mail     409
=====================================  ======

No CORS headers are sent, on purpose: the helpdesk calls this route from its
servers (a Zendesk app through Zendesk's proxy, ``client.request`` with
``cors: false``), never from an agent's browser, which must not hold the key.
A browser page of another origin cannot read the answer.
"""

import hmac
import logging

from odoo import SUPERUSER_ID, http
from odoo.http import request
from odoo.tools import email_normalize

from odoo.addons.integration_base.exceptions import WebhookError

_logger = logging.getLogger(__name__)


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
        return env["integration.helpdesk.billing.context"]._answer(backend, customer)
