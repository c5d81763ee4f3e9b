"""Monitoring endpoints: Prometheus metrics and a health check.

``GET /integration/metrics``
    Prometheus text exposition (OpenMetrics when the scraper asks for it).
    Needs ``Authorization: Bearer <integration_monitoring.metrics_token>`` or
    the session of an integration manager; 401 otherwise.

``GET /integration/health``
    ``{"status": "ok|degraded|down", "checks": {...}}``; HTTP 200, or 503
    when the service is down. Anyone may ask (load balancers, uptime
    probes); the details (counts, backend names) are given only to the
    callers the metrics endpoint accepts.
"""

import hmac
import logging

from odoo import http
from odoo.http import request

from ..const import TOKEN_PARAM
from ..metrics import render

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "integration_base.group_integration_manager"


class IntegrationMonitoringController(http.Controller):
    _metrics_url = "/integration/metrics"
    _health_url = "/integration/health"

    def _authorized(self):
        """A valid bearer token, or the session of an integration manager.

        A request that sends a bearer token is judged on the token alone: a
        wrong token is refused even with a manager's session cookie.
        """
        header = request.httprequest.headers.get("Authorization", "")
        scheme, _sep, token = header.partition(" ")
        if header:
            expected = request.env["ir.config_parameter"].sudo().get_param(TOKEN_PARAM) or ""
            token = token.strip()
            return (
                scheme.lower() == "bearer"
                and bool(expected)
                and bool(token)
                and hmac.compare_digest(token.encode(), expected.encode())
            )
        user = request.env.user
        return bool(user) and not user._is_public() and user.has_group(MANAGER_GROUP)

    @http.route(
        _metrics_url, type="http", auth="public", methods=["GET"], csrf=False, save_session=False, readonly=True
    )
    def metrics(self, **_kwargs):
        if not self._authorized():
            _logger.info("metrics: unauthorized request from %s", request.httprequest.remote_addr)
            return request.make_json_response(
                {"error": "send Authorization: Bearer <integration_monitoring.metrics_token>"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="integration"'},
            )
        snapshot = request.env["integration.monitor"].sudo()._metrics_snapshot()
        body, content_type = render(snapshot, request.httprequest.headers.get("Accept"))
        return request.make_response(body, headers=[("Content-Type", content_type), ("Cache-Control", "no-store")])

    @http.route(
        _health_url, type="http", auth="public", methods=["GET"], csrf=False, save_session=False, readonly=False
    )
    def health(self, **_kwargs):
        report = request.env["integration.monitor"].sudo()._health_report(details=self._authorized())
        status = 503 if report["status"] == "down" else 200
        return request.make_json_response(report, status=status, headers={"Cache-Control": "no-store"})
