"""What every public route of the suite does before and around its own work.

* :func:`bounded_body` -- the route's ``max_content_length``: Odoo calls it
  just before dispatching, before it parses any form, in database and
  database-less mode alike; it reads the body with a bound
  (:mod:`..body`) and answers 413 (or 400) at once.
* :func:`no_database` -- 503 with ``Retry-After``: the database cannot be
  reached, the sender must keep the request and retry (a 404 would tell it
  to drop it).
* :class:`AuthGuard` -- failed authentications: counted per backend
  (``integration.counter``, for monitoring) and per client address
  (``integration.auth.throttle``): 429 with ``Retry-After`` once an address
  failed too often.
* :func:`json_error` -- the JSON refusal every route answers, with the
  status and headers that tell the sender what to do.
"""

import ipaddress
import logging

import psycopg2
from psycopg2 import errorcodes
from werkzeug.exceptions import abort

from odoo import SUPERUSER_ID
from odoo.http import request

from ..body import ENVIRON_KEY, BodyTooLarge, MalformedBody, read_bounded, serve_from_memory
from ..const import (
    AUTH_FAILURE_LIMIT_PARAM,
    AUTH_FAILURE_WINDOW_PARAM,
    DEFAULT_AUTH_FAILURE_LIMIT,
    DEFAULT_AUTH_FAILURE_WINDOW,
    NO_DATABASE_RETRY_AFTER,
)

_logger = logging.getLogger(__name__)

#: PostgreSQL errors that mean "busy, retry": Odoo retries them itself
CONCURRENCY_CODES = (errorcodes.SERIALIZATION_FAILURE, errorcodes.DEADLOCK_DETECTED, errorcodes.LOCK_NOT_AVAILABLE)


def json_error(code, reason, retry_after=None, headers=None, **body):
    """A JSON refusal: ``{"error": reason, **body}`` with HTTP status ``code``."""
    headers = dict(headers or {})
    if retry_after:
        headers["Retry-After"] = str(int(retry_after))
    if code in (400, 413):
        headers["Connection"] = "close"  # the rest of the body may be unread
    return request.make_json_response(dict(body, error=reason), status=code, headers=headers)


def no_database():
    """503 + Retry-After: the database cannot be reached now."""
    return json_error(
        503,
        "the database cannot be reached: keep the request and retry later",
        retry_after=NO_DATABASE_RETRY_AFTER,
        status="down",
    )


def method_not_allowed(allowed):
    return json_error(405, f"method not allowed: send {', '.join(allowed)}", headers={"Allow": ", ".join(allowed)})


def is_database_unreachable(exc):
    """True for a lost or refused database connection (not a concurrency conflict)."""
    if isinstance(exc, psycopg2.InterfaceError):
        return True
    return isinstance(exc, psycopg2.OperationalError) and getattr(exc, "pgcode", None) not in CONCURRENCY_CODES


def _wsgi_request():
    # Odoo's HTTPRequest wraps werkzeug's; only the latter holds the raw input stream
    httprequest = request.httprequest
    return getattr(httprequest, "_HTTPRequest__wrapped", httprequest)


def bounded_body(limit_of):
    """A ``max_content_length`` for ``@http.route`` that really bounds the body.

    :param limit_of: ``limit_of(env)`` -> bytes allowed; ``env`` is None when
        there is no database
    """

    def max_content_length(_controller):
        env = request.env(user=SUPERUSER_ID) if request.db and request.env is not None else None
        limit = limit_of(env)
        wsgi_request = _wsgi_request()
        try:
            data = read_bounded(wsgi_request.environ, limit)
        except BodyTooLarge:
            abort(json_error(413, f"body larger than {limit} bytes"))
        except MalformedBody as exc:
            abort(json_error(400, str(exc)))
        serve_from_memory(wsgi_request, data)
        return limit

    return max_content_length


def request_body():
    """The body :func:`bounded_body` read (empty when the route declared none)."""
    return _wsgi_request().environ.get(ENVIRON_KEY, b"")


class AuthGuard:
    """Failed authentications of one kind of route (``scope``): counted and throttled."""

    def __init__(self, scope):
        self.scope = scope

    @staticmethod
    def client_address():
        """The caller's address (behind a proxy: Odoo's ``proxy_mode``); IPv6 by /64."""
        address = request.httprequest.remote_addr or "unknown"
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address
        if ip.version == 6:
            if ip.ipv4_mapped:
                return str(ip.ipv4_mapped)
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
        return str(ip)

    def _key(self):
        return f"{self.scope}|{self.client_address()}"

    @staticmethod
    def _settings(env):
        params = env["ir.config_parameter"].sudo()
        try:
            limit = int(params.get_param(AUTH_FAILURE_LIMIT_PARAM, DEFAULT_AUTH_FAILURE_LIMIT))
            window = int(params.get_param(AUTH_FAILURE_WINDOW_PARAM, DEFAULT_AUTH_FAILURE_WINDOW))
        except ValueError:
            limit, window = DEFAULT_AUTH_FAILURE_LIMIT, DEFAULT_AUTH_FAILURE_WINDOW
        return max(limit, 1), max(window, 1)

    def retry_after(self, env):
        """Seconds this client must wait (0: it may be heard)."""
        limit, window = self._settings(env)
        return env["integration.auth.throttle"].sudo()._retry_after(self._key(), limit, window)

    def failed(self, env, backend=None):
        """Count one failed authentication (own transaction: read-only and rolled back requests count too)."""
        _limit, window = self._settings(env)
        key = self._key()
        with env.registry.cursor() as cr:
            other = env(cr=cr, su=True)
            other["integration.auth.throttle"]._fail(key, window)
            other["integration.counter"]._add("auth_failures", backend.with_env(other) if backend else None, self.scope)
