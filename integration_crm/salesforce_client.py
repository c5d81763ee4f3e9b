"""The Salesforce REST API as the connector uses it (no ORM here).

**Tokens**: the OAuth 2.0 client credentials flow of a connected app --
``POST <My Domain>/services/oauth2/token`` with ``grant_type=client_credentials``,
the consumer key and secret -- answers ``{"access_token", "instance_url",
"token_type", "issued_at", "signature", ...}`` and no expiry: the token lives
as long as the connected app's session policy allows. It is kept per process
and per connected app (never in the database); a ``401`` (``INVALID_SESSION_ID``)
drops it, fetches a new one and makes the call once more.

**Calls** go to the token's ``instance_url`` through integration_base's
:func:`http_client.send` (timeout, errors mapped, redacted logs, the backend's
rate limit). Salesforce answers errors as arrays of ``{"errorCode",
"message"}``: they are read into the error's text; ``REQUEST_LIMIT_EXCEEDED``
(the organization's daily API limit) is a :class:`RateLimited`.
"""

import threading
from urllib.parse import quote

from odoo.addons.integration_base.exceptions import AuthenticationRefused, IntegrationError, PermanentError, RateLimited
from odoo.addons.integration_base.http_client import send

from .salesforce import API_VERSION, PAGE_SIZE, errors

#: the daily API limit is rolling over 24 h: look again in a quarter of an hour
LIMIT_RETRY_SECONDS = 900

_tokens = {}
_tokens_lock = threading.Lock()


class SalesforceError(PermanentError):
    """Salesforce refused a call; ``codes`` are its ``errorCode`` values."""

    def __init__(self, message, codes=(), **kwargs):
        super().__init__(message, **kwargs)
        self.codes = tuple(codes)


class SalesforceClient:
    """One connected app's view of the REST API.

    :param login_url: the organization's My Domain URL (the token endpoint's host)
    """

    def __init__(self, login_url, client_id, client_secret, timeout, rate=None, key=None):
        self.login_url = login_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self.rate = rate
        self.key = key or self.login_url
        self._token_key = (self.login_url, client_id)

    # ------------------------------------------------------------------
    # Token
    # ------------------------------------------------------------------
    def token(self, renew=False):
        """``{"access_token", "instance_url", ...}``, fetched once per process (again when ``renew``)."""
        with _tokens_lock:
            cached = None if renew else _tokens.get(self._token_key)
        if cached:
            return cached
        response = self._send(
            "POST",
            f"{self.login_url}/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
            what="the token request",
        )
        token = response.json()
        if not token.get("access_token") or not token.get("instance_url"):
            raise PermanentError("Salesforce answered the token request without access_token and instance_url")
        with _tokens_lock:
            _tokens[self._token_key] = token
        return token

    def _send(self, method, url, what, headers=None, json=None, data=None):
        try:
            return send(
                method,
                url,
                timeout=self.timeout,
                headers=headers,
                json=json,
                data=data,
                rate=self.rate,
                rate_key=self.key,
            )
        except IntegrationError as exc:
            error = self._readable(exc, what)
            if error is exc:
                raise
            raise error from exc

    @staticmethod
    def _readable(exc, what):
        """The error of a refused call, with Salesforce's error codes in its text.

        A refusal of the credentials (401/403) stays an :class:`AuthenticationRefused`
        (retried slowly, one exception for the backend), the organization's
        daily limit becomes a :class:`RateLimited`, another refusal a
        :class:`SalesforceError` that knows its codes.
        """
        codes = errors(exc.response) if exc.response is not None else None
        if not codes:
            return exc
        text = "; ".join(f"{item['errorCode']}: {item.get('message') or ''}".strip() for item in codes)
        names = [item["errorCode"] for item in codes]
        message = f"Salesforce refused {what} ({exc.response.status_code}): {text}"
        if "REQUEST_LIMIT_EXCEEDED" in names:
            error = RateLimited(message, retry_after=LIMIT_RETRY_SECONDS)
        elif isinstance(exc, AuthenticationRefused):
            error = AuthenticationRefused(message, hint=exc.hint)
        elif isinstance(exc, PermanentError):
            error = SalesforceError(
                message,
                codes=names,
                hint="Check the connected app (consumer key and secret, run-as user, permissions) and the "
                "fields named, then retry.",
            )
        else:
            return exc
        error.response = exc.response
        return error

    # ------------------------------------------------------------------
    # Calls
    # ------------------------------------------------------------------
    def call(self, method, path, json=None, headers=None):
        """One call to the instance (``path`` from ``/services/...``); a 401 renews the token once."""
        for renew in (False, True):
            token = self.token(renew=renew)
            all_headers = dict(headers or {}, Authorization=f"Bearer {token['access_token']}")
            try:
                return self._send(
                    method, f"{token['instance_url'].rstrip('/')}{path}", f"{method} {path}", all_headers, json
                )
            except AuthenticationRefused as exc:
                if renew or exc.response is None or exc.response.status_code != 401:
                    raise
        raise AssertionError("unreachable")

    def query(self, soql, page_size):
        """The first page of a SOQL query (``Sforce-Query-Options: batchSize`` within Salesforce's bounds)."""
        size = min(max(page_size or PAGE_SIZE[0], PAGE_SIZE[0]), PAGE_SIZE[1])
        path = f"/services/data/{API_VERSION}/query/?q={quote(soql)}"
        return self.call("GET", path, headers={"Sforce-Query-Options": f"batchSize={size}"}).json()

    def next_page(self, next_records_url):
        return self.call("GET", next_records_url).json()

    def deleted(self, sobject, start, end):
        """``getDeleted`` of ``sobject`` between two SOQL date-times."""
        path = f"/services/data/{API_VERSION}/sobjects/{sobject}/deleted/?start={quote(start)}&end={quote(end)}"
        return self.call("GET", path).json()

    def update(self, sobject, record_id, values):
        """``PATCH`` a record's fields (Salesforce answers 204 No Content)."""
        return self.call("PATCH", f"/services/data/{API_VERSION}/sobjects/{sobject}/{record_id}", json=values)
