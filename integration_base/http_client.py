"""The one HTTP entry point of every connector (no ORM here).

:func:`send` performs a single request with a mandatory timeout and maps
every failure onto the engine's hierarchy:

* connection errors, timeouts and 5xx -> :class:`RetryableError`, 429 and
  our own rate limit -> :class:`RateLimited` (``retry_after`` taken from the
  ``Retry-After`` header when present);
* other 4xx -> :class:`PermanentError`.

Retrying is not done here by sleeping in a worker: the caller (a queue job)
turns a :class:`RetryableError` into a new attempt later, with backoff and
jitter. A per-backend :class:`TokenBucket` throttles calls; the circuit
breaker lives on the backend record so that every worker shares it.
Secrets never reach the log: headers and JSON keys named in
:data:`const.SENSITIVE_HEADERS` / :data:`const.SENSITIVE_KEYS` are masked.
"""

import logging
import threading
import time

import requests

from .backoff import parse_retry_after
from .const import SENSITIVE_HEADER_WORDS, SENSITIVE_HEADERS, SENSITIVE_KEYS
from .exceptions import PermanentError, RateLimited, RetryableError

_logger = logging.getLogger(__name__)

USER_AGENT = "odoo-integration-suite/19.0"
_session = threading.local()


def _get_session():
    # One pooled session per thread: keep-alive across a worker's jobs.
    if not hasattr(_session, "value"):
        _session.value = requests.Session()
        _session.value.headers["User-Agent"] = USER_AGENT
    return _session.value


def is_sensitive_header(name):
    name = name.lower()
    return name in SENSITIVE_HEADERS or any(word in name for word in SENSITIVE_HEADER_WORDS)


def redact_headers(headers):
    """Copy of ``headers`` with sensitive values masked."""
    return {key: ("***" if is_sensitive_header(key) else value) for key, value in (headers or {}).items()}


def redact_data(data):
    """Copy of a JSON-like structure with sensitive keys masked."""
    if isinstance(data, dict):
        return {
            key: ("***" if str(key).lower() in SENSITIVE_KEYS else redact_data(value)) for key, value in data.items()
        }
    if isinstance(data, list):
        return [redact_data(value) for value in data]
    return data


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


def bucket_for(key, rate):
    """The process-wide bucket of ``key`` (a backend), re-made if its rate changed."""
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None or bucket.rate != float(rate):
            bucket = _buckets[key] = TokenBucket(rate)
        return bucket


def send(method, url, *, timeout, headers=None, json=None, data=None, idempotency_key=None, rate=None, rate_key=None):
    """Perform one HTTP request and classify its outcome.

    :param timeout: seconds (connect and read); mandatory, never ``None``
    :param idempotency_key: sent as ``Idempotency-Key`` so that a retried
        call has its effect once at the receiver
    :param rate: calls per second allowed for ``rate_key`` (no limit if falsy)
    :return: the :class:`requests.Response` of a 2xx/3xx answer
    :raise RateLimited: 429, or our own rate limit reached
    :raise RetryableError: connection error, timeout, 5xx
    :raise PermanentError: any other 4xx
        (both carry the answer as ``response``)
    """
    if not timeout or timeout <= 0:
        raise ValueError("an outbound request needs a positive timeout")
    headers = dict(headers or {})
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    if rate:
        wait = bucket_for(rate_key or url, rate).acquire()
        if wait:
            raise RateLimited(f"rate limit reached for {rate_key or url}", retry_after=wait)
    started = time.monotonic()
    try:
        response = _get_session().request(method, url, headers=headers, json=json, data=data, timeout=timeout)
    except requests.Timeout as exc:
        _logger.info("%s %s timed out after %ss", method, url, timeout)
        raise RetryableError(f"{method} {url} timed out after {timeout}s") from exc
    except requests.RequestException as exc:
        _logger.info("%s %s failed: %s", method, url, exc.__class__.__name__)
        raise RetryableError(f"{method} {url} failed: {exc.__class__.__name__}: {exc}") from exc
    elapsed = time.monotonic() - started
    _logger.debug(
        "%s %s -> %s in %.3fs headers=%s", method, url, response.status_code, elapsed, redact_headers(headers)
    )
    status = response.status_code
    if status == 429:
        error = RateLimited(
            f"{method} {url} answered 429 (rate limited): {response.text[:300]}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    elif status >= 500:
        error = RetryableError(
            f"{method} {url} answered {status}: {response.text[:300]}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    elif status >= 400:
        error = PermanentError(
            f"{method} {url} answered {status}: {response.text[:500]}",
            hint="The receiving system refused the request. Check the data and the backend credentials.",
        )
    else:
        return response
    # callers that treat some answers on their own (a 404 meaning "deleted") read it
    error.response = response
    raise error
