"""Error hierarchy of the engine.

Everything a connector or an applier raises falls in one of two families:

* :class:`RetryableError` -- the same work may succeed later (timeouts, 5xx,
  locks, an object that has not arrived yet; :class:`RateLimited` for 429
  and our own rate limit). The event is retried with exponential backoff and
  jitter, then dead-lettered.
* :class:`PermanentError` -- retrying cannot help (mapping, schema, business
  rule). The event fails at once and an exception is opened for a person.

The webhook route has its own family, :class:`WebhookError`, whose members
carry the HTTP status that tells the sender what to do.
"""


class IntegrationError(Exception):
    """Base of every error the engine knows how to handle."""

    category = "technical"
    severity = "medium"
    #: the HTTP answer behind the error, when :func:`http_client.send` raised it
    response = None

    def __init__(self, message, category=None, severity=None, hint=None, records=None):
        super().__init__(message)
        self.message = message
        if category:
            self.category = category
        if severity:
            self.severity = severity
        #: plain words telling a person what to do
        self.hint = hint
        #: Odoo records the problem is about (linked on the exception)
        self.records = records


class RetryableError(IntegrationError):
    """Transient failure: retry later, honouring ``retry_after`` if given."""

    def __init__(self, message, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RateLimited(RetryableError):
    """Calls are throttled: our own rate limit, or the peer answered 429.

    Retried after ``retry_after`` like any retryable error, but not a sign
    that the peer is down: the circuit breaker does not count it.
    """


class PermanentError(IntegrationError):
    """Failure that a retry cannot fix: fail the event, open an exception."""


class SchemaViolation(PermanentError):
    """A canonical message does not match its JSON Schema."""

    category = "schema_violation"

    def __init__(self, message, pointer="", **kwargs):
        super().__init__(message, **kwargs)
        #: JSON pointer of the offending field inside the message
        self.pointer = pointer


class BusinessError(PermanentError):
    """A business rule refuses the message (unknown customer, amount mismatch...)."""

    category = "business"


class AmbiguousMatch(BusinessError):
    """Several Odoo records match: a person must choose one."""

    category = "ambiguous_customer"

    def __init__(self, message, candidates, canonical_type, external_id, **kwargs):
        super().__init__(message, **kwargs)
        self.candidates = candidates
        self.canonical_type = canonical_type
        self.external_id = external_id


class WebhookError(Exception):
    """An inbound request is refused with ``status`` and a reason."""

    status = 400

    def __init__(self, reason, status=None):
        super().__init__(reason)
        self.reason = reason
        if status:
            self.status = status


class SignatureError(WebhookError):
    """Missing, stale or invalid signature (HTTP 401: never retried)."""

    status = 401


class EventRejected(WebhookError):
    """Authentic but refused by a rule (e.g. test event on a live backend).

    When the connector knows the event's ``identity`` (the dict
    ``_webhook_identity`` returns), the route stores the event in state
    *rejected* with the reason, so that people see it; it is never processed.
    """

    status = 422

    def __init__(self, reason, status=None, identity=None):
        super().__init__(reason, status=status)
        self.identity = identity


class MissingReference(RetryableError):
    """A referenced object (customer, invoice...) is not in Odoo yet.

    Retried (it may be on its way: sources do not deliver in order), then an
    exception lets a person link the right record.
    """

    def __init__(self, message, canonical_type, external_id, **kwargs):
        kwargs.setdefault("category", "unknown_customer" if canonical_type == "customer" else "missing_record")
        super().__init__(message, **kwargs)
        self.canonical_type = canonical_type
        self.external_id = external_id
