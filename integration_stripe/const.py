"""Stripe constants (no ORM here): API version, event whitelist, amounts."""

#: API version the connector reads and writes. Create the webhook endpoint
#: with the same version so that payloads have the shape the mapper expects.
STRIPE_API_VERSION = "2024-06-20"
DEFAULT_API_BASE = "https://api.stripe.com"

#: signatures older (or newer) than this many seconds are refused
WEBHOOK_TOLERANCE = 300

#: Stripe's own rate limits (operations per second); the backend's
#: ``rate_limit`` is capped by them
RATE_LIMIT_LIVE = 100.0
RATE_LIMIT_TEST = 25.0

#: event types mapped to canonical messages; any other type is stored as ignored
SUPPORTED_EVENTS = frozenset(
    {
        "customer.created",
        "customer.updated",
        "customer.deleted",
        "product.created",
        "product.updated",
        "product.deleted",
        "price.created",
        "price.updated",
        "plan.created",
        "plan.updated",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "customer.subscription.trial_will_end",
        "customer.subscription.pending_update_applied",
        "invoice.created",
        "invoice.finalized",
        "invoice.updated",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice.voided",
        "invoice.marked_uncollectible",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.refunded",
        "charge.refund.updated",
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "payout.paid",
        # made by the payout reconciliation stream, not by Stripe
        "payout.reconcile",
    }
)

#: kinds of object the mapper may fetch fresh from the API instead of trusting
#: the payload (the backend chooses which; see ``stripe_fetch_objects``)
FETCHABLE_OBJECTS = (
    "customer",
    "product",
    "subscription",
    "invoice",
    "payment_intent",
    "charge",
    "refund",
)
DEFAULT_FETCH_OBJECTS = ",".join(FETCHABLE_OBJECTS)

#: https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
#: https://docs.stripe.com/currencies#three-decimal (the last digit must be 0)
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

#: canonical payment status of a PaymentIntent status
PAYMENT_INTENT_STATUS = {
    "succeeded": "succeeded",
    "canceled": "canceled",
    "processing": "pending",
    "requires_capture": "pending",
    "requires_action": "pending",
    "requires_confirmation": "pending",
    "requires_payment_method": "pending",  # "failed" when it carries a last_payment_error
}
REFUND_STATUS = {
    "succeeded": "succeeded",
    "pending": "pending",
    "requires_action": "pending",
    "failed": "failed",
    "canceled": "canceled",
}
#: balance transaction types -> canonical payout transaction types
BALANCE_TRANSACTION_TYPES = {
    "charge": "payment",
    "payment": "payment",
    "refund": "refund",
    "payment_refund": "refund",
    "payment_failure_refund": "refund",
    "stripe_fee": "fee",
    "stripe_fx_fee": "fee",
    "tax_fee": "fee",
    "application_fee": "fee",
    "adjustment": "adjustment",
}

#: Stripe tax id type of a VAT number, by the country it belongs to
EU_COUNTRIES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    }
)
VAT_TAX_ID_TYPES = {"GB": "gb_vat", "CH": "ch_vat", "NO": "no_vat", "AU": "au_abn", "NZ": "nz_gst", "ZA": "za_vat"}
#: tax id types whose value is a VAT number (the ones Odoo's partner VAT maps to)
VAT_TYPES = frozenset({"eu_vat", *VAT_TAX_ID_TYPES.values()})

#: what a customer is read with: its VAT numbers and its default payment method (brand, last 4, expiry)
CUSTOMER_EXPAND = ["tax_ids", "invoice_settings.default_payment_method"]
