"""Freshdesk as helpdesk: automation-rule webhooks -> canonical support tickets.

A rule's webhook (``freshdesk_webhook`` placeholders, see ``freshdesk.py``)
says which ticket changed; with the backend's API key the mapper reads the
ticket as it is now (``GET /api/v2/tickets/{id}?include=requester``), so a
late retry never brings back an older state (the ticket's ``updated_at`` is
the message time); without it the placeholders are mapped as they are.
``customer_ref`` is ``contact:<requester id>``, ``organization_ref``
``company:<company id>``; a requester known by id only is read from the
Contacts API once (``GET /api/v2/contacts/{id}``).

The *Tickets (recovery)* stream lists the tickets updated since its cursor
(``GET /api/v2/tickets?updated_since=...``): what Freshdesk dropped (a
webhook failing after its last retry, or postponed past 24 hours by its
rate limit) still arrives.

Outbound: the customer's billing (``customer_billing``) is written into the
custom fields of its contacts and company (``PUT /api/v2/contacts/{id}``,
``PUT /api/v2/companies/{id}``).
"""

import base64
import json
from datetime import timedelta
from urllib.parse import urlencode

from odoo import models

from odoo.addons.integration_base.exceptions import PermanentError, WebhookError
from odoo.addons.integration_base.values import iso_datetime

from ..freshdesk import (
    COMPANY_PREFIX,
    CONTACT_PREFIX,
    api_ticket_data,
    dedup_key,
    event_type_of,
    person,
    verify,
    webhook_ticket,
    webhook_ticket_data,
)

#: the recovery stream's first run starts this long before the stream was made (it recovers, it does not backfill)
RECOVERY_MARGIN = timedelta(days=1)
#: Freshdesk serves at most this many pages of a list (100 tickets each)
MAX_PAGES = 300
#: a Freshdesk id is a 64-bit number: 20 digits at most
MAX_ID_DIGITS = 20


