"""Stripe invoices -> canonical invoice data (no ORM, no API calls here).

The caller passes every line of the invoice (Stripe lists only the first
ones when ``lines.has_more``) and the tax rates the lines refer to by id
(:func:`missing_tax_rates` says which ones to read from the API).
"""

from decimal import Decimal

from . import reading
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
        "ref": ref(tax_rate.get("id"), "tax_rate"),
        "name": reading.text(tax_rate.get("display_name"), "tax_rate.display_name", tax_rate),
        "percentage": reading.number(tax_rate.get("percentage"), "tax_rate.percentage", tax_rate, 0),
        "inclusive": bool(inclusive),
    }
    if amount is not None:
        tax["amount"] = reading.amount(amount, currency, "tax_amounts.amount", tax_rate)
    return tax


def line_taxes(invoice, line, rates):
    """The taxes of a line: its tax amounts, its taxes (API 2025+), else its or the invoice's rates.

    :param rates: ``{id: tax rate}`` of every rate the line refers to
    """
    currency = reading.code(invoice.get("currency"), "currency", invoice)

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


def _unit_amount(price, quantity, amount, proration, line):
    """The price's unit amount when it explains the line, else the line's amount per unit."""
    if price and price.get("billing_scheme", "per_unit") == "per_unit" and not proration:
        candidate = price.get("unit_amount_decimal") or price.get("unit_amount") or price.get("amount")
        if candidate is not None:
            unit = reading.number(candidate, "price.unit_amount", line)
            if Decimal(str(unit)) * Decimal(str(quantity)) == amount:
                return candidate
    if not quantity:
        return amount
    return Decimal(amount) / Decimal(str(quantity))


def line_data(invoice, line, rates):
    if not isinstance(line, dict):
        raise reading.StripeValueError("lines", line, "an invoice line", invoice)
    currency = reading.code(invoice.get("currency"), "currency", invoice)
    # quantity 0 (a line of nothing) is read as 1, as Stripe's own totals do; out-of-bounds values go to the schema
    quantity = reading.number(line.get("quantity"), "quantity", line) or 1
    amount = reading.whole(line.get("amount"), "amount", line, 0)
    price = _line_price(line)
    parent = (line.get("parent") or {}).get("subscription_item_details") or {}
    proration = bool(line.get("proration") or parent.get("proration"))
    discount = sum(
        reading.whole(d.get("amount"), "discount_amounts.amount", line, 0)
        for d in line.get("discount_amounts") or []
        if isinstance(d, dict)
    )
    product = price.get("product") or (line.get("pricing") or {}).get("price_details", {}).get("product")
    description = (
        reading.text(line.get("description"), "description", line)
        or reading.text(price.get("nickname") or price.get("name"), "price.nickname", line)
        or "Stripe"
    )
    data = {
        "external_id": reading.text(line.get("id"), "id", line),
        "description": description[:2000],
        "quantity": quantity,
        "unit_amount": reading.amount(_unit_amount(price, quantity, amount, proration, line), currency, "unit", line),
        "amount": reading.amount(amount, currency, "amount", line),
        "product_ref": ref(product, "price.product"),
        "proration": proration,
        "taxes": line_taxes(invoice, line, rates),
    }
    if discount:
        data["discount_amount"] = reading.amount(discount, currency, "discount_amounts", line)
    period = line.get("period") or {}
    if isinstance(period, dict) and period.get("start") and period.get("end"):
        data["period"] = {
            "start": reading.moment(period["start"], "period.start", line),
            "end": reading.moment(period["end"], "period.end", line),
        }
    return data


def invoice_data(invoice, lines, tax_rates=None):
    """The canonical invoice.

    :param lines: every line of the invoice
    :param tax_rates: ``{id: tax rate}`` of the rates read from the API
        (those :func:`missing_tax_rates` named)
    """
    invoice_id = reading.identifier(invoice, "invoice")
    currency = reading.code(invoice.get("currency"), "currency", invoice)
    rates = dict(tax_rates or {}, **known_tax_rates(invoice, lines))
    transitions = invoice.get("status_transitions") or {}
    tax = invoice.get("tax")
    if tax is None:
        tax = sum(
            reading.whole(t.get("amount"), "total_tax_amounts.amount", invoice, 0)
            for t in invoice.get("total_tax_amounts") or []
            if isinstance(t, dict)
        )

    def money(key):
        return reading.amount(invoice.get(key) or 0, currency, key, invoice)

    return {
        "customer_ref": ref(invoice.get("customer"), "customer"),
        "subscription_ref": invoice_subscription(invoice),
        "number": reading.text(invoice.get("number"), "number", invoice),
        "status": reading.text(invoice.get("status"), "status", invoice),
        "currency": currency,
        "date": reading.moment(
            invoice.get("effective_at") or transitions.get("finalized_at") or invoice.get("created"),
            "created",
            invoice,
            date_only=True,
        ),
        "due_date": reading.moment(invoice.get("due_date"), "due_date", invoice, date_only=True),
        "lines": [line_data(invoice, line, rates) for line in lines],
        "subtotal": money("subtotal"),
        "tax": reading.amount(tax or 0, currency, "tax", invoice),
        "total": money("total"),
        "amount_paid": money("amount_paid"),
        "amount_due": money("amount_due"),
        "metadata": metadata(
            {
                "stripe_id": invoice_id,
                "billing_reason": invoice.get("billing_reason"),
                "hosted_invoice_url": invoice.get("hosted_invoice_url"),
            }
        ),
    }
