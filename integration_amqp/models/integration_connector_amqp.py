"""RabbitMQ as a connector of the engine: canonical events in and out.

Inbound, a message of the backend's queue is what a webhook request is to
the route: its AMQP properties and headers play the request headers, its
body is a canonical message (envelope + data, as the canonical connector
takes it). The same hooks verify, identify and map it; the runner stores it
with the inbox's ``_ingest`` (see ``integration.backend._amqp_receive``).

Who may produce, per backend (``amqp_auth_mode``):

* ``signature`` -- Standard Webhooks headers (``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of
  "id.timestamp.body">``) signed with the backend's webhook secret (two
  secrets during a rotation). No timestamp tolerance: a message may wait in
  the queue for hours; a replay is a duplicate (same message id), signed
  with the id it claims.
* ``trusted_users`` -- the message's ``user_id`` property names one of the
  backend's trusted broker users. RabbitMQ refuses a ``user_id`` that is not
  the publishing connection's own user, so the broker vouches for it.

Outbound, :meth:`_outbound_deliver` publishes one canonical message to the
backend's topic exchange (routing key ``<type>.<action>``), persistent,
confirmed, with the outbound event's external id as ``message_id``.
"""

import hmac
import json
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from odoo import models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.integration_base.exceptions import IntegrationError, SignatureError, WebhookError

from .. import amqp_client
from ..const import (
    HEADER_ACTION,
    HEADER_CANONICAL_TYPE,
    HEADER_CORRELATION,
    HEADER_SCHEMA_VERSION,
    HEADER_SIGNATURE,
    HEADER_SIGNATURE_ID,
    HEADER_SIGNATURE_TIMESTAMP,
    HEADER_SOURCE,
)


def sign(secret, message_id, timestamp, body):
    """Standard Webhooks signature (``v1,<base64>``) of ``body`` (bytes) at ``timestamp`` (Unix seconds)."""
    moment = datetime.fromtimestamp(int(timestamp), UTC)
    return Webhook(secret).sign(message_id, moment, body.decode("utf-8", errors="replace"))


def _unix(value):
    """Unix seconds of a naive UTC datetime (as Odoo stores them)."""
    return value.replace(tzinfo=UTC).timestamp()


class IntegrationConnectorAmqp(models.AbstractModel):
    """The canonical connector's language (bodies, secrets, signatures), over AMQP."""

    _name = "integration.connector.amqp"
    _inherit = "integration.connector.canonical"
    _description = "RabbitMQ (AMQP) connector"

    # ------------------------------------------------------------------
    # Inbound: the same hooks as a webhook; ``headers`` are the message's
    # AMQP properties with its headers merged in
    # ------------------------------------------------------------------
    def _webhook_verify(self, backend, headers, body):
        if backend.amqp_auth_mode == "trusted_users":
            trusted = backend._amqp_trusted_users()
            user = headers.get("user_id")
            if not trusted:
                raise SignatureError("no trusted producer configured: every message is refused")
            if not user:
                raise SignatureError("the message has no user_id property (a trusted producer sets it)")
            if user not in trusted:
                raise SignatureError(f"producer {user!r} is not trusted by this backend")
            return
        message_id = headers.get(HEADER_SIGNATURE_ID)
        timestamp = headers.get(HEADER_SIGNATURE_TIMESTAMP)
        signatures = str(headers.get(HEADER_SIGNATURE) or "").split()
        if not (message_id and timestamp and signatures):
            raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
        if message_id != headers.get("message_id"):
            raise SignatureError("the signed webhook-id is not the message's message_id")
        for secret in backend._get_webhook_secrets():
            expected = sign(secret, message_id, timestamp, body)
            if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
                return
        raise SignatureError("no matching signature")

    def _webhook_identity(self, backend, payload, headers):
        """The canonical connector's identity, with the ``message_id`` property as the dedup key."""
        message_id = headers.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise WebhookError("the message has no message_id property: it cannot be deduplicated")
        if not isinstance(payload.get("type"), str) or not payload.get("external_id"):
            raise WebhookError("the body is not a canonical message: it needs type and external_id")
        return super()._webhook_identity(backend, payload, dict(headers, **{HEADER_SIGNATURE_ID: message_id}))

    # ------------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------------
    def _outbound_enqueue(self, backend, event):
        """No job per event: the backend's relay publishes its events in order."""
        self.env["integration.amqp.relay"]._schedule(backend)

    def _amqp_envelope(self, backend, event, message):
        """Routing key, body and headers of the message of ``event``.

        :return: dict of ``routing_key``, ``body`` (bytes), ``headers``, ``type``
        """
        canonical_type, _dot, action = (event.event_type or "").partition(".")
        canonical_type = message.get("type") or canonical_type
        action = action or "changed"
        body = json.dumps(message, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
        headers = {
            HEADER_CORRELATION: event.correlation_id or "",
            HEADER_SCHEMA_VERSION: message.get("schema_version") or "1.0",
            HEADER_CANONICAL_TYPE: canonical_type,
            HEADER_ACTION: action,
            HEADER_SOURCE: message.get("source") or "odoo",
        }
        secret = backend.sudo().webhook_secret
        if secret:
            timestamp = str(int(_unix(event.occurred_at or event.create_date)))
            headers.update(
                {
                    HEADER_SIGNATURE_ID: event.external_id,
                    HEADER_SIGNATURE_TIMESTAMP: timestamp,
                    HEADER_SIGNATURE: sign(secret, event.external_id, timestamp, body),
                }
            )
        return {"routing_key": f"{canonical_type}.{action}", "body": body, "headers": headers}

    def _outbound_deliver(self, backend, event, message):
        """Publish and wait for the confirm; nothing is returned on success.

        :raise RetryableError: no confirm: the event is published again later
        """
        envelope = self._amqp_envelope(backend, event, message)
        publisher = amqp_client.publisher_for(backend._amqp_settings(), backend.amqp_exchange)
        occurred = event.occurred_at or event.create_date
        publisher.publish(
            envelope["routing_key"],
            envelope["body"],
            message_id=event.external_id,
            correlation_id=event.correlation_id,
            type_=envelope["routing_key"],
            headers=envelope["headers"],
            timestamp=_unix(occurred) if occurred else None,
        )
        event._add_note(f"Published to {backend.amqp_exchange} as {envelope['routing_key']}.")
        return None

    def _backend_check(self, backend):
        try:
            amqp_client.parse_url(backend.amqp_url)
        except ValueError as exc:
            raise ValidationError(
                self.env._("Broker URL of %(backend)s: %(error)s", backend=backend.name, error=exc)
            ) from exc

    def _test_connection(self, backend):
        settings = backend._amqp_settings()
        try:
            connection = amqp_client.connect(settings, heartbeat=0, role="connection test")
        except IntegrationError as exc:
            raise UserError(self.env._("Cannot reach the broker: %s", exc.message)) from exc
        server = (connection.server_properties or {}).get("version", b"")
        connection.close()
        if isinstance(server, bytes):
            server = server.decode(errors="replace")
        return self.env._("Connected to RabbitMQ %(version)s at %(address)s.", version=server, address=settings.address)
