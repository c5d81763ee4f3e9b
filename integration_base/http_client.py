"""The one HTTP entry point of every connector (no ORM here).

:func:`send` performs a single request with a mandatory timeout and maps
every failure onto the engine's hierarchy:

* connection errors, timeouts and 5xx -> :class:`Unavailable`, 401/403 ->
  :class:`AuthenticationRefused`, 429 -> :class:`RateLimited` (``retry_after``
  taken from the ``Retry-After`` header when present), our own rate limit ->
  :class:`Throttled`;
* other 4xx -> :class:`PermanentError`.

Every call made with a ``rate_key`` (the backend) is noted in the calling
thread's :func:`call_journal`: the engine learns from it that a backend
answers again and closes the outage it had reported (connectors with their
own client call :func:`note_call` the same way).

Retrying is not done here by sleeping in a worker: the caller (a queue job)
turns a :class:`RetryableError` into a new attempt later, with backoff and
jitter. A per-backend :class:`TokenBucket` throttles calls; the circuit
breaker lives on the backend record so that every worker shares it.
Calls go through :class:`netguard.GuardedSession` (the destination must be
allowed, redirects are not followed: a 3xx is a permanent error). Secrets
never reach the log (:mod:`redact`), and an error carries only a short,
sanitized excerpt of the remote answer, since people read it.
"""

import logging
import threading
import time
from contextlib import contextmanager

import requests

from .backoff import parse_retry_after
from .exceptions import AuthenticationRefused, PermanentError, RateLimited, Throttled, Unavailable
from .netguard import BlockedDestination, GuardedSession
from .redact import redact_data, redact_headers, remote_excerpt, sanitize_text

__all__ = ["TokenBucket", "bucket_for", "get_session", "note_call", "redact_data", "redact_headers", "send"]

_logger = logging.getLogger(__name__)

USER_AGENT = "odoo-integration-suite/19.0"
_session = threading.local()


def get_session():
    """The calling thread's guarded session: keep-alive across a worker's jobs."""
    if not hasattr(_session, "value"):
        _session.value = GuardedSession()
        _session.value.headers["User-Agent"] = USER_AGENT
    return _session.value


def _where(url):
    """``url`` without its query string: what an error message names."""
    return url.split("?", 1)[0]


class TokenBucket:
    """Thread-safe token bucket: ``rate`` tokens per second, burst ``capacity``."""

    def __init__(self, rate, capacity=None):
        self.rate = float(rate)
        self.capacity = float(capacity or max(rate, 1))
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def acquire(self, max_wait=1.0):
        """Take a token, waiting at most ``max_wait`` seconds.

        :return: 0 when a token was taken, else the seconds after which one
            will be available (the caller postpones its job that long)
        """
        deadline = time.monotonic() + max_wait
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return 0
                missing = (1 - self.tokens) / self.rate
            if now + missing > deadline:
                return missing
            time.sleep(missing)


_buckets = {}
_buckets_lock = threading.Lock()
_journal = threading.local()


class CallJournal:
    """The outcome of the calls a thread made to each backend (``rate_key``)."""

    def __init__(self):
        #: keys (backends) that answered at least once (an answer that is not an outage)
        self.succeeded = set()
        #: keys (backends) that failed at least once as in an outage (unreachable, 5xx, 401/403, 429)
        self.failed = set()

    def answered(self, key):
        """True when ``key`` answered and never failed as in an outage."""
        return key in self.succeeded and key not in self.failed


@contextmanager
def call_journal():
    """Note the calls made in this block (this thread): ``with call_journal() as journal``."""
    previous = getattr(_journal, "value", None)
    _journal.value = journal = CallJournal()
    try:
        yield journal
    finally:
        _journal.value = previous
        if previous is not None:
            previous.succeeded |= journal.succeeded
            previous.failed |= journal.failed


def note_call(key, ok):
    """Note one call to ``key`` (a backend id) in the current :func:`call_journal`.

    :param ok: False when the call failed as in an outage (no answer, 5xx,
        credentials refused, rate limited); True for any other answer
    """
    journal = getattr(_journal, "value", None)
    if journal is not None and key is not None:
        (journal.succeeded if ok else journal.failed).add(key)


def is_outage_status(status):
    """HTTP statuses that say the system is down, refuses us or throttles us."""
    return status >= 500 or status in (401, 403, 429)


