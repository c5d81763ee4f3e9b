"""The billing-context API the helpdesk calls while an agent reads a ticket.

``GET /integration/helpdesk/<backend reference>/billing-context?email=<requester>``
with ``Authorization: Bearer <the backend's API key>`` (or the previous key,
during a rotation) answers, in JSON, the
customer's billing as an agent needs it (``integration.helpdesk.billing.context``):
entitlement and entitlements, subscriptions with totals and MRR, next invoice
date, payment method, failed payments (dunning), open invoices, amounts due
and overdue, last payment, and a link to the customer in Odoo. Read only;
every refusal says why:

=====================================  ======
no database reachable                  503 (``Retry-After``)
method other than GET                  405
address failed too often               429 (``Retry-After``)
a request body                         413
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

A 404 for the backend or a 401 counts as a failed authentication, per
backend and per client address (``integration_base``'s ``AuthGuard``).
"""

import hmac
import logging

from odoo import SUPERUSER_ID, http
from odoo.http import request
from odoo.tools import email_normalize

from odoo.addons.integration_base.controllers import guard
from odoo.addons.integration_base.exceptions import WebhookError

_logger = logging.getLogger(__name__)


class HelpdeskBillingContextController(http.Controller):
    _billing_context_url = "/integration/helpdesk/<string:reference>/billing-context"
    _guard = guard.AuthGuard("billing_context")

    @http.route(
        _billing_context_url,
        type="http",
        auth="none",
        methods=None,  # every method: others than GET get a clear 405 (below)
        csrf=False,
        save_session=False,
        readonly=False,  # a failed authentication is counted (its own read/write transaction)
        max_content_length=guard.bounded_body(lambda env: 0),
    )
    def billing_context(self, reference, email=None, **_kwargs):
        if not request.db:
            return guard.no_database()
        if request.httprequest.method not in ("GET", "HEAD"):  # Odoo routes OPTIONS to every route
            return guard.method_not_allowed(["GET", "HEAD"])
        try:
            body = self._billing_context(reference, email)
        except WebhookError as exc:
            _logger.info("billing context %s… refused (%s): %s", reference[:6], exc.status, exc.reason)
            return guard.json_error(
                exc.status, exc.reason, retry_after=exc.retry_after, headers={"Cache-Control": "no-store"}
            )
        return request.make_json_response(body, headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------
    def _backend(self, env, reference):
        retry_after = self._guard.retry_after(env)
        if retry_after:
            raise WebhookError("too many failed requests from this address", status=429, retry_after=retry_after)
        backend = env["integration.backend"].search([("reference", "=", reference)], limit=1)
        if not backend or not backend._connector()._offers_billing_context(backend):
            self._guard.failed(env)
            raise WebhookError("unknown helpdesk backend", status=404)
        return backend

    def _check_token(self, backend):
        keys = backend._helpdesk_api_keys()
        if not keys:
            self._guard.failed(backend.env, backend)
            raise WebhookError("the backend has no API key: every request is refused", status=401)
        scheme, _sep, token = request.httprequest.headers.get("Authorization", "").partition(" ")
        token = token.strip().encode()
        # compare with every key (no early exit): the time taken tells nothing
        matches = [hmac.compare_digest(token, key.encode()) for key in keys]
        if scheme.lower() != "bearer" or not token or not any(matches):
            self._guard.failed(backend.env, backend)
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
