"""Monitoring endpoints: Prometheus metrics and a health check.

``GET /integration/metrics``
    Prometheus text exposition (OpenMetrics when the scraper asks for it).
    Needs ``Authorization: Bearer <integration_monitoring.metrics_token>``
    (or the previous token, during a rotation) -- the whole database -- or
    the session of an integration manager -- the backends of their
    companies; 401 otherwise.

``GET /integration/health``
    ``{"status": "ok|degraded|down", "checks": {...}}``; HTTP 200, or 503
    when the service is down. Anyone may ask (load balancers, uptime
    probes); the details (counts, backend names) are given only to the
    callers the metrics endpoint accepts.

Both answer 405 to other methods, 413 to a request body, and 429 (with
``Retry-After``) to an address that sent wrong tokens too often; a wrong
token counts as a failed authentication (``integration.counter``).
"""

import hmac
import logging

from odoo import http
from odoo.http import request

from odoo.addons.integration_base.controllers import guard

from ..const import PREVIOUS_TOKEN_PARAM, TOKEN_PARAM
from ..metrics import render

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "integration_base.group_integration_manager"


class IntegrationMonitoringController(http.Controller):
    _metrics_url = "/integration/metrics"
    _health_url = "/integration/health"
    _guard = guard.AuthGuard("metrics")

    def _authorized(self):
        """Who may read the details: ``(authorized, company ids or None for all)``.

        A valid bearer token (current or previous) sees the whole database;
        the session of an integration manager sees the backends of their
        companies. A request that sends a bearer token is judged on the token
        alone: a wrong token is refused even with a manager's session cookie,
        and counts as a failed authentication.
        """
        header = request.httprequest.headers.get("Authorization", "")
        scheme, _sep, token = header.partition(" ")
        if header:
            params = request.env["ir.config_parameter"].sudo()
            expected = [
                value for value in (params.get_param(TOKEN_PARAM), params.get_param(PREVIOUS_TOKEN_PARAM)) if value
            ]
            token = token.strip().encode()
            matches = [hmac.compare_digest(token, value.encode()) for value in expected]
            if scheme.lower() == "bearer" and token and any(matches):
                return True, None
            self._guard.failed(request.env)
            return False, None
        user = request.env.user
        if bool(user) and not user._is_public() and user.has_group(MANAGER_GROUP):
            return True, user.company_ids.ids
        return False, None

    def _refused_early(self):
        """405, or 429 for an address that sent wrong tokens too often, else None."""
        if request.httprequest.method not in ("GET", "HEAD"):  # Odoo routes OPTIONS to every route
            return guard.method_not_allowed(["GET", "HEAD"])
        if request.httprequest.headers.get("Authorization"):
            retry_after = self._guard.retry_after(request.env)
            if retry_after:
                return guard.json_error(429, "too many wrong tokens from this address", retry_after=retry_after)
        return None

    @http.route(
        _metrics_url,
        type="http",
        auth="public",
        methods=None,  # every method: others than GET get a clear 405 (below)
        csrf=False,
        save_session=False,
        readonly=False,  # a failed authentication is counted (its own read/write transaction)
        max_content_length=guard.bounded_body(lambda env: 0),
    )
    def metrics(self, **_kwargs):
        refused = self._refused_early()
        if refused:
            return refused
        authorized, company_ids = self._authorized()
        if not authorized:
            _logger.info("metrics: unauthorized request from %s", request.httprequest.remote_addr)
            return request.make_json_response(
                {"error": "send Authorization: Bearer <integration_monitoring.metrics_token>"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="integration"'},
            )
        snapshot = request.env["integration.monitor"].sudo()._metrics_snapshot(company_ids=company_ids)
        body, content_type = render(snapshot, request.httprequest.headers.get("Accept"))
        return request.make_response(body, headers=[("Content-Type", content_type), ("Cache-Control", "no-store")])

    @http.route(
        _health_url,
        type="http",
        auth="public",
        methods=None,  # every method: others than GET get a clear 405 (below)
        csrf=False,
        save_session=False,
        readonly=False,
        max_content_length=guard.bounded_body(lambda env: 0),
    )
    def health(self, **_kwargs):
        refused = self._refused_early()
        if refused:
            return refused
        details, company_ids = self._authorized()
        report = request.env["integration.monitor"].sudo()._health_report(details=details, company_ids=company_ids)
        status = 503 if report["status"] == "down" else 200
        return request.make_json_response(report, status=status, headers={"Cache-Control": "no-store"})
