"""Stripe objects -> canonical messages (no ORM, no API calls here).

Every function takes Stripe objects as the API returns them (dicts, with
references either as ids or expanded) and returns canonical ``data`` or a
whole message. What needs Odoo or the API (is the customer known? read the
current object, the invoice's other lines, a tax rate) is resolved before by
``integration.stripe.mapper`` and passed in. Invoices: :mod:`.mapping_invoice`.

Amounts are converted from minor units with the currency's exponent
(zero-decimal JPY, three-decimal KWD) into exact decimal strings. Values are
read with :mod:`.reading`: a value of the wrong type is refused naming the
field, and a value Stripe does not document (an unknown status, an interval
of its own) is passed on as it is, for the canonical schema to refuse --
never replaced by a guess.
"""

from . import reading
from .amounts import to_decimal
from .const import BALANCE_TRANSACTION_TYPES, PAYMENT_INTENT_STATUS, REFUND_STATUS, VAT_TYPES


def ref(value, field="reference"):
    """The id of a Stripe reference: an id string or an expanded object (None when absent).

    :raise reading.StripeValueError: a reference that is neither
    """
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    raise reading.StripeValueError(field, value, "an id")


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
    customer_id = reading.identifier(customer, "customer")
    address = customer.get("address") or {}
    if not isinstance(address, dict):
        raise reading.StripeValueError("address", address, "an address", customer)
    name = (
        reading.text(customer.get("name"), "name", customer)
        or reading.text(customer.get("description"), "description", customer)
        or reading.text(customer.get("email"), "email", customer)
        or customer_id
    )
    data = {
        "name": name[:512],
        "email": reading.text(customer.get("email"), "email", customer),
        "phone": reading.text(customer.get("phone"), "phone", customer),
    }
    if any(address.values()):
        data["address"] = {
            "line1": reading.text(address.get("line1"), "address.line1", customer),
            "line2": reading.text(address.get("line2"), "address.line2", customer),
            "city": reading.text(address.get("city"), "address.city", customer),
            "zip": reading.text(address.get("postal_code"), "address.postal_code", customer),
            "state": reading.text(address.get("state"), "address.state", customer),
            "country": reading.code(address.get("country"), "address.country", customer),
        }
    tax_ids = customer.get("tax_ids")
    if isinstance(tax_ids, dict):
        vat = next(
            (
                reading.text(tax.get("value"), "tax_ids.value", customer)
                for tax in tax_ids.get("data") or []
                if isinstance(tax, dict) and tax.get("type") in VAT_TYPES
            ),
            None,
        )
        if vat:
            data["vat"] = vat
    code = reading.code(customer.get("currency"), "currency", customer)
    if code:
        data["currency"] = code
    locales = customer.get("preferred_locales")
    if isinstance(locales, list) and locales:
        data["lang"] = reading.text(locales[0], "preferred_locales", customer)
    data["metadata"] = metadata({"stripe_id": customer_id})
    return data


def deleted_customer_data(customer):
    """What a deleted customer still says about itself (its name, or its id)."""
    if customer.get("name") or customer.get("email"):
        return customer_data(customer)
    return {"name": reading.identifier(customer, "customer")}


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
    product_id = reading.identifier(product, "product")
    data = {
        "name": (reading.text(product.get("name"), "name", product) or product_id)[:512],
        "description": reading.text(product.get("description"), "description", product),
        "active": bool(product.get("active", True)),
        "metadata": metadata({"stripe_id": product_id}),
    }
    sku = (product.get("metadata") or {}).get("sku") if isinstance(product.get("metadata"), dict) else None
    if sku:
        data["sku"] = reading.text(sku, "metadata.sku", product)
    default = product.get("default_price")
    if price is not None and ref(default) == price.get("id"):
        default = price
    if isinstance(default, dict):
        amount = _price_amount(default)
        if amount is not None:
            code = reading.code(default.get("currency"), "default_price.currency", default)
            data["list_price"] = reading.amount(amount, code, "default_price.unit_amount", default)
            if code:
                data["currency"] = code
    return data


