"""A connector with knobs, for the engine's tests.

Webhooks are signed ``X-Test-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>">``. The payload is ``{"id", "type", "created", "messages": [...],
"fail": ...}``: ``messages`` are canonical messages passed through as they
are; ``fail`` makes the mapper raise a retryable (``"retryable"``), permanent
(``"permanent"``) or unexpected (``"crash"``) error. Types starting with
``unsupported.`` are not handled; ``reject`` makes the identity reader refuse
the event (as Stripe's livemode guard does). Outbound messages are POSTed to the
backend's API URL; the ``items`` stream GETs ``<api_url>/items?cursor=``; the
current state of an object is ``GET <api_url>/current/<type>/<external id>``
(a canonical message; 404: the API cannot tell).
"""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

from odoo import models

from odoo.addons.integration_base.exceptions import (
    EventRejected,
    PermanentError,
    RetryableError,
    SignatureError,
    WebhookError,
)
from odoo.addons.integration_base.http_client import send

TOLERANCE = 300


def sign(secret, body, timestamp=None):
    timestamp = int(timestamp if timestamp is not None else time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class IntegrationConnectorTest(models.AbstractModel):
    _name = "integration.connector.test"
    _inherit = "integration.connector"
    _description = "Test connector"

    def _webhook_verify(self, backend, headers, body):
        header = headers.get("X-Test-Signature")
        if not header:
            raise SignatureError("missing X-Test-Signature header")
        try:
            parts = dict(item.split("=", 1) for item in header.split(","))
            timestamp = int(parts["t"])
        except (ValueError, KeyError) as exc:
            raise SignatureError("malformed X-Test-Signature header") from exc
        if abs(time.time() - timestamp) > TOLERANCE:
            raise SignatureError("stale signature timestamp")
        for secret in backend._get_webhook_secrets():
            expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, parts.get("v1", "")):
                return
        raise SignatureError("no matching signature")

    def _webhook_identity(self, backend, payload, headers):
        if not payload.get("id"):
            raise WebhookError("event without id")
        created = payload.get("created")
        identity = {
            "external_id": payload["id"],
            "event_type": payload.get("type"),
            "occurred_at": datetime.fromtimestamp(created, UTC) if created else None,
        }
        if payload.get("reject"):
            raise EventRejected(payload["reject"], identity=identity)
        return identity

    def _event_is_supported(self, backend, event_type):
        return not (event_type or "").startswith("unsupported.")

    def _event_map(self, event, payload):
        fail = payload.get("fail")
        if fail == "retryable":
            raise RetryableError("the test system is unavailable")
        if fail == "permanent":
            raise PermanentError("the test payload cannot be mapped", category="mapping")
        if fail == "crash":
            raise ValueError("mapper bug")
        return [dict(message) for message in payload.get("messages", [])]

    def _current_message(self, event, message):
        backend = event.backend_id
        if not backend.api_url:
            return None
        url = f"{backend.api_url}/current/{message['type']}/{message['external_id']}"
        try:
            response = send("GET", url, timeout=backend.timeout, rate_key=backend.id)
        except PermanentError as exc:
            if exc.response is not None and exc.response.status_code == 404:
                return None
            raise
        return response.json()

    def _outbound_request(self, backend, event, message):
        return {"method": "POST", "url": f"{backend.api_url}/messages", "json": message}

    def _stream_selection(self):
        return [("items", "Test items")]

    def _stream_fetch(self, stream, cursor):
        backend = stream.backend_id
        response = send(
            "GET", f"{backend.api_url}/items?cursor={cursor or ''}&limit={stream.page_size}", timeout=backend.timeout
        )
        page = response.json()
        return {
            "items": [
                {
                    "external_id": item["id"],
                    "event_type": item["type"],
                    "occurred_at": datetime.fromtimestamp(item["created"], UTC),
                    "payload": json.dumps(item),
                }
                for item in page["data"]
            ],
            "cursor": page["data"][-1]["id"] if page["data"] else cursor,
            "has_more": page["has_more"],
            "total": page.get("total"),
        }

    def _test_connection(self, backend):
        send("GET", f"{backend.api_url}/ping", timeout=backend.timeout)
        return "pong"
