"""Stripe objects -> canonical messages (no ORM, no API calls here).

Every function takes Stripe objects as the API returns them (dicts, with
references either as ids or expanded) and returns canonical ``data`` or a
whole message. What needs Odoo or the API (is the customer known? read the
current object, the invoice's other lines, a tax rate) is resolved before by
``integration.stripe.mapper`` and passed in. Invoices: :mod:`.mapping_invoice`.

Amounts are converted from minor units with the currency's exponent
(zero-decimal JPY, three-decimal KWD) into exact decimal strings.
"""

from .amounts import iso, iso_date, to_decimal
from .const import BALANCE_TRANSACTION_TYPES, PAYMENT_INTENT_STATUS, REFUND_STATUS, VAT_TYPES

SUBSCRIPTION_STATUSES = frozenset(
    {"trialing", "active", "past_due", "unpaid", "canceled", "paused", "incomplete", "incomplete_expired"}
)
PAYOUT_STATUSES = frozenset({"pending", "in_transit", "paid", "failed", "canceled"})


def ref(value):
    """The id of a Stripe reference: an id string or an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def metadata(values):
    """Canonical metadata: scalar values only, None dropped."""
    return {key: value for key, value in values.items() if value is not None and not isinstance(value, dict | list)}


def message(canonical_type, external_id, data, action="upsert", occurred_at=None):
    """A canonical message of Stripe (``occurred_at``: the event's ``created``, ISO 8601)."""
    result = {
        "type": canonical_type,
        "schema_version": "1.0",
        "source": "stripe",
        "external_id": external_id,
        "action": action,
        "data": data,
    }
    if occurred_at:
        result["occurred_at"] = occurred_at
    return result


# ----------------------------------------------------------------------
# Customers
# ----------------------------------------------------------------------
def customer_data(customer):
    address = customer.get("address") or {}
    name = customer.get("name") or customer.get("description") or customer.get("email") or customer["id"]
    data = {"name": name[:512], "email": customer.get("email") or None, "phone": customer.get("phone") or None}
    if any(address.values()):
        data["address"] = {
            "line1": address.get("line1") or None,
            "line2": address.get("line2") or None,
            "city": address.get("city") or None,
            "zip": address.get("postal_code") or None,
            "state": address.get("state") or None,
            "country": (address.get("country") or "").upper() or None,
        }
    tax_ids = customer.get("tax_ids")
    if isinstance(tax_ids, dict):
        vat = next((tax["value"] for tax in tax_ids.get("data") or [] if tax.get("type") in VAT_TYPES), None)
        if vat:
            data["vat"] = vat
    if customer.get("currency"):
        data["currency"] = customer["currency"].upper()
    if customer.get("preferred_locales"):
        data["lang"] = customer["preferred_locales"][0]
    data["metadata"] = metadata({"stripe_id": customer["id"]})
    return data


def deleted_customer_data(customer):
    """What a deleted customer still says about itself (its name, or its id)."""
    if customer.get("name") or customer.get("email"):
        return customer_data(customer)
    return {"name": customer["id"]}


# ----------------------------------------------------------------------
# Products and prices
# ----------------------------------------------------------------------
def _price_amount(price):
    return next(
        (
            price[key]
            for key in ("unit_amount_decimal", "unit_amount", "amount_decimal", "amount")
            if price.get(key) is not None
        ),
        None,
    )


def product_data(product, price=None):
    """A product, with its default price (``price`` when it is that price) as list price."""
    data = {
        "name": (product.get("name") or product["id"])[:512],
        "description": product.get("description") or None,
        "active": bool(product.get("active", True)),
        "metadata": metadata({"stripe_id": product["id"]}),
    }
    sku = (product.get("metadata") or {}).get("sku")
    if sku:
        data["sku"] = sku
    default = product.get("default_price")
    if price is not None and ref(default) == price.get("id"):
        default = price
    if isinstance(default, dict) and default.get("currency"):
        amount = _price_amount(default)
        if amount is not None:
            data.update(list_price=to_decimal(amount, default["currency"]), currency=default["currency"].upper())
    return data


def deleted_product_data(product):
    return {"name": product.get("name") or product["id"], "active": False}


# ----------------------------------------------------------------------
# Subscriptions
# ----------------------------------------------------------------------
def subscription_price(subscription):
    """``(item, price)`` of the subscription's first item (the plan)."""
    items = (subscription.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    return item, item.get("price") or item.get("plan") or subscription.get("plan") or {}


def plan_name(price):
    """The plan's own name, or None when only the (not expanded) product can name it."""
    product = price.get("product")
    return price.get("nickname") or price.get("name") or (product.get("name") if isinstance(product, dict) else None)


def subscription_data(subscription, product_name=None):
    """:param product_name: the name of the plan's product in Odoo, when :func:`plan_name` has none."""
    items = (subscription.get("items") or {}).get("data") or []
    item, price = subscription_price(subscription)
    currency = price.get("currency")
    amount = price.get("unit_amount_decimal") or price.get("unit_amount")
    if amount is None:
        amount = price.get("amount")
    product = price.get("product")
    plan = {"code": price.get("id") or subscription["id"], "name": plan_name(price) or product_name or price.get("id")}
    if currency and amount is not None:
        plan.update(amount=to_decimal(amount, currency), currency=currency.upper())
    recurring = price.get("recurring") or {}
    interval = recurring.get("interval") or price.get("interval")
    if interval in ("day", "week", "month", "year"):
        plan.update(
            interval=interval,
            interval_count=int(recurring.get("interval_count") or price.get("interval_count") or 1),
        )
    status = subscription.get("status")
    return {
        "customer_ref": ref(subscription.get("customer")),
        "plan": plan,
        "quantity": int(item.get("quantity") or subscription.get("quantity") or 1),
        "status": status if status in SUBSCRIPTION_STATUSES else "incomplete",
        "current_period_start": iso(subscription.get("current_period_start") or item.get("current_period_start")),
        "current_period_end": iso(subscription.get("current_period_end") or item.get("current_period_end")),
        "trial_end": iso(subscription.get("trial_end")),
        "cancel_at_period_end": bool(subscription.get("cancel_at_period_end")),
        "canceled_at": iso(subscription.get("canceled_at")),
        "metadata": metadata({"stripe_id": subscription["id"], "product_ref": ref(product), "items": len(items)}),
    }


def invoice_subscription(invoice):
    """The id of the invoice's subscription (API versions before and after 2025)."""
    parent = (invoice.get("parent") or {}).get("subscription_details") or {}
    return ref(invoice.get("subscription")) or ref(parent.get("subscription"))


# ----------------------------------------------------------------------
# Payments
# ----------------------------------------------------------------------
def intent_payment_data(intent, invoice_ref=None, subscription_ref=None):
    """The payment of a PaymentIntent (failed when it carries a payment error)."""
    status = PAYMENT_INTENT_STATUS.get(intent.get("status"), "pending")
    error = intent.get("last_payment_error") or {}
    if intent.get("status") == "requires_payment_method" and error:
        status = "failed"
    currency = intent["currency"]
    amount = intent.get("amount")
    if status == "succeeded" and intent.get("amount_received") is not None:
        amount = intent["amount_received"]
    charge = ref(intent.get("latest_charge")) or ref(error.get("charge"))
    return {
        "customer_ref": ref(intent.get("customer")),
        "invoice_ref": invoice_ref or ref(intent.get("invoice")),
        "amount": to_decimal(amount or 0, currency),
        "currency": currency.upper(),
        "date": iso_date(intent.get("created")),
        "status": status,
        "method": (intent.get("payment_method_types") or [None])[0],
        "failure_reason": (error.get("message") or error.get("code")) if status == "failed" else None,
        "metadata": metadata(
            {
                "charge_ref": charge,
                "failure_key": charge or intent["id"],
                "subscription_ref": subscription_ref,
                "decline_code": error.get("decline_code") or error.get("code"),
            }
        ),
    }


def invoice_payment_data(invoice, failed=False, event_created=None):
    """The payment of an invoice paid (or failed) without a PaymentIntent to read."""
    intent, charge = invoice.get("payment_intent"), invoice.get("charge")
    currency = invoice["currency"]
    transitions = invoice.get("status_transitions") or {}
    attempt = invoice.get("attempt_count") or 0
    return {
        "customer_ref": ref(invoice.get("customer")),
        "invoice_ref": invoice["id"],
        "amount": to_decimal(invoice.get("amount_due" if failed else "amount_paid") or 0, currency),
        "currency": currency.upper(),
        "date": iso_date((None if failed else transitions.get("paid_at")) or event_created or invoice["created"]),
        "status": "failed" if failed else "succeeded",
        "method": None,
        "failure_reason": ((invoice.get("last_finalization_error") or {}).get("message")) if failed else None,
        "metadata": metadata(
            {
                "charge_ref": ref(charge),
                "failure_key": ref(charge) or f"{ref(intent)}:{attempt}",
                "subscription_ref": invoice_subscription(invoice),
            }
        ),
    }


# ----------------------------------------------------------------------
# Refunds
# ----------------------------------------------------------------------
def refund_payment_ref(refund, charge):
    """The canonical payment a refund gives money back from: its PaymentIntent, else the charge."""
    return ref(refund.get("payment_intent")) or ref(charge.get("payment_intent")) or charge["id"]


def refund_data(refund, charge, event_created=None):
    currency = refund.get("currency") or charge["currency"]
    return {
        "payment_ref": refund_payment_ref(refund, charge),
        "invoice_ref": ref(charge.get("invoice")),
        "customer_ref": ref(charge.get("customer")),
        "amount": to_decimal(refund["amount"], currency),
        "currency": currency.upper(),
        "date": iso_date(refund.get("created") or event_created),
        "status": REFUND_STATUS.get(refund.get("status"), "pending"),
        "reason": refund.get("reason") or None,
        "metadata": metadata(
            {"charge_ref": charge["id"], "odoo_move_id": (refund.get("metadata") or {}).get("odoo_move_id")}
        ),
    }


def outbound_refund_data(refund, fallback_currency, today):
    """The refund Stripe answered to an outbound refund of an Odoo credit note."""
    currency = refund.get("currency") or fallback_currency.lower()
    return {
        "amount": to_decimal(refund.get("amount") or 0, currency),
        "currency": currency.upper(),
        "status": {"requires_action": "pending"}.get(refund.get("status"), refund.get("status") or "pending"),
        "date": today,
    }


# ----------------------------------------------------------------------
# Payouts
# ----------------------------------------------------------------------
def payout_transaction(txn, currency):
    """A balance transaction of a payout (``type`` payout excluded by the caller)."""
    kind = BALANCE_TRANSACTION_TYPES.get(txn.get("type"), "other")
    source = txn.get("source")
    item = {
        "ref": txn["id"],
        "type": kind,
        "amount": to_decimal(txn["amount"], txn.get("currency") or currency),
        "fee": to_decimal(txn.get("fee") or 0, txn.get("currency") or currency),
        "description": txn.get("description") or txn.get("type"),
    }
    if kind == "payment":
        item["payment_ref"] = (
            ref(source.get("payment_intent")) or source.get("id") if isinstance(source, dict) else ref(source)
        )
    elif kind == "refund":
        item["refund_ref"] = ref(source)
    return item


def payout_data(payout, balance_transactions):
    currency = payout["currency"]
    return {
        "amount": to_decimal(payout["amount"], currency),
        "currency": currency.upper(),
        "date": iso_date(payout.get("arrival_date") or payout.get("created")),
        "status": payout.get("status") if payout.get("status") in PAYOUT_STATUSES else "pending",
        "reference": payout["id"],
        "transactions": [
            payout_transaction(txn, currency) for txn in balance_transactions if txn.get("type") != "payout"
        ],
        "metadata": metadata({"stripe_id": payout["id"], "destination": ref(payout.get("destination"))}),
    }


# ----------------------------------------------------------------------
# Disputes (an exception for finance, no canonical message)
# ----------------------------------------------------------------------
def dispute_payment_ref(dispute):
    return ref(dispute.get("payment_intent")) or ref(dispute.get("charge"))


def dispute_report(dispute, customer_name=None):
    """What finance reads about a dispute.

    :return: dict of ``key`` (one exception per dispute), ``closed`` (won or
        closed with a warning: nothing lost), ``status``, ``payment_ref``,
        ``text`` and ``hint`` (None: the default advice)
    """
    currency = dispute.get("currency") or "usd"
    amount = f"{to_decimal(dispute.get('amount') or 0, currency)} {currency.upper()}"
    payment_ref = dispute_payment_ref(dispute)
    who = customer_name or "an unknown customer"
    status = dispute.get("status")
    reason = (dispute.get("reason") or "general").replace("_", " ")
    report = {"key": f"dispute:{dispute['id']}", "status": status, "payment_ref": payment_ref, "hint": None}
    report["closed"] = status in ("won", "warning_closed")
    if status == "lost":
        report["text"] = (
            f"The dispute {dispute['id']} of {amount} by {who} ({reason}) was lost: Stripe took the amount "
            f"and the dispute fee from the balance."
        )
        report["hint"] = (
            "Book the loss (a credit note or a write-off of the payment), then mark this exception resolved."
        )
    else:
        due = iso_date((dispute.get("evidence_details") or {}).get("due_by"))
        report["text"] = (
            f"{who} disputes a payment of {amount} ({reason}, payment {payment_ref or '?'}). "
            f"Evidence is due by {due or 'the date shown in Stripe'}."
        )
    return report
