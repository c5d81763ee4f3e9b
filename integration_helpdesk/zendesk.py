"""Zendesk specifics that need no ORM: webhook signatures and vocabularies.

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

from odoo.addons.integration_base.exceptions import SignatureError

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
INVOCATION_HEADER = "X-Zendesk-Webhook-Invocation-Id"
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
