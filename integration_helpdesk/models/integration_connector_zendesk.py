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

Mapping: one ``support_ticket`` message per event, external id the ticket id,
``occurred_at`` the ticket's ``updated_at`` so that an older event never
overwrites a newer state; ``customer_ref`` is the requester's Zendesk user id
(a person can bind it to a contact) and ``requester_email`` lets the applier
find the contact by e-mail.
"""

from odoo import models

from odoo.addons.integration_base.exceptions import PermanentError, WebhookError
from odoo.addons.integration_base.values import clean_text

from ..zendesk import (
    IGNORED_TICKET_EVENTS,
    INVOCATION_HEADER,
    PRIORITY_MAP,
    STATUS_MAP,
    TICKET_EVENT_PREFIX,
    parse_timestamp,
    verify,
)


def _iso(value):
    """Zendesk timestamp -> canonical ISO 8601 UTC, or None."""
    if not value:
        return None
    try:
        parsed = parse_timestamp(str(value))
    except ValueError as exc:
        raise PermanentError(f"not an ISO 8601 timestamp: {value!r}", category="mapping") from exc
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


class IntegrationConnectorZendesk(models.AbstractModel):
    _name = "integration.connector.zendesk"
    _inherit = "integration.connector"
    _description = "Zendesk connector"

    def _offers_billing_context(self, backend):
        return True

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

    def _event_is_supported(self, backend, event_type):
        return event_type.startswith(TICKET_EVENT_PREFIX) and event_type not in IGNORED_TICKET_EVENTS

    # ------------------------------------------------------------------
    # Mapping
    # ------------------------------------------------------------------
    def _event_map(self, event, payload):
        detail = payload.get("detail")
        if not isinstance(detail, dict):
            raise PermanentError("the Zendesk event has no 'detail' object (the ticket)", category="mapping")
        ticket_id = clean_text(detail.get("id"))
        if not ticket_id and str(payload.get("subject") or "").startswith("zen:ticket:"):
            ticket_id = payload["subject"].split(":", 2)[2] or None
        if not ticket_id:
            raise PermanentError("the Zendesk event names no ticket (detail.id)", category="mapping")
        raw_status = str(detail.get("status") or "").strip().lower()
        status = STATUS_MAP.get(raw_status)
        if not status:
            raise PermanentError(
                f"ticket {ticket_id}: unknown Zendesk status {detail.get('status')!r}",
                category="mapping",
                hint="Zendesk statuses are new, open, pending, hold, solved and closed: check the webhook body.",
            )
        requester = detail.get("requester") if isinstance(detail.get("requester"), dict) else {}
        requester_id = clean_text(detail.get("requester_id")) or clean_text(requester.get("id"))
        tags = detail.get("tags") or []
        if isinstance(tags, str):  # trigger placeholder {{ticket.tags}}: space separated
            tags = tags.split()
        updated_at = _iso(detail.get("updated_at")) or _iso(payload.get("time"))
        data = {
            "subject": clean_text(detail.get("subject")) or f"Zendesk ticket #{ticket_id}",
            "description": clean_text(detail.get("description")),
            "status": status,
            "priority": PRIORITY_MAP.get(str(detail.get("priority") or "").strip().lower()),
            "tags": [str(tag) for tag in tags if str(tag).strip()],
            "customer_ref": requester_id,
            "requester_email": clean_text(requester.get("email")),
            "requester_name": clean_text(requester.get("name")),
            "created_at": _iso(detail.get("created_at")),
            "updated_at": updated_at,
            "metadata": {
                "zendesk_ticket_id": ticket_id,
                "zendesk_event": payload["type"],
                "zendesk_organization_id": clean_text(detail.get("organization_id")),
                "channel": clean_text((detail.get("via") or {}).get("channel"))
                if isinstance(detail.get("via"), dict)
                else None,
            },
        }
        message = {"type": "support_ticket", "external_id": ticket_id, "action": "upsert", "data": data}
        if updated_at:
            message["occurred_at"] = updated_at
        return [message]
