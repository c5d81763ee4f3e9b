"""The webhook inbox: store first, answer fast, process in a job.

Checks, in this order, each with the status that tells the sender what to do:

==========================  ======  =================================
check                       status  sender should
==========================  ======  =================================
body larger than allowed    413     not retry
content type not accepted   415     not retry
unknown backend reference   404     not retry (reveals nothing)
no secret configured        401     not retry (fail closed)
missing/invalid signature   401     not retry
body not a JSON object      400     not retry
no event or no identity     400     not retry
refused by a rule           422     not retry
stored (or already stored)  202/200 stop
database busy               503     retry later
==========================  ======  =================================

The route does no business work: one backend lookup, one signature check,
one INSERT and one job row per event, in one transaction. A request may carry
several events (``_webhook_split``, e.g. HubSpot's JSON arrays): each is
stored and deduplicated on its own, and the answer lists them under
``events``; a request of one event answers ``event_id`` and ``status``.
"""

import logging
import re
import uuid

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import SUPERUSER_ID, http
from odoo.http import request

from ..const import CORRELATION_HEADER, DEFAULT_MAX_BODY_BYTES
from ..exceptions import EventRejected, WebhookError
from ..http_client import redact_headers

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


class IntegrationWebhookController(http.Controller):
    _webhook_url = "/integration/webhook/<string:reference>"

    @http.route(
        _webhook_url,
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
        readonly=False,
    )
    def webhook(self, reference, **_kwargs):
        httprequest = request.httprequest
        header_cid = httprequest.headers.get(CORRELATION_HEADER, "")
        correlation_id = header_cid if _CORRELATION_RE.match(header_cid) else uuid.uuid4().hex
        try:
            status, body = self._handle(reference, correlation_id)
        except WebhookError as exc:
            status, body = exc.status, {"error": exc.reason}
            _logger.info("webhook %s refused (%s): %s [%s]", reference[:6], status, exc.reason, correlation_id)
        return request.make_json_response(
            dict(body, correlation_id=correlation_id), status=status, headers={CORRELATION_HEADER: correlation_id}
        )

    def _handle(self, reference, correlation_id):
        httprequest = request.httprequest
        env = request.env(user=SUPERUSER_ID)
        # 1. size, before reading anything
        hard_limit = int(
            env["ir.config_parameter"].get_param("integration_base.webhook_max_bytes", DEFAULT_MAX_BODY_BYTES)
        )
        length = httprequest.content_length
        if length is not None and length > hard_limit:
            raise WebhookError(f"body larger than {hard_limit} bytes", status=413)
        # werkzeug stops reading a body without Content-Length at this limit too
        httprequest.max_content_length = hard_limit
        try:
            body = httprequest.get_data(cache=False)
        except RequestEntityTooLarge as exc:
            raise WebhookError(f"body larger than {hard_limit} bytes", status=413) from exc
        # 2. content type
        content_type = (httprequest.mimetype or "").lower()
        if content_type not in ACCEPTED_CONTENT_TYPES:
            raise WebhookError(
                f"content type {content_type or 'missing'} not accepted: send application/json", status=415
            )
        # 3. backend
        backend = env["integration.backend"].search([("reference", "=", reference)], limit=1) if reference else None
        if not backend:
            raise WebhookError("unknown webhook", status=404)
        connector = backend._connector()
        if len(body) > backend.max_body_bytes:
            raise WebhookError(f"body larger than {backend.max_body_bytes} bytes", status=413)
        # 4. signature (fail closed without a secret)
        if not backend._get_webhook_secrets():
            raise WebhookError("webhook secret not configured: every request is refused", status=401)
        # the full request (method, URL) for systems that sign it too (HubSpot v3)
        connector = connector.with_context(
            integration_webhook_method=httprequest.method, integration_webhook_url=httprequest.url
        )
        connector._webhook_verify(backend, httprequest.headers, body)
        # 5. parse, split (one request may carry several events), 6. identities:
        # all checked before anything is stored, so a bad item stores nothing
        payload = connector._webhook_parse(backend, body)
        items = connector._webhook_split(backend, payload, body)
        if not items:
            raise WebhookError("the request carries no event")
        headers = redact_headers(httprequest.headers)
        accepted, refused = [], []
        for item, raw in items:
            try:
                identity = connector._webhook_identity(backend, item, httprequest.headers)
            except EventRejected as exc:
                refused.append((exc, raw))
                continue
            _check_identity(identity)
            accepted.append((identity, raw))
        Event = env["integration.event"]
        results = []
        for exc, raw in refused:
            if exc.identity and exc.identity.get("external_id"):
                _check_identity(exc.identity)
                # Authentic but refused by a rule: keep it visible, never process it.
                event, _created = Event._ingest(
                    backend, exc.identity, raw, headers=headers, correlation_id=correlation_id, rejected=exc.reason
                )
                results.append({"event_id": event.id, "status": "rejected", "reason": exc.reason})
        if refused and not accepted:
            raise refused[0][0]
        # 7. store once + enqueue, same transaction
        for identity, raw in accepted:
            event, created = Event._ingest(backend, identity, raw, headers=headers, correlation_id=correlation_id)
            results.append({"event_id": event.id, "status": event.state if created else "duplicate"})
        stored = any(result["status"] not in ("duplicate", "rejected") for result in results)
        if len(items) == 1:
            return (202 if stored else 200), results[0]
        return (202 if stored else 200), {"status": "stored" if stored else "duplicate", "events": results}
