"""Zendesk specifics that need no ORM: webhook signatures, vocabularies, ticket mapping.

Zendesk signs every webhook request with the webhook's signing secret::

    X-Zendesk-Webhook-Signature-Timestamp: 2021-03-25T05:09:27Z
    X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(secret, timestamp + body))

The timestamp is part of the signed text, so a captured request cannot be
replayed after :data:`TOLERANCE` seconds.
"""

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from odoo.addons.integration_base.exceptions import PermanentError, SignatureError
from odoo.addons.integration_base.values import clean_text

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
INVOCATION_HEADER = "X-Zendesk-Webhook-Invocation-Id"
WEBHOOK_ID_HEADER = "X-Zendesk-Webhook-Id"
#: seconds a signature stays valid (either side of our clock)
TOLERANCE = 300

TICKET_EVENT_PREFIX = "zen:event-type:ticket."
#: ticket events that do not describe a ticket's current state: stored as ignored
IGNORED_TICKET_EVENTS = frozenset(
    {
        "zen:event-type:ticket.soft_deleted",
        "zen:event-type:ticket.permanently_deleted",
        "zen:event-type:ticket.undeleted",
        "zen:event-type:ticket.marked_as_spam",
    }
)
#: Zendesk ticket status -> canonical support_ticket status
STATUS_MAP = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "hold",
    "solved": "solved",
    "closed": "closed",
}
PRIORITY_MAP = {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"}
#: external id of a Zendesk organization among the backend's customer bindings
#: (a requester is bound by its bare user id)
ORGANIZATION_PREFIX = "organization:"


def sign(secret, timestamp, body):
    """The signature Zendesk sends for ``body`` at ``timestamp`` (both as sent)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def parse_timestamp(value):
    """An aware datetime from Zendesk's ISO 8601 timestamp. :raise ValueError:"""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("timestamp without time zone")
    return parsed


def verify(secrets, headers, body, now=None, tolerance=TOLERANCE):
    """Accept the request when one of ``secrets`` signed it recently.

    :param secrets: active signing secrets, current first (rotation)
    :param headers: request headers (case-insensitive mapping)
    :param body: raw request body (bytes)
    :raise SignatureError: missing, malformed, stale or invalid signature
    """
    signature = (headers.get(SIGNATURE_HEADER) or "").strip()
    timestamp = (headers.get(TIMESTAMP_HEADER) or "").strip()
    if not signature or not timestamp:
        raise SignatureError(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header")
    try:
        signed_at = parse_timestamp(timestamp)
    except ValueError as exc:
        raise SignatureError(f"malformed {TIMESTAMP_HEADER} header") from exc
    now = now or datetime.now(UTC)
    if abs((now - signed_at).total_seconds()) > tolerance:
        raise SignatureError(f"stale signature timestamp (more than {tolerance} seconds from now)")
    for secret in secrets:
        if hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode()):
            return True
    raise SignatureError("no matching signature")


# ----------------------------------------------------------------------
# Ticket events -> canonical support_ticket data
# ----------------------------------------------------------------------
def iso(value):
    """Zendesk timestamp -> canonical ISO 8601 UTC, or None. :raise PermanentError:"""
    if not value:
        return None
    try:
        parsed = parse_timestamp(str(value))
    except ValueError as exc:
        raise PermanentError(f"not an ISO 8601 timestamp: {value!r}", category="mapping") from exc
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ref(value):
    """A Zendesk id (digits) as text; None for empty, for Zendesk's "0" (none) and for what is not an id."""
    value = clean_text(value)
    return value if value and value.isdigit() and value != "0" and len(value) <= 20 else None


def ticket_id_of(payload):
    """The ticket an event is about: ``detail.id``, else the ``subject`` (``zen:ticket:<id>``)."""
    detail = payload.get("detail") if isinstance(payload.get("detail"), dict) else {}
    ticket_id = clean_text(detail.get("id"))
    subject = str(payload.get("subject") or "")
    if not ticket_id and subject.startswith("zen:ticket:"):
        ticket_id = subject.split(":", 2)[2] or None
    return ticket_id


def ticket_data(payload):
    """The canonical ``data`` of a ticket event (event-subscription or trigger body).

    :return: ``(ticket id, data)``
    :raise PermanentError: (mapping) no ticket, unknown status
    """
    detail = payload.get("detail")
    if not isinstance(detail, dict):
        raise PermanentError("the Zendesk event has no 'detail' object (the ticket)", category="mapping")
    ticket_id = ticket_id_of(payload)
    if not ticket_id:
        raise PermanentError("the Zendesk event names no ticket (detail.id)", category="mapping")
    status = STATUS_MAP.get(str(detail.get("status") or "").strip().lower())
    if not status:
        raise PermanentError(
            f"ticket {ticket_id}: unknown Zendesk status {detail.get('status')!r}",
            category="mapping",
            hint="Zendesk statuses are new, open, pending, hold, solved and closed: check the webhook body.",
        )
    requester = detail.get("requester") if isinstance(detail.get("requester"), dict) else {}
    tags = detail.get("tags") or []
    if isinstance(tags, str):  # trigger placeholder {{ticket.tags}}: space separated
        tags = tags.split()
    organization = _ref(detail.get("organization_id")) or _ref(requester.get("organization_id"))
    via = detail.get("via") if isinstance(detail.get("via"), dict) else {}
    data = {
        "subject": clean_text(detail.get("subject")) or f"Zendesk ticket #{ticket_id}",
        "status": status,
        "priority": PRIORITY_MAP.get(str(detail.get("priority") or "").strip().lower()),
        "tags": [str(tag) for tag in tags if str(tag).strip()],
        "customer_ref": _ref(detail.get("requester_id")) or _ref(requester.get("id")),
        "organization_ref": f"{ORGANIZATION_PREFIX}{organization}" if organization else None,
        "requester_email": clean_text(requester.get("email")),
        "requester_name": clean_text(requester.get("name")),
        "created_at": iso(detail.get("created_at")),
        "updated_at": iso(detail.get("updated_at")) or iso(payload.get("time")),
        "metadata": {
            "zendesk_ticket_id": ticket_id,
            "zendesk_event": payload.get("type"),
            "channel": clean_text(via.get("channel")),
        },
    }
    if "description" in detail:
        data["description"] = clean_text(detail.get("description"))
    return ticket_id, data


def person(user):
    """A Zendesk user (``GET /api/v2/users/{id}``) -> requester fields."""
    organization = _ref(user.get("organization_id"))
    return {
        "email": clean_text(user.get("email")),
        "name": clean_text(user.get("name")),
        "organization_ref": f"{ORGANIZATION_PREFIX}{organization}" if organization else None,
    }
