"""Stripe objects -> canonical messages (no ORM, no API calls here).

Every function takes Stripe objects as the API returns them (dicts, with
references either as ids or expanded) and returns canonical ``data`` or a
whole message. What needs Odoo or the API (is the customer known? read the
current object, the invoice's other lines, a tax rate) is resolved before by
``integration.stripe.mapper`` and passed in. Invoices:
:mod:`.mapping_invoice`; payments, refunds, payouts and disputes:
:mod:`.mapping_payment`.

Amounts are converted from minor units with the currency's exponent
(zero-decimal JPY, three-decimal KWD) into exact decimal strings. Values are
read with :mod:`.reading`: a value of the wrong type is refused naming the
field, and a value Stripe does not document (an unknown status, an interval
of its own) is passed on as it is, for the canonical schema to refuse --
never replaced by a guess.
"""

from . import reading
from .const import VAT_TYPES
from .mapping_payment_method import payment_method_data


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
    method = payment_method_data(customer)
    if method is not False:
        data["payment_method"] = method
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
