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

#: request headers whose values never reach the database or the logs
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "proxy-authorization",
        "stripe-signature",
        "webhook-signature",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-hubspot-signature",
        "x-hubspot-signature-v3",
        "x-zendesk-webhook-signature",
        "x-api-key",
    }
)
#: a header whose name contains one of these words is redacted too
SENSITIVE_HEADER_WORDS = ("signature", "secret", "token", "auth", "cookie", "api-key", "apikey")
#: keys whose values are masked in logged request/response bodies
SENSITIVE_KEYS = frozenset({"api_key", "secret", "password", "token", "authorization", "card", "iban"})

CORRELATION_HEADER = "X-Correlation-ID"
DEFAULT_CHANNEL = "root.integration"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