def bucket_for(key, rate, capacity=None):
    """The process-wide bucket of ``key`` (a backend), re-made if its rate or burst changed.

    :param capacity: the burst (default: one second's worth of ``rate``), e.g.
        HubSpot's 190 requests per 10 seconds are ``rate=19, capacity=190``
    """
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None or bucket.rate != float(rate) or bucket.capacity != float(capacity or max(rate, 1)):
            bucket = _buckets[key] = TokenBucket(rate, capacity)
        return bucket


def send(
    method,
    url,
    *,
    timeout,
    headers=None,
    json=None,
    data=None,
    idempotency_key=None,
    rate=None,
    rate_key=None,
    burst=None,
):
    """Perform one HTTP request and classify its outcome.

    :param timeout: seconds (connect and read); mandatory, never ``None``
    :param idempotency_key: sent as ``Idempotency-Key`` so that a retried
        call has its effect once at the receiver
    :param rate: calls per second allowed for ``rate_key`` (no limit if falsy)
    :param burst: calls allowed at once before ``rate`` applies (default: ``rate``)
    :return: the :class:`requests.Response` of a 2xx/3xx answer
    :raise Throttled: our own rate limit reached (no call made)
    :raise RateLimited: 429
    :raise Unavailable: connection error, timeout, 5xx
    :raise AuthenticationRefused: 401, 403
    :raise PermanentError: any other 4xx
        (all but the first carry the answer as ``response``)
    """
    if not timeout or timeout <= 0:
        raise ValueError("an outbound request needs a positive timeout")
    headers = dict(headers or {})
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    if rate:
        wait = bucket_for(rate_key or url, rate, burst).acquire()
        if wait:
            raise Throttled(f"rate limit reached for {rate_key or url}", retry_after=wait)
    where = _where(url)
    response = _request(method, url, where, headers, json, data, timeout, rate_key)
    status = response.status_code
    note_call(rate_key, not is_outage_status(status))
    if status < 300:
        return response
    raise _answer_error(method, where, response, headers)


def _request(method, url, where, headers, json, data, timeout, rate_key):
    """The request itself; a call that got no answer raises (outage noted)."""
    started = time.monotonic()
    try:
        response = get_session().request(method, url, headers=headers, json=json, data=data, timeout=timeout)
    except BlockedDestination as exc:
        raise PermanentError(
            f"{method} {where} refused: {exc}",
            hint="A system administrator checks the backend's API URL (and the allowed hosts).",
        ) from exc
    except requests.Timeout as exc:
        _logger.info("%s %s timed out after %ss", method, where, timeout)
        note_call(rate_key, False)
        raise Unavailable(f"{method} {where} timed out after {timeout}s") from exc
    except requests.RequestException as exc:
        _logger.info("%s %s failed: %s", method, where, exc.__class__.__name__)
        note_call(rate_key, False)
        raise Unavailable(
            f"{method} {where} failed: {exc.__class__.__name__}: {sanitize_text(exc, limit=160)}"
        ) from exc
    _logger.debug(
        "%s %s -> %s in %.3fs headers=%s",
        method,
        where,
        response.status_code,
        time.monotonic() - started,
        redact_headers(headers),
    )
    return response


def _answer_error(method, where, response, headers):
    """The engine's error for an answer of 300 or more, carrying the answer as ``response``."""
    status = response.status_code
    # what we sent as credentials never comes back to people in an echo
    secrets = [value.partition(" ")[2] or value for value in headers.values() if isinstance(value, str)]
    answer = remote_excerpt(response, secrets)
    if status == 429:
        error = RateLimited(
            f"{method} {where} answered 429 (rate limited): {answer}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    elif status >= 500:
        error = Unavailable(
            f"{method} {where} answered {status}: {answer}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    elif status in (401, 403):
        error = AuthenticationRefused(
            f"{method} {where} answered {status}: {answer}",
            hint="The receiving system refuses the backend's credentials: an administrator checks the API key.",
        )
    elif status >= 400:
        error = PermanentError(
            f"{method} {where} answered {status}: {answer}",
            hint="The receiving system refused the request. Check the data and the backend credentials.",
        )
    else:
        error = PermanentError(
            f"{method} {where} answered {status} (a redirect): redirects are not followed",
            hint="A system administrator sets the backend's API URL to the final address.",
        )
    # callers that treat some answers on their own (a 404 meaning "deleted") read it
    error.response = response
    return error