class IntegrationConnectorFreshdesk(models.AbstractModel):
    _name = "integration.connector.freshdesk"
    _inherit = "integration.helpdesk.connector"
    _description = "Freshdesk connector"

    # ------------------------------------------------------------------
    # Webhook
    # ------------------------------------------------------------------
    def _webhook_verify(self, backend, headers, body):
        verify(backend._get_webhook_secrets(), headers, body)

    def _webhook_identity(self, backend, payload, headers):
        ticket = webhook_ticket(payload)
        if ticket is None:
            raise WebhookError('not a Freshdesk webhook: the body must be {"freshdesk_webhook": {...}}')
        ticket_id = str(ticket.get("ticket_id") or "").strip()
        if not ticket_id.isdigit() or len(ticket_id) > MAX_ID_DIGITS:
            raise WebhookError("the webhook has no ticket_id: add the placeholder {{ticket.id}} to the rule's content")
        body = json.dumps(payload, sort_keys=True).encode()
        return {"external_id": dedup_key(ticket_id, body), "event_type": event_type_of(ticket), "occurred_at": None}

    # ------------------------------------------------------------------
    # Mapping
    # ------------------------------------------------------------------
    def _event_map(self, event, payload):
        backend = event.backend_id
        if isinstance(payload.get("freshdesk_ticket"), dict):  # a recovery stream item: the API's ticket
            data = api_ticket_data(payload["freshdesk_ticket"])
        else:
            ticket = webhook_ticket(payload)
            ticket_id = str(ticket["ticket_id"])
            if self._helpdesk_api_ready(backend):
                current = self._helpdesk_get_or_none(backend, f"/api/v2/tickets/{ticket_id}?include=requester")
                if current is None:
                    event._add_note(f"Freshdesk ticket {ticket_id} no longer exists: nothing applied.")
                    return []
                if not isinstance(current, dict) or str(current.get("id")) != ticket_id:
                    raise PermanentError(
                        f"Freshdesk answered GET /api/v2/tickets/{ticket_id} with another object", category="mapping"
                    )
                data = api_ticket_data(current)
            else:
                data = webhook_ticket_data(ticket)
        ticket_id = data["metadata"]["freshdesk_ticket_id"]
        self._resolve_requester(event, ticket_id, data)
        message = {"type": "support_ticket", "external_id": ticket_id, "action": "upsert", "data": data}
        # the ticket's own time when the API told it; else when Freshdesk called
        message["occurred_at"] = data.get("updated_at") or iso_datetime(event.received_at)
        return [message]

    # ------------------------------------------------------------------
    # Freshdesk API v2
    # ------------------------------------------------------------------
    def _outbound_hosts(self, backend):
        return ("*.freshdesk.com",)

    def _helpdesk_auth_headers(self, backend):
        token = backend.sudo().helpdesk_api_token
        if not token:
            raise PermanentError(
                f"backend {backend.name} has no Freshdesk API key",
                hint="Put an agent's API key (Profile settings > View API key) in Helpdesk API token, then retry.",
            )
        return {"Authorization": "Basic " + base64.b64encode(f"{token}:X".encode()).decode()}

    def _helpdesk_fetch_person(self, backend, ref):
        contact_id = ref[len(CONTACT_PREFIX) :] if ref.startswith(CONTACT_PREFIX) else ""
        if not contact_id.isdigit():
            return None
        contact = self._helpdesk_get_or_none(backend, f"/api/v2/contacts/{contact_id}")
        return person(contact) if isinstance(contact, dict) else None

    def _helpdesk_ticket_url(self, backend, ticket_ref):
        return f"{backend.api_url.rstrip('/')}/a/tickets/{ticket_ref}" if backend.api_url else False

    def _helpdesk_test_path(self, backend):
        return "/api/v2/agents/me"

    def _helpdesk_push_billing(self, backend, ref, message):
        """PUT the billing into the contact's or the company's ``custom_fields``."""
        values = self._helpdesk_billing_values(backend, message)
        for prefix, path in ((CONTACT_PREFIX, "contacts"), (COMPANY_PREFIX, "companies")):
            object_id = ref[len(prefix) :] if ref.startswith(prefix) else ""
            if object_id.isdigit():
                return self._helpdesk_or_none(
                    lambda path=path, object_id=object_id: self._helpdesk_request(
                        backend, "PUT", f"/api/v2/{path}/{object_id}", {"custom_fields": values}
                    )
                )
        return None

    def _helpdesk_amount(self, backend, amount):
        """Freshdesk's contact and company fields have no decimal type: the amount as text ("150.00")."""
        return f"{float(amount):.2f}"

    # ------------------------------------------------------------------
    # Recovery stream: tickets updated since the cursor
    # ------------------------------------------------------------------
    def _stream_selection(self):
        return [("freshdesk_tickets", "Freshdesk tickets (recovery)")]

    def _backend_setup(self, backend):
        Stream = self.env["integration.stream"].sudo()
        if not Stream.search_count([("backend_id", "=", backend.id), ("stream", "=", "freshdesk_tickets")]):
            Stream.create({"backend_id": backend.id, "stream": "freshdesk_tickets", "interval_minutes": 60})

    def _stream_fetch(self, stream, cursor):
        """One page of tickets updated since the cursor, oldest first.

        The cursor is ``<updated_since>|<page>|<newest updated_at seen>``:
        pages of one window follow each other, and the next window starts at
        the newest change seen (tickets changed at that very moment are read
        again, and stored once: the item id is the ticket and its
        ``updated_at``). Without API credentials there is nothing to read.
        """
        backend = stream.backend_id
        if not self._helpdesk_api_ready(backend):
            return {"items": [], "cursor": cursor, "has_more": False}
        start = (stream.create_date - RECOVERY_MARGIN).strftime("%Y-%m-%dT%H:%M:%SZ")
        since, page, newest = ((cursor or "").split("|") + ["", "", ""])[:3]
        since = since or start
        page = int(page) if page.isdigit() else 1
        per_page = min(stream.page_size or 100, 100)
        query = urlencode(
            {
                "updated_since": since,
                "order_by": "updated_at",
                "order_type": "asc",
                "per_page": per_page,
                "page": page,
                "include": "requester",
            }
        )
        tickets = self._helpdesk_request(backend, "GET", f"/api/v2/tickets?{query}") or []
        if not isinstance(tickets, list) or not all(isinstance(t, dict) and t.get("id") for t in tickets):
            raise PermanentError("Freshdesk answered the ticket list with something else than a list of tickets")
        newest = max([newest or since] + [ticket.get("updated_at") or since for ticket in tickets])
        full = len(tickets) >= per_page
        next_window = not full or page >= MAX_PAGES
        return {
            "items": [
                {
                    "external_id": f"ticket-{ticket['id']}-{ticket.get('updated_at')}",
                    "event_type": "ticket.updated",
                    "occurred_at": None,
                    "payload": json.dumps({"freshdesk_ticket": ticket}),
                }
                for ticket in tickets
            ],
            "cursor": f"{newest}|1|{newest}" if next_window else f"{since}|{page + 1}|{newest}",
            "has_more": full,
        }
