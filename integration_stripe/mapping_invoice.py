"""Stripe invoices -> canonical invoice data (no ORM, no API calls here).

The caller passes every line of the invoice (Stripe lists only the first
ones when ``lines.has_more``) and the tax rates the lines refer to by id
(:func:`missing_tax_rates` says which ones to read from the API).
"""

from decimal import Decimal

from .amounts import iso, iso_date, to_decimal
from .mapping import invoice_subscription, metadata, ref


def known_tax_rates(invoice, lines):
    """The tax rates expanded somewhere in the invoice: ``{id: tax rate}``."""
    rates = {}
    references = list(invoice.get("default_tax_rates") or [])
    for line in lines:
        references += line.get("tax_rates") or []
        references += [tax.get("tax_rate") for tax in line.get("tax_amounts") or []]
    for reference in references:
        if isinstance(reference, dict) and reference.get("id"):
            rates.setdefault(reference["id"], reference)
    return rates


def missing_tax_rates(invoice, lines):
    """Ids of the tax rates the lines refer to without expanding them anywhere."""
    known = known_tax_rates(invoice, lines)
    ids = []
    for line in lines:
        references = [tax.get("tax_rate") for tax in line.get("tax_amounts") or []]
        references += [(tax.get("tax_rate_details") or {}).get("tax_rate") for tax in line.get("taxes") or []]
        for reference in references:
            rate_id = ref(reference)
            if rate_id and rate_id not in known and rate_id not in ids:
                ids.append(rate_id)
    return ids


def _canonical_tax(tax_rate, inclusive, currency, amount=None):
    tax = {
        "ref": tax_rate.get("id"),
        "name": tax_rate.get("display_name"),
        "percentage": float(tax_rate.get("percentage") or 0.0),
        "inclusive": bool(inclusive),
    }
    if amount is not None:
        tax["amount"] = to_decimal(amount, currency)
    return tax


def line_taxes(invoice, line, rates):
    """The taxes of a line: its tax amounts, its taxes (API 2025+), else its or the invoice's rates.

    :param rates: ``{id: tax rate}`` of every rate the line refers to
    """
    currency = invoice["currency"]

    def rate(reference):
        return rates.get(ref(reference)) or (reference if isinstance(reference, dict) else {})

    taxes = [
        _canonical_tax(
            rate(tax["tax_rate"]),
            tax.get("inclusive", rate(tax["tax_rate"]).get("inclusive")),
            currency,
            tax.get("amount"),
        )
        for tax in line.get("tax_amounts") or []
        if tax.get("tax_rate")
    ]
    for tax in line.get("taxes") or []:
        details = tax.get("tax_rate_details") or {}
        if details.get("tax_rate"):
            taxes.append(
                _canonical_tax(
                    rate(details["tax_rate"]), tax.get("tax_behavior") == "inclusive", currency, tax.get("amount")
                )
            )
    if not taxes:
        line_rates = [r for r in line.get("tax_rates") or [] if isinstance(r, dict)]
        if not line_rates and (invoice.get("tax") or invoice.get("total_tax_amounts")):
            line_rates = [r for r in invoice.get("default_tax_rates") or [] if isinstance(r, dict)]
        taxes = [_canonical_tax(r, r.get("inclusive"), currency) for r in line_rates]
    return taxes


def _line_price(line):
    price = (
        line.get("price") or line.get("plan") or ((line.get("pricing") or {}).get("price_details") or {}).get("price")
    )
    return price if isinstance(price, dict) else {}


def _unit_amount(price, quantity, amount, proration):
    """The price's unit amount when it explains the line, else the line's amount per unit."""
    if price and price.get("billing_scheme", "per_unit") == "per_unit" and not proration:
        candidate = price.get("unit_amount_decimal") or price.get("unit_amount") or price.get("amount")
        if candidate is not None and Decimal(str(candidate)) * quantity == amount:
            return candidate
    return Decimal(amount) / Decimal(quantity)


def line_data(invoice, line, rates):
    currency = invoice["currency"]
    quantity = line.get("quantity") or 1
    amount = int(line.get("amount") or 0)
    price = _line_price(line)
    parent = (line.get("parent") or {}).get("subscription_item_details") or {}
    proration = bool(line.get("proration") or parent.get("proration"))
    discount = sum(int(d.get("amount") or 0) for d in line.get("discount_amounts") or [])
    product = price.get("product") or (line.get("pricing") or {}).get("price_details", {}).get("product")
    data = {
        "external_id": line.get("id"),
        "description": (line.get("description") or price.get("nickname") or price.get("name") or "Stripe")[:2000],
        "quantity": quantity,
        "unit_amount": to_decimal(_unit_amount(price, quantity, amount, proration), currency),
        "amount": to_decimal(amount, currency),
        "product_ref": ref(product),
        "proration": proration,
        "taxes": line_taxes(invoice, line, rates),
    }
    if discount:
        data["discount_amount"] = to_decimal(discount, currency)
    period = line.get("period") or {}
    if period.get("start") and period.get("end"):
        data["period"] = {"start": iso(period["start"]), "end": iso(period["end"])}
    return data


def invoice_data(invoice, lines, tax_rates=None):
    """The canonical invoice.

    :param lines: every line of the invoice
    :param tax_rates: ``{id: tax rate}`` of the rates read from the API
        (those :func:`missing_tax_rates` named)
    """
    currency = invoice["currency"]
    rates = dict(tax_rates or {}, **known_tax_rates(invoice, lines))
    transitions = invoice.get("status_transitions") or {}
    tax = invoice.get("tax")
    if tax is None:
        tax = sum(int(t.get("amount") or 0) for t in invoice.get("total_tax_amounts") or [])
    return {
        "customer_ref": ref(invoice.get("customer")),
        "subscription_ref": invoice_subscription(invoice),
        "number": invoice.get("number") or None,
        "status": invoice["status"],
        "currency": currency.upper(),
        "date": iso_date(invoice.get("effective_at") or transitions.get("finalized_at") or invoice["created"]),
        "due_date": iso_date(invoice.get("due_date")),
        "lines": [line_data(invoice, line, rates) for line in lines],
        "subtotal": to_decimal(invoice.get("subtotal") or 0, currency),
        "tax": to_decimal(tax or 0, currency),
        "total": to_decimal(invoice.get("total") or 0, currency),
        "amount_paid": to_decimal(invoice.get("amount_paid") or 0, currency),
        "amount_due": to_decimal(invoice.get("amount_due") or 0, currency),
        "metadata": metadata(
            {
                "stripe_id": invoice["id"],
                "billing_reason": invoice.get("billing_reason"),
                "hosted_invoice_url": invoice.get("hosted_invoice_url"),
            }
        ),
    }
