"""A Stripe customer's default payment method -> canonical ``payment_method`` (no ORM here).

Only what an agent may see: the kind, the brand, the last 4 digits and the
expiry -- never a full number, a fingerprint or an address.
"""

from . import reading


def payment_method_data(customer):
    """The customer's default payment method: brand, last 4 and expiry, never more.

    Read from ``invoice_settings.default_payment_method`` (a PaymentMethod)
    or the legacy ``default_source`` (a card source), when expanded.

    :return: canonical ``payment_method``, None when the customer has none,
        False when the payload cannot say (not expanded: leave Odoo's as is)
    """
    settings = customer.get("invoice_settings") or {}
    if not isinstance(settings, dict):
        raise reading.StripeValueError("invoice_settings", settings, "an object", customer)
    method = settings.get("default_payment_method") if "default_payment_method" in settings else False
    source = customer.get("default_source")
    if not method and isinstance(source, dict):
        method = {"type": source.get("object") or "card", "card": source}
    elif not method and source:
        method = False  # an id only: what it is needs the API
    if not isinstance(method, dict):
        return None if method is None else False
    kind = reading.text(method.get("type"), "default_payment_method.type", customer, size=64) or "card"
    details = method.get(kind) if isinstance(method.get(kind), dict) else {}
    last4 = reading.text(details.get("last4"), f"{kind}.last4", customer)
    return {
        "type": kind,
        "brand": reading.text(details.get("brand") or details.get("bank_name"), f"{kind}.brand", customer, size=64),
        "last4": last4 if last4 and len(last4) == 4 and last4.isdigit() else None,
        "exp_month": reading.whole(details.get("exp_month"), f"{kind}.exp_month", customer) or None,
        "exp_year": reading.whole(details.get("exp_year"), f"{kind}.exp_year", customer) or None,
    }
