"""The Stripe API client of the connector (no ORM here).

A thin layer over the official ``stripe`` SDK (``StripeClient.raw_request``:
authentication, the pinned ``Stripe-Version``, form encoding, typed errors)
that keeps the engine's rules:

* every call has the backend's timeout and no hidden SDK retries: a failed
  call raises, and the job that made it is retried later with backoff;
* every call first takes a token from the backend's rate limiter
  (``integration_base.http_client.bucket_for``), capped by Stripe's limits
  (100 operations/s live, 25 in test mode);
* SDK errors are mapped onto the engine's hierarchy: connection errors and
  5xx :class:`Unavailable`, a refused key :class:`AuthenticationRefused`,
  429 :class:`RateLimited` (``Retry-After`` honoured as a floor), the local
  limit :class:`Throttled`, other 4xx permanent, 404 the more precise
  :class:`StripeNotFound`; every call is noted in the engine's call journal
  (an outage of the backend closes itself when Stripe answers again);
* answers are plain dicts (the JSON Stripe sent), as webhook payloads are;
* the SDK talks through the engine's guarded session: the API base must be
  an allowed destination (``api.stripe.com``, or allow-listed), redirects
  are not followed.
"""

import logging

import stripe

from odoo.addons.integration_base.backoff import parse_retry_after
from odoo.addons.integration_base.exceptions import (
    AuthenticationRefused,
    PermanentError,
    RateLimited,
    Throttled,
    Unavailable,
)
from odoo.addons.integration_base.http_client import bucket_for, get_session, is_outage_status, note_call
from odoo.addons.integration_base.netguard import BlockedDestination
from odoo.addons.integration_base.redact import sanitize_text

from .const import DEFAULT_API_BASE, RATE_LIMIT_LIVE, RATE_LIMIT_TEST, STRIPE_API_VERSION

_logger = logging.getLogger(__name__)


class StripeNotFound(PermanentError):
    """The object does not exist at Stripe (HTTP 404)."""

    category = "missing_record"


class StripeResult:
    """What an outbound call returns to the engine (status code + body)."""

    def __init__(self, data, status_code=200):
        self.data = data
        self.status_code = status_code

    def json(self):
        return self.data


def effective_rate(rate_limit, livemode):
    """The calls per second allowed: the backend's limit, capped by Stripe's."""
    cap = RATE_LIMIT_LIVE if livemode else RATE_LIMIT_TEST
    return min(rate_limit, cap) if rate_limit and rate_limit > 0 else cap


class StripeApi:
    """One backend's view of the Stripe API."""

    def __init__(
        self, api_key, *, api_base=None, api_version=STRIPE_API_VERSION, timeout=15.0, rate=None, rate_key=None
    ):
        if not api_key:
            raise PermanentError(
                "the Stripe backend has no secret API key",
                category="mapping",
                hint="A system administrator enters the secret key (sk_...) on the backend, then retries.",
            )
        if not timeout or timeout <= 0:
            raise ValueError("a Stripe call needs a positive timeout")
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.rate = rate
        self.rate_key = rate_key
        self.client = stripe.StripeClient(
            api_key,
            stripe_version=api_version or STRIPE_API_VERSION,
            base_addresses={"api": self.api_base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout, session=get_session()),
        )

    # ------------------------------------------------------------------
    def request(self, method, path, params=None, idempotency_key=None):
        """Call ``path`` (``/v1/...``) and return the decoded JSON object.

        :param params: query (GET/DELETE) or form (POST) parameters; nested
            dicts and lists are encoded the way Stripe expects
        :param idempotency_key: sent as ``Idempotency-Key`` (POST only)
        :raise Throttled: our own rate limit (no call made)
        :raise RateLimited: rate limited by Stripe
        :raise Unavailable: timeout, connection error, 5xx
        :raise AuthenticationRefused: the API key was refused
        :raise StripeNotFound: 404
        :raise PermanentError: any other refusal (bad request, bad key...)
        """
        if self.rate:
            wait = bucket_for(self.rate_key or self.api_base, self.rate).acquire()
            if wait:
                raise Throttled(f"rate limit reached for Stripe ({self.rate}/s)", retry_after=wait)
        kwargs = dict(params or {})
        if idempotency_key:
            kwargs["idempotency_key"] = idempotency_key
        try:
            response = self.client.raw_request(method, path, **kwargs)
        except stripe.StripeError as exc:
            status = exc.http_status
            note_call(self.rate_key, status is not None and not is_outage_status(status))
            raise self._map_error(method, path, exc) from exc
        note_call(self.rate_key, True)
        _logger.debug("stripe %s %s -> %s (request %s)", method.upper(), path, response.code, response.request_id)
        return response.data

    def get(self, path, **params):
        return self.request("get", path, params)

    def post(self, path, params=None, idempotency_key=None):
        return self.request("post", path, params, idempotency_key=idempotency_key)

    def delete(self, path):
        return self.request("delete", path)

    def list_all(self, path, params=None, max_pages=100, page_size=100):
        """Every object of a list endpoint, following ``starting_after``.

        :param page_size: ``limit`` of each page; None sends none (Stripe's
            default, for the few sub-lists that take no parameter)
        """
        params = dict(params or {})
        if page_size:
            params["limit"] = page_size
        objects = []
        for _page in range(max_pages):
            page = self.get(path, **params)
            objects += page.get("data") or []
            if not page.get("has_more") or not page.get("data"):
                return objects
            params["starting_after"] = page["data"][-1]["id"]
        raise PermanentError(f"{path}: more than {max_pages} pages")

    # ------------------------------------------------------------------
    @staticmethod
    def _map_error(method, path, exc):
        status = exc.http_status
        what = f"Stripe {method.upper()} {path}"
        if isinstance(exc.__cause__, BlockedDestination):
            return PermanentError(
                f"{what} refused: {exc.__cause__}",
                hint="A system administrator checks the backend's API URL (and the allowed hosts).",
            )
        detail = sanitize_text(exc.user_message or str(exc) or exc.__class__.__name__)
        request_id = f" (request {exc.request_id})" if getattr(exc, "request_id", None) else ""
        if isinstance(exc, stripe.RateLimitError) or status == 429:
            headers = exc.headers or {}
            return RateLimited(
                f"{what}: rate limited by Stripe{request_id}", retry_after=parse_retry_after(headers.get("Retry-After"))
            )
        if isinstance(exc, stripe.APIConnectionError) or status is None or status >= 500:
            return Unavailable(f"{what} failed: {detail}{request_id}")
        if status == 404:
            return StripeNotFound(f"{what}: not found{request_id}")
        if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError) or status in (401, 403):
            return AuthenticationRefused(
                f"{what}: the API key was refused ({detail}){request_id}",
                hint="A system administrator checks the backend's secret key (test or live) and its permissions.",
            )
        return PermanentError(f"{what} refused: {detail}{request_id}")
