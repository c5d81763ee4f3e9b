"""The webhook inbox: store first, answer fast, process in a job.

Checks, in this order, each with the status that tells the sender what to do:

===============================  ======  =================================
check                            status  sender should
===============================  ======  =================================
no database reachable            503     retry later (``Retry-After``)
method other than POST           405     not retry (nothing is stored)
address failed too often         429     retry later (``Retry-After``)
body larger than allowed         413     not retry
broken chunked encoding          400     not retry
content type not accepted        415     not retry
unknown backend reference        404     not retry (reveals nothing)
no secret configured             401     not retry (fail closed)
missing/invalid signature        401     not retry
body not a JSON object           400     not retry
nested deeper than 64 levels     400     not retry
no event or no identity          400     not retry
id or type over 255 characters   400     not retry
refused by a rule                422     not retry
stored (or already stored)       202/200 stop
database busy or lost            503     retry later
===============================  ======  =================================

The body is read with a bound before anything else (``guard.bounded_body``:
chunked bodies included, never more than the limit). The route does no
business work: one backend lookup, one signature check, one INSERT and one
job row per event, in one transaction. A request may carry several events
(``_webhook_split``, e.g. HubSpot's JSON arrays): each is stored and
deduplicated on its own, and the answer lists them under ``events``; a
request of one event answers ``event_id`` and ``status``. A 404 or 401
counts as a failed authentication (``guard.AuthGuard``).

With ``integration_base`` in ``server_wide_modules`` this route, and
:meth:`IntegrationWebhookController.no_database` for the suite's other
paths, answer 503 even when Odoo runs without a reachable database.
"""

import logging
import re
import uuid

from odoo import SUPERUSER_ID, http
from odoo.http import request

from ..body import json_depth_exceeds
from ..const import (
    CORRELATION_HEADER,
    DEFAULT_MAX_BODY_BYTES,
    MAX_EVENT_TYPE_LENGTH,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_JSON_DEPTH,
)
from ..exceptions import EventRejected, SignatureError, WebhookError
from ..redact import redact_headers
from . import guard

_logger = logging.getLogger(__name__)

ACCEPTED_CONTENT_TYPES = ("application/json",)
_CORRELATION_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _check_identity(identity):
    """400 unless the event's id and type are non-empty strings.

    Signed is not well-formed: an authentic sender with a bug (found by the
    bench/ bad-input run: an ``id`` or ``type`` that is a number, a list or
    an object) must get a 400, not a 500 from the INSERT.
    """
    external_id, event_type = identity.get("external_id"), identity.get("event_type")
    if not external_id or not event_type:
        raise WebhookError("the event has no id or no type")
    if not isinstance(external_id, str) or not isinstance(event_type, str):
        raise WebhookError("the event's id and type must be strings")
    if len(external_id) > MAX_EXTERNAL_ID_LENGTH or len(event_type) > MAX_EVENT_TYPE_LENGTH:
        raise WebhookError(
            f"the event's id and type may have at most {MAX_EXTERNAL_ID_LENGTH} and {MAX_EVENT_TYPE_LENGTH} characters"
        )


def _webhook_max_bytes(env):
    if env is None:
        return DEFAULT_MAX_BODY_BYTES
    try:
        return int(env["ir.config_parameter"].get_param("integration_base.webhook_max_bytes", DEFAULT_MAX_BODY_BYTES))
    except ValueError:
        return DEFAULT_MAX_BODY_BYTES


