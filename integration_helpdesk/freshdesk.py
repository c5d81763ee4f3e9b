"""Freshdesk specifics that need no ORM: webhook authentication, vocabularies, mapping.

**Webhooks** come from automation rules (*Admin > Workflows > Automations*,
action *Trigger webhook*). Freshdesk does not sign them: the rule sends the
backend's webhook secret, either in the header :data:`SECRET_HEADER`
(*Add custom headers*) or as the password of HTTP basic authentication
(*Requires authentication*, any user name); :func:`verify` accepts the
current or the previous secret. With *Content: Simple* Freshdesk posts the
placeholders chosen in the rule as::

    {"freshdesk_webhook": {"ticket_id": 1228307, "ticket_subject": "...",
                           "ticket_status": "Open", "ticket_priority": "Low",
                           "ticket_contact_email": "...", "triggered_event": "{ticket_action:created}", ...}}

A webhook has no delivery id and Freshdesk retries a failed call with the
same body (5, 30 and 60 minutes later): the body's hash is the dedup key.

**API v2** (``https://<domain>.freshdesk.com/api/v2``, an agent's API key as
the basic-auth user, ``X`` as password): tickets (status 2 open, 3 pending,
4 resolved, 5 closed, custom ones above; priority 1 low to 4 urgent),
contacts and companies; 429 answers carry ``Retry-After``.
"""

import base64
import binascii
import hashlib
import hmac

from odoo.tools import html2plaintext

from odoo.addons.integration_base.exceptions import SignatureError
from odoo.addons.integration_base.values import clean_text

SECRET_HEADER = "X-Odoo-Webhook-Secret"
#: Freshdesk ticket status codes -> canonical status (custom statuses, 6 and up: pending)
STATUS_CODES = {2: "open", 3: "pending", 4: "solved", 5: "closed"}
STATUS_NAMES = {"open": "open", "pending": "pending", "resolved": "solved", "closed": "closed"}
PRIORITY_CODES = {1: "low", 2: "normal", 3: "high", 4: "urgent"}
PRIORITY_NAMES = {"low": "low", "medium": "normal", "high": "high", "urgent": "urgent"}
#: external ids of Freshdesk people and companies among the backend's customer bindings
CONTACT_PREFIX = "contact:"
COMPANY_PREFIX = "company:"


def verify(secrets, headers, body=None):
    """Accept the request when it carries one of ``secrets`` (header or basic-auth password).

    :raise SignatureError: no secret, or a wrong one
    """
    candidates = []
    header = (headers.get(SECRET_HEADER) or "").strip()
    if header:
        candidates.append(header)
    scheme, _sep, value = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "basic" and value.strip():
        try:
            user, _sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise SignatureError("malformed HTTP basic authentication") from exc
        # "Requires authentication": user/password (the secret as password),
        # or Freshdesk's "API key" choice (the secret as user, X as password)
        candidates.append(user if password == "X" else password)
    if not candidates:
        raise SignatureError(
            f"send the backend's webhook secret in the {SECRET_HEADER} header or as the HTTP basic password"
        )
    matches = [
        hmac.compare_digest(candidate.encode(), secret.encode()) for candidate in candidates for secret in secrets
    ]
    if not any(matches):
        raise SignatureError("wrong webhook secret")
    return True


def webhook_ticket(payload):
    """The ``freshdesk_webhook`` object of a rule's request, or None."""
    ticket = payload.get("freshdesk_webhook")
    return ticket if isinstance(ticket, dict) else None


def event_type_of(ticket):
    """``ticket.created``, ``ticket.note_added`` or ``ticket.updated``, from ``triggered_event``."""
    triggered = str(ticket.get("triggered_event") or "").replace(" ", "")
    if "ticket_action:created" in triggered:
        return "ticket.created"
    if "note_type:" in triggered:
        return "ticket.note_added"
    return "ticket.updated"


def dedup_key(ticket_id, body):
    """The external id of a webhook delivery: the ticket and the body's hash (the same on Freshdesk's retries)."""
    return f"ticket-{ticket_id}-{hashlib.sha256(body).hexdigest()[:32]}"


def _id(value):
    value = clean_text(value)
    return value if value and value.isdigit() and value != "0" else None


def _tags(value):
    if isinstance(value, str):  # {{ticket.tags}}: comma separated
        value = value.split(",")
    return [str(tag).strip() for tag in value or () if str(tag).strip()]


def api_ticket_data(ticket):
    """A ticket of API v2 (``GET /api/v2/tickets/{id}?include=requester``) -> canonical ``data``."""
    requester = ticket.get("requester") if isinstance(ticket.get("requester"), dict) else {}
    status = ticket.get("status")
    requester_id, company_id = _id(ticket.get("requester_id")), _id(ticket.get("company_id"))
    return {
        "subject": clean_text(ticket.get("subject")) or f"Freshdesk ticket #{ticket['id']}",
        "description": clean_text(ticket.get("description_text"))
        or clean_text(html2plaintext(ticket.get("description") or "")),
        "status": STATUS_CODES.get(status, "pending" if isinstance(status, int) and status > 5 else "open"),
        "priority": PRIORITY_CODES.get(ticket.get("priority")),
        "tags": _tags(ticket.get("tags")),
        "customer_ref": f"{CONTACT_PREFIX}{requester_id}" if requester_id else None,
        "organization_ref": f"{COMPANY_PREFIX}{company_id}" if company_id else None,
        "requester_email": clean_text(requester.get("email")),
        "requester_name": clean_text(requester.get("name")),
        "created_at": clean_text(ticket.get("created_at")),
        "updated_at": clean_text(ticket.get("updated_at")),
        "metadata": {
            "freshdesk_ticket_id": str(ticket["id"]),
            "freshdesk_status": status,
            "source": ticket.get("source"),
        },
    }


def webhook_ticket_data(ticket):
    """The placeholders of a rule's webhook -> canonical ``data`` (when the API cannot be asked)."""
    status = str(ticket.get("ticket_status") or "").strip().lower()
    requester_id = _id(ticket.get("ticket_requester_id"))
    company_id = _id(ticket.get("ticket_company_id"))
    return {
        "subject": clean_text(ticket.get("ticket_subject")) or f"Freshdesk ticket #{ticket['ticket_id']}",
        "description": clean_text(html2plaintext(ticket.get("ticket_description") or "")),
        "status": STATUS_NAMES.get(status, "pending" if status else "open"),
        "priority": PRIORITY_NAMES.get(str(ticket.get("ticket_priority") or "").strip().lower()),
        "tags": _tags(ticket.get("ticket_tags")),
        "customer_ref": f"{CONTACT_PREFIX}{requester_id}" if requester_id else None,
        "organization_ref": f"{COMPANY_PREFIX}{company_id}" if company_id else None,
        "requester_email": clean_text(ticket.get("ticket_requester_email") or ticket.get("ticket_contact_email")),
        "requester_name": clean_text(ticket.get("ticket_requester_name") or ticket.get("ticket_contact_name")),
        "metadata": {"freshdesk_ticket_id": str(ticket["ticket_id"]), "freshdesk_status": ticket.get("ticket_status")},
    }


def person(contact):
    """A contact of API v2 (``GET /api/v2/contacts/{id}``) -> requester fields."""
    company_id = _id(contact.get("company_id"))
    return {
        "email": clean_text(contact.get("email")),
        "name": clean_text(contact.get("name")),
        "organization_ref": f"{COMPANY_PREFIX}{company_id}" if company_id else None,
    }
