"""The inbox, fed by a queue instead of a route.

The runner hands a batch of deliveries of one backend to :meth:`_receive`,
commits, and only then settles them with the broker. Each message goes
through the checks of the webhook route, in the same order, with the same
hooks of the backend's connector; what the route answers with a status, the
broker gets as a settlement:

=============================  ================================  ===========
check                          stored                            settlement
=============================  ================================  ===========
unauthentic (signature, user)  nothing (it is nobody's message)  dead-letter
not JSON / no message_id /     event *rejected* + an exception   dead-letter
not a canonical message /      a person can read and fix
schema violation
stored (or already stored)     event *queued*, job enqueued      ack
=============================  ================================  ===========

A redelivery (same message id) finds the stored event and is acknowledged
as a duplicate. A database failure raises: nothing of the batch is
acknowledged and the broker delivers it again.
"""

import hashlib
import logging
import re
import uuid

import psycopg2

from odoo import api, models

from odoo.addons.integration_base.exceptions import (
    IntegrationError,
    PermanentError,
    SignatureError,
    WebhookError,
)
from odoo.addons.integration_base.http_client import redact_headers

from ..const import HEADER_CORRELATION

_logger = logging.getLogger(__name__)

_CORRELATION_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def message_headers(delivery):
    """The message's properties and headers as one flat mapping (the route's request headers)."""
    headers = {key: _text(value) for key, value in delivery.properties.items() if key != "application_headers"}
    headers.update({str(key): _text(value) for key, value in delivery.headers.items()})
    headers["routing_key"] = delivery.routing_key
    headers["exchange"] = delivery.exchange
    headers["redelivered"] = delivery.redelivered
    return headers


class IntegrationAmqpInbox(models.AbstractModel):
    _name = "integration.amqp.inbox"
    _description = "Integration AMQP inbox (queue messages to inbound events)"

    @api.model
    def _receive(self, backend, deliveries):
        """Store a batch of ``backend``'s deliveries; the caller commits, then settles.

        :return: ``(acks, rejects)``, lists of deliveries
        :raise psycopg2.Error: the database failed: settle nothing
        """
        acks, rejects = [], []
        for delivery in deliveries:
            try:
                with self.env.cr.savepoint():
                    accepted = self._receive_one(backend, delivery)
            except psycopg2.Error:
                raise
            except Exception:
                # A bug, not the message's fault: keep the message on the
                # dead-letter queue rather than redeliver it forever.
                _logger.exception("AMQP inbox %s: message %s could not be stored", backend.name, delivery.message_id)
                accepted = False
            (acks if accepted else rejects).append(delivery)
        return acks, rejects

    def _receive_one(self, backend, delivery):
        """Store one delivery. :return: True to acknowledge it, False to dead-letter it."""
        connector = backend._connector()
        headers = message_headers(delivery)
        try:
            connector._webhook_verify(backend, headers, delivery.body)
        except SignatureError as exc:
            _logger.info(
                "AMQP inbox %s: message %s refused (%s), dead-lettered",
                backend.name,
                headers.get("message_id"),
                exc.reason,
            )
            return False
        payload = identity = None
        try:
            payload = connector._webhook_parse(backend, delivery.body)
            identity = connector._webhook_identity(backend, payload, headers)
            draft = self.env["integration.event"].new({"backend_id": backend.id})  # what _event_map reads
            for message in connector._event_map(draft, payload):
                self.env["integration.canonical.type"]._validate(message)
        except (WebhookError, IntegrationError) as exc:
            error = (
                exc if isinstance(exc, IntegrationError) else PermanentError(exc.reason, category="schema_violation")
            )
            self._store_rejected(backend, delivery, headers, payload, error)
            return False
        event, created = self.env["integration.event"]._ingest(
            backend,
            identity,
            delivery.body.decode("utf-8"),
            headers=redact_headers(headers),
            correlation_id=self._correlation_id(headers),
            source="broker",
        )
        if not created:
            _logger.debug(
                "AMQP inbox %s: message %s is a duplicate of event %s", backend.name, delivery.message_id, event.id
            )
        return True

    @staticmethod
    def _correlation_id(headers):
        for candidate in (headers.get("correlation_id"), headers.get(HEADER_CORRELATION)):
            if isinstance(candidate, str) and _CORRELATION_RE.match(candidate):
                return candidate
        return uuid.uuid4().hex

    def _store_rejected(self, backend, delivery, headers, payload, error):
        """A malformed message: a *rejected* event and an exception a person can read."""
        message_id = headers.get("message_id")
        if not isinstance(message_id, str) or not message_id or len(message_id) > 255:
            message_id = "sha256-" + hashlib.sha256(delivery.body).hexdigest()
        event_type = payload.get("type") if isinstance(payload, dict) else None
        identity = {
            "external_id": message_id,
            "event_type": event_type if isinstance(event_type, str) and event_type else "malformed",
            "occurred_at": None,
        }
        raw = delivery.body.decode("utf-8", errors="replace")
        event, created = self.env["integration.event"]._ingest(
            backend,
            identity,
            raw,
            headers=redact_headers(headers),
            correlation_id=self._correlation_id(headers),
            source="broker",
            rejected=error.message,
        )
        if created:
            event.sudo().write({"error_message": error.message})
            self.env["integration.exception"]._open_for_event(event, error)
        _logger.info("AMQP inbox %s: message %s rejected: %s", backend.name, message_id, error.message)
        return event
