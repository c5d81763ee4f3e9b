"""Zendesk as helpdesk: signed ticket webhooks -> canonical support tickets.

Supported payload: the Zendesk *event* schema (``tests/data/zendesk_ticket_created.json``)::

    {"type": "zen:event-type:ticket.created", "id": "<event id>", "time": "...",
     "subject": "zen:ticket:35436", "detail": {<the ticket>}, "event": {...}}

Webhooks subscribed to Zendesk ticket events send it as it is. A webhook
connected to a trigger sends the JSON body the trigger defines: CONFIGURE.md
gives a body in the same shape (with the requester's e-mail and name in
``detail.requester``, which event payloads lack); such a body has no event
id, so the invocation id header (the same on Zendesk's retries) is the
dedup key.

Mapping (:func:`..zendesk.ticket_data`): one ``support_ticket`` message per
event, external id the ticket id, ``occurred_at`` the ticket's ``updated_at``
so that an older event never overwrites a newer state; ``customer_ref`` is
the requester's Zendesk user id and ``organization_ref``
``organization:<id>``. An event that names the requester by id only (every
event-subscription event) is completed from the Users API
(``GET /api/v2/users/{id}``, the backend's API user and token) the first
time, until the requester is bound to a contact.

Outbound: the customer's billing (canonical ``customer_billing``) is written
into the user fields of its bound users and the organization fields of its
bound organization (``PUT /api/v2/users/{id}``,
``PUT /api/v2/organizations/{id}``), for Zendesk triggers and views.
"""

import base64

from odoo import models

from odoo.addons.integration_base.exceptions import PermanentError, WebhookError
from odoo.addons.integration_base.values import clean_text

from ..zendesk import (
    IGNORED_TICKET_EVENTS,
    INVOCATION_HEADER,
    ORGANIZATION_PREFIX,
    TICKET_EVENT_PREFIX,
    TIMESTAMP_HEADER,
    WEBHOOK_ID_HEADER,
    parse_timestamp,
    person,
    ticket_data,
    verify,
)


class IntegrationConnectorZendesk(models.AbstractModel):
    _name = "integration.connector.zendesk"
    _inherit = "integration.helpdesk.connector"
    _description = "Zendesk connector"

    # ------------------------------------------------------------------
    # Webhook
    # ------------------------------------------------------------------
    def _webhook_verify(self, backend, headers, body):
        verify(backend._get_webhook_secrets(), headers, body)

    def _webhook_identity(self, backend, payload, headers):
        event_type = payload.get("type")
        if not isinstance(event_type, str) or not event_type.startswith("zen:event-type:"):
            raise WebhookError("not a Zendesk event: 'type' must be a zen:event-type:... name")
        external_id = clean_text(payload.get("id")) or clean_text(headers.get(INVOCATION_HEADER))
        if not external_id:
            raise WebhookError(f"the event has no id (neither 'id' in the body nor {INVOCATION_HEADER})")
        detail = payload.get("detail") if isinstance(payload.get("detail"), dict) else {}
        when = payload.get("time") or detail.get("updated_at")
        try:
            occurred_at = parse_timestamp(str(when)) if when else None
        except ValueError as exc:
            raise WebhookError(f"'time' is not an ISO 8601 timestamp: {when!r}") from exc
        return {"external_id": external_id, "event_type": event_type, "occurred_at": occurred_at}

    def _webhook_safe_headers(self):
        return (INVOCATION_HEADER, TIMESTAMP_HEADER, WEBHOOK_ID_HEADER)

    def _outbound_hosts(self, backend):
        return ("*.zendesk.com",)

    def _event_is_supported(self, backend, event_type):
        return event_type.startswith(TICKET_EVENT_PREFIX) and event_type not in IGNORED_TICKET_EVENTS

    # ------------------------------------------------------------------
    # Mapping
    # ------------------------------------------------------------------
    def _event_map(self, event, payload):
        ticket_id, data = ticket_data(payload)
        self._resolve_requester(event, ticket_id, data)
        message = {"type": "support_ticket", "external_id": ticket_id, "action": "upsert", "data": data}
        if data.get("updated_at"):
            message["occurred_at"] = data["updated_at"]
        return [message]

    # ------------------------------------------------------------------
    # Zendesk API (Users API for requesters)
    # ------------------------------------------------------------------
    def _helpdesk_auth_headers(self, backend):
        credentials = backend.sudo()
        if not (credentials.helpdesk_api_user and credentials.helpdesk_api_token):
            raise PermanentError(
                f"backend {backend.name} has no Zendesk API user or token",
                hint="Put an agent's e-mail in API user and a Zendesk API token in API token, then retry.",
            )
        basic = f"{credentials.helpdesk_api_user}/token:{credentials.helpdesk_api_token}"
        return {"Authorization": "Basic " + base64.b64encode(basic.encode()).decode()}

    def _helpdesk_api_ready(self, backend):
        return super()._helpdesk_api_ready(backend) and bool(backend.sudo().helpdesk_api_user)

    def _helpdesk_fetch_person(self, backend, ref):
        if not ref.isdigit():
            return None
        answer = self._helpdesk_get_or_none(backend, f"/api/v2/users/{ref}.json")
        user = (answer or {}).get("user")
        return person(user) if isinstance(user, dict) else None

    def _helpdesk_ticket_url(self, backend, ticket_ref):
        return f"{backend.api_url.rstrip('/')}/agent/tickets/{ticket_ref}" if backend.api_url else False

    def _helpdesk_test_path(self, backend):
        return "/api/v2/users/me.json"

    def _helpdesk_push_billing(self, backend, ref, message):
        """PUT the billing into the organization's ``organization_fields`` or the user's ``user_fields``."""
        values = self._helpdesk_billing_values(backend, message)
        organization = ref[len(ORGANIZATION_PREFIX) :] if ref.startswith(ORGANIZATION_PREFIX) else ""
        if organization.isdigit():
            path, body = f"/api/v2/organizations/{organization}.json", {"organization": {"organization_fields": values}}
        elif ref.isdigit():
            path, body = f"/api/v2/users/{ref}.json", {"user": {"user_fields": values}}
        else:
            return None
        return self._helpdesk_or_none(lambda: self._helpdesk_request(backend, "PUT", path, body))