class IntegrationWebhookController(http.Controller):
    _webhook_url = "/integration/webhook/<string:reference>"
    _guard = guard.AuthGuard("webhook")

    @http.route(
        _webhook_url,
        type="http",
        auth="none",
        methods=None,  # every method: others than POST get a clear 405 (below)
        csrf=False,
        save_session=False,
        readonly=False,
        max_content_length=guard.bounded_body(_webhook_max_bytes),
    )
    def webhook(self, reference, **_kwargs):
        if not request.db:
            return guard.no_database()
        httprequest = request.httprequest
        if httprequest.method != "POST":  # Odoo routes OPTIONS to every route
            return guard.method_not_allowed(["POST"])
        header_cid = httprequest.headers.get(CORRELATION_HEADER, "")
        correlation_id = header_cid if _CORRELATION_RE.match(header_cid) else uuid.uuid4().hex
        headers = {CORRELATION_HEADER: correlation_id}
        try:
            status, body = self._handle(reference, correlation_id)
        except WebhookError as exc:
            _logger.info("webhook %s… refused (%s): %s [%s]", reference[:6], exc.status, exc.reason, correlation_id)
            return guard.json_error(
                exc.status, exc.reason, retry_after=exc.retry_after, headers=headers, correlation_id=correlation_id
            )
        except Exception as exc:
            if not guard.is_database_unreachable(exc):
                raise
            _logger.info("webhook %s…: database unavailable (%s) [%s]", reference[:6], exc, correlation_id)
            response = guard.no_database()
            response.headers[CORRELATION_HEADER] = correlation_id
            return response
        return request.make_json_response(dict(body, correlation_id=correlation_id), status=status, headers=headers)

    @http.route(
        "/integration/<path:subpath>",
        type="http",
        auth="none",
        csrf=False,
        save_session=False,
        readonly=True,
        max_content_length=guard.bounded_body(_webhook_max_bytes),
    )
    def no_database(self, subpath, **_kwargs):
        """The suite's paths when Odoo has no database: 503, never a 404.

        Loaded server-wide, integration_base is in Odoo's database-less
        routing map: a sender of any suite route (metrics, billing context...)
        learns to retry later. With a database, an unknown suite path is 404.
        """
        if not request.db:
            return guard.no_database()
        return guard.json_error(404, "not found")

    def _handle(self, reference, correlation_id):
        """The checks of the table above, in its order; the stored events' answer."""
        env = request.env(user=SUPERUSER_ID)
        # 0. an address that failed too often waits, before any work
        retry_after = self._guard.retry_after(env)
        if retry_after:
            raise WebhookError("too many failed requests from this address", status=429, retry_after=retry_after)
        # 1. size: read with a bound before the route ran (guard.bounded_body); 2. content type
        body = guard.request_body()
        content_type = (request.httprequest.mimetype or "").lower()
        if content_type not in ACCEPTED_CONTENT_TYPES:
            raise WebhookError(
                f"content type {content_type or 'missing'} not accepted: send application/json", status=415
            )
        # 3. backend, 4. signature
        backend, connector = self._verified_backend(env, reference, body)
        # 5. parse, split (one request may carry several events), 6. identities:
        # all checked before anything is stored, so a bad item stores nothing
        payload = self._parse(connector, backend, body)
        items = connector._webhook_split(backend, payload, body)
        if not items:
            raise WebhookError("the request carries no event")
        accepted, refused = self._identities(connector, backend, items)
        # 7. store once + enqueue, same transaction
        headers = redact_headers(request.httprequest.headers, safe=connector._webhook_safe_headers())
        results = self._store(env, backend, accepted, refused, headers, correlation_id)
        stored = any(result["status"] not in ("duplicate", "rejected") for result in results)
        if len(items) == 1:
            return (202 if stored else 200), results[0]
        return (202 if stored else 200), {"status": "stored" if stored else "duplicate", "events": results}

    def _verified_backend(self, env, reference, body):
        """The backend of ``reference`` whose secret signed ``body`` (fail closed without a secret).

        :return: ``(backend, connector)``, the connector knowing the request's
            method and URL (for systems that sign them too, HubSpot v3)
        :raise WebhookError: 404 unknown (a failed authentication), 413, 401
        """
        httprequest = request.httprequest
        backend = env["integration.backend"].search([("reference", "=", reference)], limit=1) if reference else None
        if not backend:
            self._guard.failed(env)
            raise WebhookError("unknown webhook", status=404)
        if len(body) > backend.max_body_bytes:
            raise WebhookError(f"body larger than {backend.max_body_bytes} bytes", status=413)
        connector = backend._connector().with_context(
            integration_webhook_method=httprequest.method, integration_webhook_url=httprequest.url
        )
        try:
            if not backend._get_webhook_secrets():
                raise SignatureError("webhook secret not configured: every request is refused")
            connector._webhook_verify(backend, httprequest.headers, body)
        except SignatureError:
            self._guard.failed(env, backend)
            raise
        return backend, connector

    @staticmethod
    def _identities(connector, backend, items):
        """``(accepted, refused)``: ``(identity, raw)`` of the items, ``(EventRejected, raw)`` of those a rule refuses.

        :raise WebhookError: 400 for an item without a usable identity
        """
        accepted, refused = [], []
        for item, raw in items:
            try:
                identity = connector._webhook_identity(backend, item, request.httprequest.headers)
            except EventRejected as exc:
                refused.append((exc, raw))
                continue
            _check_identity(identity)
            accepted.append((identity, raw))
        return accepted, refused

    @staticmethod
    def _store(env, backend, accepted, refused, headers, correlation_id):
        """Store the events once each (refused ones as *rejected*, visible, never processed).

        :return: one result per stored event (``event_id``, ``status``)
        :raise EventRejected: 422 when every item was refused
        """
        Event = env["integration.event"]
        results = []
        for exc, raw in refused:
            if exc.identity and exc.identity.get("external_id"):
                _check_identity(exc.identity)
                event, _created = Event._ingest(
                    backend, exc.identity, raw, headers=headers, correlation_id=correlation_id, rejected=exc.reason
                )
                results.append({"event_id": event.id, "status": "rejected", "reason": exc.reason})
        if refused and not accepted:
            raise refused[0][0]
        for identity, raw in accepted:
            event, created = Event._ingest(backend, identity, raw, headers=headers, correlation_id=correlation_id)
            results.append({"event_id": event.id, "status": event.state if created else "duplicate"})
        return results

    @staticmethod
    def _parse(connector, backend, body):
        """The connector's parse, refusing bodies nested deeper than :data:`MAX_JSON_DEPTH`."""
        too_deep = WebhookError(f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            payload = connector._webhook_parse(backend, body)
        except RecursionError as exc:
            raise too_deep from exc
        # walking the payload is needed only when it has enough brackets to nest that deep
        brackets = body.count(b"[") + body.count(b"{")
        if brackets > MAX_JSON_DEPTH and json_depth_exceeds(payload, MAX_JSON_DEPTH):
            raise too_deep
        return payload
