"""Built-in connector for systems that speak the canonical language.

Inbound: the body *is* a canonical message (envelope + data), signed as the
Standard Webhooks specification says (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256>``). Any in-house system can
feed Odoo this way without a connector of its own.

Outbound: the canonical message is POSTed, JSON, to the backend's API URL,
signed the same way with the backend's webhook secret.
"""

import base64
import binascii
import json
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from odoo import models
from odoo.exceptions import UserError

from ..exceptions import IntegrationError, SignatureError, WebhookError
from ..http_client import send


class IntegrationConnectorCanonical(models.AbstractModel):
    _name = "integration.connector.canonical"
    _inherit = "integration.connector"
    _description = "Canonical JSON connector (Standard Webhooks)"

    def _webhook_verify(self, backend, headers, body):
        headers = {key.lower(): value for key, value in headers.items()}
        if not headers.get("webhook-signature"):
            raise SignatureError("missing webhook-signature header")
        for secret in backend._get_webhook_secrets():
            try:
                Webhook(secret).verify(body, headers, json_parse=False)
                return
            except WebhookVerificationError as exc:
                reason = str(exc)
                if "timestamp" in reason.lower() or "headers" in reason.lower():
                    raise SignatureError(reason) from exc
            except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
                raise SignatureError("malformed webhook-signature header") from exc
        raise SignatureError("no matching signature")

    def _webhook_identity(self, backend, payload, headers):
        external_id = payload.get("external_id")
        message_id = headers.get("webhook-id")
        if not message_id or not payload.get("type") or not external_id:
            raise WebhookError("a canonical message needs webhook-id, type and external_id")
        occurred_at = payload.get("occurred_at")
        try:
            occurred = datetime.fromisoformat(occurred_at) if occurred_at else None
        except (TypeError, ValueError) as exc:
            raise WebhookError("occurred_at is not an ISO 8601 date-time") from exc
        return {"external_id": message_id, "event_type": payload["type"], "occurred_at": occurred}

    def _webhook_safe_headers(self):
        return ("webhook-id", "webhook-timestamp")

    def _event_map(self, event, payload):
        message = dict(payload)
        message.setdefault("source", event.backend_id.connector_type)
        message.setdefault("schema_version", "1.0")
        return [message]

    def _outbound_request(self, backend, event, message):
        body = json.dumps(message, separators=(",", ":"), sort_keys=True)
        headers = {"Content-Type": "application/json"}
        secret = backend.sudo().webhook_secret
        if secret:
            timestamp = datetime.now(UTC)
            headers.update(
                {
                    "webhook-id": event.external_id,
                    "webhook-timestamp": str(int(timestamp.timestamp())),
                    "webhook-signature": Webhook(secret).sign(event.external_id, timestamp, body),
                }
            )
        return {"method": "POST", "url": backend.api_url, "data": body.encode(), "headers": headers}

    def _test_connection(self, backend):
        """Reach the outbound endpoint: any answer below 500 means it is up."""
        if not backend.api_url:
            raise UserError(self.env._("Set the API URL (where Odoo sends canonical messages) first."))
        try:
            response = send("GET", backend.api_url, timeout=backend.timeout)
        except IntegrationError as exc:
            if exc.response is not None and 400 <= exc.response.status_code < 500:
                return self.env._("%s is reachable (it refuses GET, as a webhook endpoint may).", backend.api_url)
            raise UserError(
                self.env._("Cannot reach %(url)s: %(error)s", url=backend.api_url, error=exc.message)
            ) from exc
        return self.env._("%(url)s answered HTTP %(status)s.", url=backend.api_url, status=response.status_code)

    def _generate_webhook_secret(self, backend):
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
