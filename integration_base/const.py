"""Constants shared by the engine and the connectors (no ORM here)."""

EVENT_STATES = [
    ("received", "Received"),
    ("queued", "Queued"),
    ("processing", "Processing"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("dead", "Dead"),
    ("ignored", "Ignored"),
    ("rejected", "Rejected"),
]
#: states after which an event needs nothing more
FINAL_STATES = ("done", "ignored", "rejected")

SCHEMA_VERSION = "1.0"

EXCEPTION_CATEGORIES = [
    ("technical", "Technical"),
    ("outage", "System unavailable"),
    ("schema_violation", "Invalid data"),
    ("mapping", "Unreadable data"),
    ("unknown_customer", "Unknown customer"),
    ("ambiguous_customer", "Ambiguous customer"),
    ("amount_mismatch", "Amount mismatch"),
    ("currency", "Unknown or inactive currency"),
    ("ownership_conflict", "Ownership conflict"),
    ("missing_record", "Missing record"),
    ("payment_failed", "Failed payment"),
    ("dispute", "Dispute"),
    ("refund_exceeds", "Refund exceeds paid amount"),
    ("reconciliation", "Reconciliation difference"),
    ("business", "Other business rule"),
]
#: categories a finance person resolves (the rest are technical)
BUSINESS_CATEGORIES = tuple(code for code, _label in EXCEPTION_CATEGORIES if code not in ("technical", "outage"))
#: states of an exception that still needs someone
OPEN_EXCEPTION_STATES = ("new", "in_progress")

SEVERITIES = [("low", "Low"), ("medium", "Medium"), ("high", "High"), ("critical", "Critical")]

#: request headers whose values are stored and logged as received (every other
#: header is stored as ``***``: an allow-list, so that the next vendor's
#: ``X-Whatever-Key`` is masked too); connectors add theirs with
#: ``_webhook_safe_headers``
SAFE_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "content-encoding",
        "content-length",
        "content-type",
        "host",
        "idempotency-key",
        "traceparent",
        "tracestate",
        "transfer-encoding",
        "user-agent",
        "x-correlation-id",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
        "x-request-id",
    }
)
#: keys whose values are masked in logged request/response bodies
SENSITIVE_KEYS = frozenset({"api_key", "secret", "password", "token", "authorization", "card", "iban"})

CORRELATION_HEADER = "X-Correlation-ID"
DEFAULT_CHANNEL = "root.integration"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
#: longest event id and event type accepted (longer: HTTP 400); ids of real
#: systems are far shorter (Stripe ~30, HubSpot ~60, Zendesk 36 characters)
MAX_EXTERNAL_ID_LENGTH = 255
MAX_EVENT_TYPE_LENGTH = 255
#: deepest nesting of lists and objects accepted in a webhook body (HTTP 400)
MAX_JSON_DEPTH = 64
#: characters of a remote system's error answer shown to people
REMOTE_EXCERPT_CHARS = 200
#: failed authentications from one client address on one kind of public route
#: within the window, before that address gets 429 until the window ends
AUTH_FAILURE_LIMIT_PARAM = "integration_base.auth_failure_limit"
AUTH_FAILURE_WINDOW_PARAM = "integration_base.auth_failure_window"
DEFAULT_AUTH_FAILURE_LIMIT = 20
DEFAULT_AUTH_FAILURE_WINDOW = 60
#: seconds a sender waits before retrying while the database cannot be reached
NO_DATABASE_RETRY_AFTER = 30
