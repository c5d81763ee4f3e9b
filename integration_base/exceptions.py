"""Error hierarchy of the engine.

Everything a connector or an applier raises falls in one of two families:

* :class:`RetryableError` -- the same work may succeed later (timeouts, 5xx,
  locks, an object that has not arrived yet; :class:`RateLimited` for 429
  and our own rate limit). The event is retried with exponential backoff and
  jitter (``retry_after`` is a floor, never a ceiling), then dead-lettered.
  Waiting that is nobody's fault (a rate limit, a circuit open, another job
  working on the same object) does not use one of the event's attempts
  (``burns_attempt``).
* :class:`PermanentError` -- retrying cannot help (mapping, schema, business
  rule). The event fails at once and an exception is opened for a person.

A failure shared by every event of a backend at once carries a ``cause``
(:data:`CAUSE_UNAVAILABLE`, :data:`CAUSE_AUTH_REFUSED`,
:data:`CAUSE_RATE_LIMITED`): instead of one exception per event, the events
are grouped under one exception per backend and cause, which closes itself
when a call to the backend succeeds again (``integration.exception``'s
``_report_cause`` / ``_clear_causes``).

The webhook route has its own family, :class:`WebhookError`, whose members
carry the HTTP status that tells the sender what to do.
"""

#: the backend cannot be reached: connection refused, timeouts, 5xx, circuit open
CAUSE_UNAVAILABLE = "unavailable"
#: the backend refuses our credentials (401/403)
CAUSE_AUTH_REFUSED = "auth_refused"
#: the backend answers 429
CAUSE_RATE_LIMITED = "rate_limited"


class IntegrationError(Exception):
    """Base of every error the engine knows how to handle."""

    category = "technical"
    severity = "medium"
    #: a failure the whole backend has (see the module docstring), or None
    cause = None
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
    """Transient failure: retry later, not before ``retry_after`` seconds if given."""

    #: False: waiting for this does not use one of the event's attempts
    burns_attempt = True
    #: True: the delay grows with every retry (exponential backoff, ``retry_after``
    #: as its floor); False: retry after ``retry_after`` plus a little jitter
    backoff = True

    def __init__(self, message, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(RetryableError):
    """The system cannot be reached: connection refused, timeout, 5xx."""

    cause = CAUSE_UNAVAILABLE


class CircuitOpen(Unavailable):
    """The backend's circuit breaker is open: no call was made, no attempt used."""

    burns_attempt = False
    backoff = False


class AuthenticationRefused(RetryableError):
    """The system refuses our credentials (401, 403).

    Every call fails until someone fixes the credentials, so it is retried
    slowly (and grouped under one exception) rather than failed per event.
    """

    cause = CAUSE_AUTH_REFUSED
    category = "technical"


class RateLimited(RetryableError):
    """The peer answered 429: retried no sooner than its ``Retry-After``,
    later and later while it lasts, without using the event's attempts.

    Not a sign that the peer is down: the circuit breaker does not count it.
    """

    cause = CAUSE_RATE_LIMITED
    burns_attempt = False


class Throttled(RateLimited):
    """Our own rate limit (the backend's token bucket) is reached: the call is
    made as soon as a token is free. Routine, not a problem of the peer."""

    cause = None
    backoff = False


class ConcurrentUpdate(RetryableError):
    """Another job committed work on the same object after this one began:
    retried at once in a new transaction that sees it (routine, quiet)."""

    burns_attempt = False
    backoff = False


class PermanentError(IntegrationError):
    """Failure that a retry cannot fix: fail the event, open an exception."""


class SchemaViolation(PermanentError):
    """A canonical message does not match its JSON Schema.

    ``problems`` lists every offending value, each a dict of ``pointer``
    (JSON pointer inside the message), ``rule`` (the JSON Schema keyword
    that refused it: ``maximum``, ``enum``, ``required``...), ``value`` and
    the rule's parameters (``limit``, ``allowed``, ``other``...): enough for
    plain words (``words.problem_text``) and for a guided correction.
    """

    category = "schema_violation"

    def __init__(self, message, pointer="", problems=None, canonical_type=None, external_id=None, **kwargs):
        super().__init__(message, **kwargs)
        #: JSON pointer of the (first) offending field inside the message
        self.pointer = pointer
        self.problems = problems or []
        #: the refused message's type and external id
        self.canonical_type = canonical_type
        self.external_id = external_id


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
    """An inbound request is refused with ``status`` and a reason.

    ``retry_after`` (seconds) goes out as the ``Retry-After`` header of a 429
    or 503: when the sender may try again.
    """

    status = 400

    def __init__(self, reason, status=None, retry_after=None):
        super().__init__(reason)
        self.reason = reason
        if status:
            self.status = status
        self.retry_after = retry_after


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