def deleted_product_data(product):
    return {
        "name": reading.text(product.get("name"), "name", product) or reading.identifier(product, "product"),
        "active": False,
    }


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
    subscription_id = reading.identifier(subscription, "subscription")
    items = (subscription.get("items") or {}).get("data") or []
    item, price = subscription_price(subscription)
    if not isinstance(item, dict) or not isinstance(price, dict):
        raise reading.StripeValueError("items", subscription.get("items"), "a list of subscription items", subscription)
    code = reading.code(price.get("currency"), "plan.currency", subscription)
    amount = price.get("unit_amount_decimal") or price.get("unit_amount")
    if amount is None:
        amount = price.get("amount")
    product = price.get("product")
    name = plan_name(price) or product_name or price.get("id")
    plan = {
        "code": reading.text(price.get("id"), "plan.id", subscription) or subscription_id,
        "name": reading.text(name, "plan.nickname", subscription),
    }
    if amount is not None:
        # a price without currency is refused by the schema, never stored as 0
        plan["amount"] = reading.amount(amount, code, "plan.unit_amount", subscription)
        if code:
            plan["currency"] = code
    recurring = price.get("recurring") or {}
    interval = recurring.get("interval") or price.get("interval")
    if interval:
        plan.update(
            interval=reading.text(interval, "plan.interval", subscription),
            interval_count=reading.whole(
                recurring.get("interval_count") or price.get("interval_count"), "plan.interval_count", subscription, 1
            ),
        )
    quantity = item.get("quantity") if item.get("quantity") is not None else subscription.get("quantity")
    return {
        "customer_ref": ref(subscription.get("customer")),
        "plan": plan,
        "quantity": reading.whole(quantity, "quantity", subscription, 1),
        "status": reading.text(subscription.get("status"), "status", subscription),
        "current_period_start": reading.moment(
            subscription.get("current_period_start") or item.get("current_period_start"),
            "current_period_start",
            subscription,
        ),
        "current_period_end": reading.moment(
            subscription.get("current_period_end") or item.get("current_period_end"), "current_period_end", subscription
        ),
        "trial_end": reading.moment(subscription.get("trial_end"), "trial_end", subscription),
        "cancel_at_period_end": bool(subscription.get("cancel_at_period_end")),
        "canceled_at": reading.moment(subscription.get("canceled_at"), "canceled_at", subscription),
        "metadata": metadata({"stripe_id": subscription_id, "product_ref": ref(product), "items": len(items)}),
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
    intent_id = reading.identifier(intent, "payment_intent")
    raw_status = reading.text(intent.get("status"), "status", intent)
    # an undocumented status is passed on (and refused by the schema), never guessed
    status = PAYMENT_INTENT_STATUS.get(raw_status, raw_status)
    error = intent.get("last_payment_error") or {}
    if raw_status == "requires_payment_method" and error:
        status = "failed"
    code = reading.code(intent.get("currency"), "currency", intent)
    amount = intent.get("amount")
    if status == "succeeded" and intent.get("amount_received") is not None:
        amount = intent["amount_received"]
    charge = ref(intent.get("latest_charge"), "latest_charge") or ref(error.get("charge"), "last_payment_error.charge")
    method = intent.get("payment_method_types") or [None]
    return {
        "customer_ref": ref(intent.get("customer"), "customer"),
        "invoice_ref": invoice_ref or ref(intent.get("invoice"), "invoice"),
        "amount": reading.amount(amount, code, "amount", intent),
        "currency": code,
        "date": reading.moment(intent.get("created"), "created", intent, date_only=True),
        "status": status,
        "method": reading.text(method[0] if isinstance(method, list) and method else None, "payment_method_types"),
        "failure_reason": reading.text(error.get("message") or error.get("code"), "last_payment_error.message")
        if status == "failed"
        else None,
        "metadata": metadata(
            {
                "charge_ref": charge,
                "failure_key": charge or intent_id,
                "subscription_ref": subscription_ref,
                "decline_code": error.get("decline_code") or error.get("code"),
            }
        ),
    }


def invoice_payment_data(invoice, failed=False, event_created=None):
    """The payment of an invoice paid (or failed) without a PaymentIntent to read."""
    invoice_id = reading.identifier(invoice, "invoice")
    intent, charge = invoice.get("payment_intent"), invoice.get("charge")
    code = reading.code(invoice.get("currency"), "currency", invoice)
    transitions = invoice.get("status_transitions") or {}
    attempt = invoice.get("attempt_count") or 0
    paid_at = None if failed else transitions.get("paid_at")
    return {
        "customer_ref": ref(invoice.get("customer"), "customer"),
        "invoice_ref": invoice_id,
        "amount": reading.amount(invoice.get("amount_due" if failed else "amount_paid") or 0, code, "amount", invoice),
        "currency": code,
        "date": reading.moment(paid_at or event_created or invoice.get("created"), "created", invoice, date_only=True),
        "status": "failed" if failed else "succeeded",
        "method": None,
        "failure_reason": ((invoice.get("last_finalization_error") or {}).get("message")) if failed else None,
        "metadata": metadata(
            {
                "charge_ref": ref(charge, "charge"),
                "failure_key": ref(charge, "charge") or f"{ref(intent, 'payment_intent')}:{attempt}",
                "subscription_ref": invoice_subscription(invoice),
            }
        ),
    }


# ----------------------------------------------------------------------
# Refunds
# ----------------------------------------------------------------------
def refund_payment_ref(refund, charge):
    """The canonical payment a refund gives money back from: its PaymentIntent, else the charge."""
    return (
        ref(refund.get("payment_intent"), "payment_intent")
        or ref(charge.get("payment_intent"), "charge.payment_intent")
        or reading.identifier(charge, "charge")
    )


def refund_data(refund, charge, event_created=None):
    refund_id = reading.identifier(refund, "refund")
    code = reading.code(refund.get("currency") or charge.get("currency"), "currency", refund)
    raw_status = reading.text(refund.get("status"), "status", refund)
    move_id = (refund.get("metadata") or {}).get("odoo_move_id") if isinstance(refund.get("metadata"), dict) else None
    return {
        "payment_ref": refund_payment_ref(refund, charge),
        "invoice_ref": ref(charge.get("invoice"), "charge.invoice"),
        "customer_ref": ref(charge.get("customer"), "charge.customer"),
        "amount": reading.amount(refund.get("amount"), code, "amount", refund),
        "currency": code,
        "date": reading.moment(refund.get("created") or event_created, "created", refund, date_only=True),
        # an undocumented status is passed on (and refused by the schema), never guessed
        "status": REFUND_STATUS.get(raw_status, raw_status),
        "reason": reading.text(refund.get("reason"), "reason", refund),
        "metadata": metadata(
            {"charge_ref": reading.identifier(charge, "charge"), "odoo_move_id": move_id, "stripe_id": refund_id}
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
    code = reading.code(txn.get("currency"), "currency", txn) or currency
    item = {
        "ref": reading.identifier(txn, "balance_transaction"),
        "type": kind,
        "amount": reading.amount(txn.get("amount"), code, "amount", txn),
        "fee": reading.amount(txn.get("fee") or 0, code, "fee", txn),
        "description": reading.text(txn.get("description") or txn.get("type"), "description", txn),
    }
    if kind == "payment":
        item["payment_ref"] = (
            ref(source.get("payment_intent"), "source.payment_intent") or ref(source.get("id"), "source")
            if isinstance(source, dict)
            else ref(source, "source")
        )
    elif kind == "refund":
        item["refund_ref"] = ref(source, "source")
    return item


def payout_data(payout, balance_transactions):
    payout_id = reading.identifier(payout, "payout")
    code = reading.code(payout.get("currency"), "currency", payout)
    return {
        "amount": reading.amount(payout.get("amount"), code, "amount", payout),
        "currency": code,
        "date": reading.moment(payout.get("arrival_date") or payout.get("created"), "arrival_date", payout, True),
        # an undocumented status is passed on (and refused by the schema), never guessed
        "status": reading.text(payout.get("status"), "status", payout),
        "reference": payout_id,
        "transactions": [
            payout_transaction(txn, code)
            for txn in balance_transactions
            if isinstance(txn, dict) and txn.get("type") != "payout"
        ],
        "metadata": metadata({"stripe_id": payout_id, "destination": ref(payout.get("destination"), "destination")}),
    }


# ----------------------------------------------------------------------
# Disputes (an exception for finance, no canonical message)
# ----------------------------------------------------------------------
def dispute_payment_ref(dispute):
    return ref(dispute.get("payment_intent"), "payment_intent") or ref(dispute.get("charge"), "charge")


def dispute_report(dispute, customer_name=None):
    """What finance reads about a dispute.

    :return: dict of ``key`` (one exception per dispute), ``closed`` (won or
        closed with a warning: nothing lost), ``status``, ``payment_ref``,
        ``text`` and ``hint`` (None: the default advice)
    """
    dispute_id = reading.identifier(dispute, "dispute")
    code = reading.code(dispute.get("currency"), "currency", dispute) or "USD"
    amount = f"{reading.amount(dispute.get('amount') or 0, code, 'amount', dispute)} {code}"
    payment_ref = dispute_payment_ref(dispute)
    who = customer_name or "an unknown customer"
    status = reading.text(dispute.get("status"), "status", dispute)
    reason = (reading.text(dispute.get("reason"), "reason", dispute) or "general").replace("_", " ")
    report = {"key": f"dispute:{dispute_id}", "status": status, "payment_ref": payment_ref, "hint": None}
    report["closed"] = status in ("won", "warning_closed")
    if status == "lost":
        report["text"] = (
            f"The dispute {dispute_id} of {amount} by {who} ({reason}) was lost: Stripe took the amount "
            f"and the dispute fee from the balance."
        )
        report["hint"] = (
            "Book the loss (a credit note or a write-off of the payment), then mark this exception resolved."
        )
    else:
        evidence = dispute.get("evidence_details") if isinstance(dispute.get("evidence_details"), dict) else {}
        due = reading.moment(evidence.get("due_by"), "evidence_details.due_by", dispute, date_only=True)
        report["text"] = (
            f"{who} disputes a payment of {amount} ({reason}, payment {payment_ref or '?'}). "
            f"Evidence is due by {due or 'the date shown in Stripe'}."
        )
    return report
