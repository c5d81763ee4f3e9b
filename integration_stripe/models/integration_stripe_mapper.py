"""Stripe events -> canonical messages.

One event may yield several messages, applied in order in one transaction:
the objects it refers to that Odoo does not know yet (its customer, the
invoice of a payment...) first, then the object itself. Stripe delivers
events late, twice and out of order (an invoice payment before the
subscription that caused it), so:

* objects of the kinds listed on the backend (``stripe_fetch_objects``) are
  read again from the API: the message carries the current state, not the
  state of the moment the event was made;
* every message carries the event's ``created`` time as ``occurred_at``:
  bindings skip a message older than the state already applied, so a late
  event never overwrites newer data (the fetched state of a later event is
  at least as new as its ``created``);
* referenced objects are emitted only when Odoo has no binding for them yet.

Amounts are converted from minor units with the currency's exponent
(zero-decimal JPY, three-decimal KWD) into exact decimal strings.
"""

from decimal import Decimal

from odoo import api, models

from ..amounts import iso, iso_date, to_decimal
from ..client import StripeNotFound
from ..const import BALANCE_TRANSACTION_TYPES, PAYMENT_INTENT_STATUS, REFUND_STATUS, VAT_TYPES

SUBSCRIPTION_STATUSES = {
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "canceled",
    "paused",
    "incomplete",
    "incomplete_expired",
}


def _id(value):
    """The id of a Stripe reference: an id string or an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def _meta(values):
    """Canonical metadata: scalar values only, None dropped."""
    return {key: value for key, value in values.items() if value is not None and not isinstance(value, dict | list)}


class _Run:
    """The state of mapping one event."""

    def __init__(self, env, event, payload, connector):
        self.env = env
        self.event = event
        self.backend = event.backend_id.sudo()
        self.payload = payload
        self.connector = connector
        self.type = payload.get("type") or event.event_type
        # objects of a backfill or recovery page were read from the API just now
        self.fetch = set() if payload.get("odoo_fresh") else self.backend._stripe_fetch_set()
        self.occurred_at = iso(payload.get("created")) if payload.get("created") else None
        self.messages = []
        self.keys = set()
        self.cache = {}
        self._api = None

    @property
    def api(self):
        if self._api is None:
            self._api = self.connector._api(self.backend)
        return self._api

    def note(self, text):
        self.event._add_note(text)


class IntegrationStripeMapper(models.AbstractModel):
    _name = "integration.stripe.mapper"
    _description = "Stripe mapper (Stripe objects to canonical messages)"

    @api.model
    def _map_event(self, event, payload, connector):
        """Canonical messages of one Stripe event (see the module docstring)."""
        run = _Run(self.env, event, payload, connector)
        obj = (payload.get("data") or {}).get("object") or {}
        kind = run.type
        if kind.startswith("customer.subscription."):
            self._on_subscription(run, obj)
        elif kind.startswith("customer."):
            self._on_customer(run, obj)
        elif kind.startswith("product."):
            self._on_product(run, obj)
        elif kind.startswith(("price.", "plan.")):
            self._on_price(run, obj)
        elif kind.startswith("invoice."):
            self._on_invoice(run, obj)
        elif kind.startswith("payment_intent."):
            self._on_payment_intent(run, obj)
        elif kind.startswith("charge.dispute."):
            self._on_dispute(run, obj)
        elif kind in ("charge.refunded", "charge.refund.updated") or kind.startswith("refund."):
            self._on_refund(run, obj)
        elif kind.startswith("payout."):
            self._on_payout(run, obj)
        else:
            run.note(f"{kind}: no mapping.")
        return run.messages

    # ------------------------------------------------------------------
    # Shared steps
    # ------------------------------------------------------------------
    def _emit(self, run, canonical_type, external_id, data, action="upsert"):
        key = (canonical_type, external_id)
        if key in run.keys:
            return
        run.keys.add(key)
        message = {
            "type": canonical_type,
            "schema_version": "1.0",
            "source": "stripe",
            "external_id": external_id,
            "action": action,
            "data": data,
        }
        if run.occurred_at:
            message["occurred_at"] = run.occurred_at
        run.messages.append(message)

    def _bound(self, run, canonical_type, external_id):
        return bool(external_id) and bool(
            self.env["integration.binding"]._find(run.backend, canonical_type, external_id)
        )

    def _get(self, run, path, object_id, expand=None):
        """An object read from the API (once per event); None if Stripe does not have it."""
        key = (path, object_id)
        if key not in run.cache:
            params = {"expand": expand} if expand else {}
            try:
                run.cache[key] = run.api.get(f"{path}/{object_id}", **params)
            except StripeNotFound:
                run.cache[key] = None
        return run.cache[key]

    def _fresh(self, run, kind, obj, path, expand=None):
        """The current state of ``obj`` when the backend fetches this kind, else the payload's.

        :param obj: the payload's object, or only its id
        :return: a dict, or None (only an id, fetching off, or gone at Stripe)
        """
        object_id = _id(obj)
        if object_id and kind in run.fetch:
            current = self._get(run, path, object_id, expand)
            if current is not None:
                return current
            run.note(f"{object_id} is no longer at Stripe: the event's copy is used.")
        return obj if isinstance(obj, dict) else None

    def _required(self, run, path, obj, expand=None):
        """``obj`` as a dict: the payload's when expanded, else read from the API."""
        if isinstance(obj, dict):
            return obj
        return self._get(run, path, obj, expand) if obj else None

    def _ensure_customer(self, run, customer):
        """Emit the customer first when Odoo does not know it yet (and the API may be asked)."""
        customer_id = _id(customer)
        if not customer_id or ("customer", customer_id) in run.keys or self._bound(run, "customer", customer_id):
            return
        if "customer" not in run.fetch:
            return  # the applier waits for it (MissingReference, retried)
        current = self._get(run, "/v1/customers", customer_id, expand=["tax_ids"])
        if current and not current.get("deleted"):
            self._emit(run, "customer", customer_id, self._customer_data(current))

    # ------------------------------------------------------------------
    # Customers
    # ------------------------------------------------------------------
    def _customer_data(self, customer):
        address = customer.get("address") or {}
        name = customer.get("name") or customer.get("description") or customer.get("email") or customer["id"]
        data = {
            "name": name[:512],
            "email": customer.get("email") or None,
            "phone": customer.get("phone") or None,
        }
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
        data["metadata"] = _meta({"stripe_id": customer["id"]})
        return data

    def _on_customer(self, run, obj):
        if run.type == "customer.deleted" or obj.get("deleted"):
            data = self._customer_data(obj) if obj.get("name") or obj.get("email") else {"name": obj["id"]}
            self._emit(run, "customer", obj["id"], data, action="delete")
            return
        customer = self._fresh(run, "customer", obj, "/v1/customers", expand=["tax_ids"])
        if customer.get("deleted"):
            self._emit(run, "customer", obj["id"], {"name": obj.get("name") or obj["id"]}, action="delete")
            return
        self._emit(run, "customer", customer["id"], self._customer_data(customer))

    # ------------------------------------------------------------------
    # Products and prices (product.product bound to the Stripe product)
    # ------------------------------------------------------------------
    def _product_data(self, product, price=None):
        data = {
            "name": (product.get("name") or product["id"])[:512],
            "description": product.get("description") or None,
            "active": bool(product.get("active", True)),
            "metadata": _meta({"stripe_id": product["id"]}),
        }
        sku = (product.get("metadata") or {}).get("sku")
        if sku:
            data["sku"] = sku
        default = product.get("default_price")
        if price is not None and _id(default) == price.get("id"):
            default = price
        if isinstance(default, dict) and default.get("currency"):
            amount = next(
                (
                    default[key]
                    for key in ("unit_amount_decimal", "unit_amount", "amount_decimal", "amount")
                    if default.get(key) is not None
                ),
                None,
            )
            if amount is not None:
                data.update(list_price=to_decimal(amount, default["currency"]), currency=default["currency"].upper())
        return data

    def _on_product(self, run, obj):
        if run.type == "product.deleted" or obj.get("deleted"):
            self._emit(
                run, "product", obj["id"], {"name": obj.get("name") or obj["id"], "active": False}, action="delete"
            )
            return
        product = self._fresh(run, "product", obj, "/v1/products")
        self._emit(run, "product", product["id"], self._product_data(product))

    def _on_price(self, run, price):
        """A price (or legacy plan) makes sure its product is in Odoo, with its default price."""
        product = price.get("product")
        if isinstance(product, dict):
            product = self._fresh(run, "product", product, "/v1/products")
        elif product:
            product = self._get(run, "/v1/products", product)
        if not product:
            run.note(f"{price.get('id')}: product {_id(price.get('product'))} is not at Stripe: nothing to apply.")
            return
        self._emit(run, "product", product["id"], self._product_data(product, price))

    def _product_name(self, run, product_id):
        record = (
            self.env["integration.binding"]._find_record(run.backend, "product", product_id) if product_id else None
        )
        return record.name if record else None

    # ------------------------------------------------------------------
    # Subscriptions
    # ------------------------------------------------------------------
    def _subscription_data(self, run, subscription):
        items = (subscription.get("items") or {}).get("data") or []
        item = items[0] if items else {}
        price = item.get("price") or item.get("plan") or subscription.get("plan") or {}
        currency = price.get("currency")
        amount = price.get("unit_amount_decimal") or price.get("unit_amount")
        if amount is None:
            amount = price.get("amount")
        product = price.get("product")
        plan = {
            "code": price.get("id") or subscription["id"],
            "name": price.get("nickname")
            or price.get("name")
            or (product.get("name") if isinstance(product, dict) else None)
            or self._product_name(run, _id(product))
            or price.get("id"),
        }
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
        if status not in SUBSCRIPTION_STATUSES:
            status = "incomplete"
        return {
            "customer_ref": _id(subscription.get("customer")),
            "plan": plan,
            "quantity": int(item.get("quantity") or subscription.get("quantity") or 1),
            "status": status,
            "current_period_start": iso(subscription.get("current_period_start") or item.get("current_period_start")),
            "current_period_end": iso(subscription.get("current_period_end") or item.get("current_period_end")),
            "trial_end": iso(subscription.get("trial_end")),
            "cancel_at_period_end": bool(subscription.get("cancel_at_period_end")),
            "canceled_at": iso(subscription.get("canceled_at")),
            "metadata": _meta({"stripe_id": subscription["id"], "product_ref": _id(product), "items": len(items)}),
        }

    def _emit_subscription(self, run, subscription, deleted=False):
        self._ensure_customer(run, subscription.get("customer"))
        self._emit(
            run,
            "subscription",
            subscription["id"],
            self._subscription_data(run, subscription),
            action="delete" if deleted else "upsert",
        )

    def _on_subscription(self, run, obj):
        subscription = self._fresh(run, "subscription", obj, "/v1/subscriptions")
        self._emit_subscription(run, subscription, deleted=run.type == "customer.subscription.deleted")

    # ------------------------------------------------------------------
    # Invoices
    # ------------------------------------------------------------------
    @staticmethod
    def _invoice_subscription(invoice):
        parent = (invoice.get("parent") or {}).get("subscription_details") or {}
        return _id(invoice.get("subscription")) or _id(parent.get("subscription"))

    def _invoice_lines(self, run, invoice):
        lines = invoice.get("lines") or {}
        if lines.get("has_more"):
            return run.api.list_all(f"/v1/invoices/{invoice['id']}/lines")
        return list(lines.get("data") or [])

    def _line_taxes(self, run, invoice, line, rates):
        currency = invoice["currency"]
        for tax_rate in line.get("tax_rates") or []:
            if isinstance(tax_rate, dict):
                rates.setdefault(tax_rate["id"], tax_rate)

        def rate(reference):
            rate_id = _id(reference)
            if isinstance(reference, dict):
                rates.setdefault(rate_id, reference)
            if rate_id not in rates:
                rates[rate_id] = self._required(run, "/v1/tax_rates", rate_id) or {}
            return rates[rate_id]

        def canonical(tax_rate, inclusive, amount=None):
            tax = {
                "ref": tax_rate.get("id"),
                "name": tax_rate.get("display_name"),
                "percentage": float(tax_rate.get("percentage") or 0.0),
                "inclusive": bool(inclusive),
            }
            if amount is not None:
                tax["amount"] = to_decimal(amount, currency)
            return tax

        taxes = [
            canonical(
                rate(tax["tax_rate"]), tax.get("inclusive", rate(tax["tax_rate"]).get("inclusive")), tax.get("amount")
            )
            for tax in line.get("tax_amounts") or []
            if tax.get("tax_rate")
        ]
        for tax in line.get("taxes") or []:  # API versions from 2025 on
            details = tax.get("tax_rate_details") or {}
            if details.get("tax_rate"):
                taxes.append(
                    canonical(rate(details["tax_rate"]), tax.get("tax_behavior") == "inclusive", tax.get("amount"))
                )
        if not taxes:
            line_rates = [r for r in line.get("tax_rates") or [] if isinstance(r, dict)]
            if not line_rates and (invoice.get("tax") or invoice.get("total_tax_amounts")):
                line_rates = [r for r in invoice.get("default_tax_rates") or [] if isinstance(r, dict)]
            taxes = [canonical(r, r.get("inclusive")) for r in line_rates]
        return taxes

    def _line_data(self, run, invoice, line, rates):
        currency = invoice["currency"]
        quantity = line.get("quantity") or 1
        amount = int(line.get("amount") or 0)
        price = (
            line.get("price")
            or line.get("plan")
            or ((line.get("pricing") or {}).get("price_details") or {}).get("price")
        )
        price = price if isinstance(price, dict) else {}
        parent = (line.get("parent") or {}).get("subscription_item_details") or {}
        proration = bool(line.get("proration") or parent.get("proration"))
        unit = None
        if price and price.get("billing_scheme", "per_unit") == "per_unit" and not proration:
            candidate = price.get("unit_amount_decimal") or price.get("unit_amount") or price.get("amount")
            if candidate is not None and Decimal(str(candidate)) * quantity == amount:
                unit = candidate
        if unit is None:
            unit = Decimal(amount) / Decimal(quantity)
        discount = sum(int(d.get("amount") or 0) for d in line.get("discount_amounts") or [])
        product = price.get("product") or (line.get("pricing") or {}).get("price_details", {}).get("product")
        data = {
            "external_id": line.get("id"),
            "description": (line.get("description") or price.get("nickname") or price.get("name") or "Stripe")[:2000],
            "quantity": quantity,
            "unit_amount": to_decimal(unit, currency),
            "amount": to_decimal(amount, currency),
            "product_ref": _id(product),
            "proration": proration,
            "taxes": self._line_taxes(run, invoice, line, rates),
        }
        if discount:
            data["discount_amount"] = to_decimal(discount, currency)
        period = line.get("period") or {}
        if period.get("start") and period.get("end"):
            data["period"] = {"start": iso(period["start"]), "end": iso(period["end"])}
        return data

    def _invoice_data(self, run, invoice):
        currency = invoice["currency"]
        rates = {}
        for tax_rate in invoice.get("default_tax_rates") or []:
            if isinstance(tax_rate, dict):
                rates[tax_rate["id"]] = tax_rate
        transitions = invoice.get("status_transitions") or {}
        tax = invoice.get("tax")
        if tax is None:
            tax = sum(int(t.get("amount") or 0) for t in invoice.get("total_tax_amounts") or [])
        return {
            "customer_ref": _id(invoice.get("customer")),
            "subscription_ref": self._invoice_subscription(invoice),
            "number": invoice.get("number") or None,
            "status": invoice["status"],
            "currency": currency.upper(),
            "date": iso_date(invoice.get("effective_at") or transitions.get("finalized_at") or invoice["created"]),
            "due_date": iso_date(invoice.get("due_date")),
            "lines": [self._line_data(run, invoice, line, rates) for line in self._invoice_lines(run, invoice)],
            "subtotal": to_decimal(invoice.get("subtotal") or 0, currency),
            "tax": to_decimal(tax or 0, currency),
            "total": to_decimal(invoice.get("total") or 0, currency),
            "amount_paid": to_decimal(invoice.get("amount_paid") or 0, currency),
            "amount_due": to_decimal(invoice.get("amount_due") or 0, currency),
            "metadata": _meta(
                {
                    "stripe_id": invoice["id"],
                    "billing_reason": invoice.get("billing_reason"),
                    "hosted_invoice_url": invoice.get("hosted_invoice_url"),
                }
            ),
        }

    def _emit_invoice(self, run, invoice):
        """The invoice, after its customer and (fetched) subscription."""
        self._ensure_customer(run, invoice.get("customer"))
        subscription_id = self._invoice_subscription(invoice)
        if subscription_id and "subscription" in run.fetch and ("subscription", subscription_id) not in run.keys:
            subscription = self._get(run, "/v1/subscriptions", subscription_id)
            if subscription:
                self._emit_subscription(run, subscription)
        self._emit(run, "invoice", invoice["id"], self._invoice_data(run, invoice))

    def _on_invoice(self, run, obj):
        invoice = self._fresh(run, "invoice", obj, "/v1/invoices")
        if invoice.get("deleted"):
            run.note(f"draft invoice {obj['id']} was deleted at Stripe.")
            return
        self._emit_invoice(run, invoice)
        failed = run.type == "invoice.payment_failed"
        if failed or (invoice.get("status") == "paid" and invoice.get("amount_paid")):
            self._invoice_payment(run, invoice, failed=failed)

    def _invoice_payment(self, run, invoice, failed=False):
        """The payment of an invoice: its PaymentIntent, else what the invoice says of it."""
        intent = invoice.get("payment_intent")
        charge = invoice.get("charge")
        subscription_id = self._invoice_subscription(invoice)
        if intent:
            current = self._fresh(run, "payment_intent", intent, "/v1/payment_intents")
            if current:
                self._emit_payment_intent(run, current, invoice_ref=invoice["id"], subscription_ref=subscription_id)
                return
        elif not charge:
            if not failed:
                run.note(f"invoice {invoice['id']} was paid without a Stripe payment (out of band or credit balance).")
            return
        currency = invoice["currency"]
        transitions = invoice.get("status_transitions") or {}
        attempt = invoice.get("attempt_count") or 0
        data = {
            "customer_ref": _id(invoice.get("customer")),
            "invoice_ref": invoice["id"],
            "amount": to_decimal(invoice.get("amount_due" if failed else "amount_paid") or 0, currency),
            "currency": currency.upper(),
            "date": iso_date(
                (None if failed else transitions.get("paid_at")) or run.payload.get("created") or invoice["created"]
            ),
            "status": "failed" if failed else "succeeded",
            "method": None,
            "failure_reason": ((invoice.get("last_finalization_error") or {}).get("message")) if failed else None,
            "metadata": _meta(
                {
                    "charge_ref": _id(charge),
                    "failure_key": _id(charge) or f"{_id(intent)}:{attempt}",
                    "subscription_ref": subscription_id,
                }
            ),
        }
        self._emit(run, "payment", _id(intent) or _id(charge), data)

    # ------------------------------------------------------------------
    # Payments
    # ------------------------------------------------------------------
    def _emit_payment_intent(self, run, intent, invoice_ref=None, subscription_ref=None):
        customer_id = _id(intent.get("customer"))
        if not customer_id:
            run.note(f"payment {intent['id']} has no Stripe customer: not booked.")
            return
        self._ensure_customer(run, customer_id)
        invoice_ref = invoice_ref or _id(intent.get("invoice"))
        if invoice_ref and not subscription_ref:
            invoice = intent.get("invoice") if isinstance(intent.get("invoice"), dict) else None
            if invoice is None and "invoice" in run.fetch:
                invoice = self._get(run, "/v1/invoices", invoice_ref)
            if invoice:
                subscription_ref = self._invoice_subscription(invoice)
                if ("invoice", invoice_ref) not in run.keys and not self._bound(run, "invoice", invoice_ref):
                    self._emit_invoice(run, invoice)
        status = PAYMENT_INTENT_STATUS.get(intent.get("status"), "pending")
        error = intent.get("last_payment_error") or {}
        if intent.get("status") == "requires_payment_method" and error:
            status = "failed"
        currency = intent["currency"]
        amount = intent.get("amount")
        if status == "succeeded" and intent.get("amount_received") is not None:
            amount = intent["amount_received"]
        charge = intent.get("latest_charge")
        data = {
            "customer_ref": customer_id,
            "invoice_ref": invoice_ref,
            "amount": to_decimal(amount or 0, currency),
            "currency": currency.upper(),
            "date": iso_date(intent.get("created")),
            "status": status,
            "method": (intent.get("payment_method_types") or [None])[0],
            "failure_reason": (error.get("message") or error.get("code")) if status == "failed" else None,
            "metadata": _meta(
                {
                    "charge_ref": _id(charge) or _id(error.get("charge")),
                    "failure_key": _id(charge) or _id(error.get("charge")) or intent["id"],
                    "subscription_ref": subscription_ref,
                    "decline_code": error.get("decline_code") or error.get("code"),
                }
            ),
        }
        self._emit(run, "payment", intent["id"], data)

    def _on_payment_intent(self, run, obj):
        intent = self._fresh(run, "payment_intent", obj, "/v1/payment_intents")
        self._emit_payment_intent(run, intent)

    # ------------------------------------------------------------------
    # Refunds
    # ------------------------------------------------------------------
    def _emit_refund(self, run, refund, charge):
        customer_id = _id(charge.get("customer"))
        if not customer_id:
            run.note(f"refund {refund['id']} is for a payment without Stripe customer: not booked.")
            return
        payment_ref = _id(refund.get("payment_intent")) or _id(charge.get("payment_intent")) or charge["id"]
        self._ensure_customer(run, customer_id)
        if (
            payment_ref.startswith("pi_")
            and "payment_intent" in run.fetch
            and not self._bound(run, "payment", payment_ref)
        ):
            intent = self._get(run, "/v1/payment_intents", payment_ref)
            if intent and intent.get("status") == "succeeded":
                self._emit_payment_intent(run, intent)
        currency = refund.get("currency") or charge["currency"]
        self._emit(
            run,
            "refund",
            refund["id"],
            {
                "payment_ref": payment_ref,
                "invoice_ref": _id(charge.get("invoice")),
                "customer_ref": customer_id,
                "amount": to_decimal(refund["amount"], currency),
                "currency": currency.upper(),
                "date": iso_date(refund.get("created") or run.payload.get("created")),
                "status": REFUND_STATUS.get(refund.get("status"), "pending"),
                "reason": refund.get("reason") or None,
                "metadata": _meta(
                    {
                        "charge_ref": charge["id"],
                        "odoo_move_id": (refund.get("metadata") or {}).get("odoo_move_id"),
                    }
                ),
            },
        )

    def _on_refund(self, run, obj):
        if obj.get("object") == "charge":
            charge = self._fresh(run, "charge", obj, "/v1/charges")
            refunds = charge.get("refunds") if isinstance(charge.get("refunds"), dict) else None
            if refunds is None or refunds.get("has_more"):
                # the charge lists its refunds only when expanded: ask for them
                refunds = {"data": run.api.list_all("/v1/refunds", {"charge": charge["id"]})}
            for refund in refunds.get("data") or []:
                self._emit_refund(run, refund, charge)
            if not run.messages:
                run.note(f"charge {charge['id']} has no refund to book.")
            return
        refund = self._fresh(run, "refund", obj, "/v1/refunds")
        charge = self._required(run, "/v1/charges", refund.get("charge"))
        if not charge:
            run.note(f"refund {refund['id']} has no charge at Stripe: not booked.")
            return
        self._emit_refund(run, refund, charge)

    # ------------------------------------------------------------------
    # Disputes: an exception for finance, no canonical message
    # ------------------------------------------------------------------
    def _on_dispute(self, run, dispute):
        Exception_ = self.env["integration.exception"].sudo()
        currency = dispute.get("currency") or "usd"
        amount = f"{to_decimal(dispute.get('amount') or 0, currency)} {currency.upper()}"
        payment_ref = _id(dispute.get("payment_intent")) or _id(dispute.get("charge"))
        Binding = self.env["integration.binding"]
        payment = Binding._find_record(run.backend, "payment", payment_ref) if payment_ref else None
        record = payment or None
        who = payment.partner_id.display_name if payment else "an unknown customer"
        key = f"dispute:{dispute['id']}"
        status = dispute.get("status")
        due = iso_date((dispute.get("evidence_details") or {}).get("due_by"))
        reason = (dispute.get("reason") or "general").replace("_", " ")
        if status in ("won", "warning_closed"):
            open_exceptions = Exception_.search(
                [("backend_id", "=", run.backend.id), ("dedup_key", "=", key), ("state", "in", ("new", "in_progress"))]
            )
            for exc in open_exceptions:
                exc.message_post(
                    body=self.env._("Dispute %(id)s closed at Stripe: %(status)s.", id=dispute["id"], status=status)
                )
                exc.action_resolve()
            run.event._set_done(note=f"dispute {dispute['id']} closed ({status}): nothing lost.")
            return
        if status == "lost":
            text = (
                f"The dispute {dispute['id']} of {amount} by {who} ({reason}) was lost: Stripe took the amount "
                f"and the dispute fee from the balance."
            )
            hint = "Book the loss (a credit note or a write-off of the payment), then mark this exception resolved."
        else:
            text = (
                f"{who} disputes a payment of {amount} ({reason}, payment {payment_ref or '?'}). "
                f"Evidence is due by {due or 'the date shown in Stripe'}."
            )
            hint = None
        Exception_._open(run.event, "dispute", text, severity="high", records=record, key=key, hint=hint)
        run.event._set_done(note=f"dispute {dispute['id']} ({status}): exception for finance.")

    # ------------------------------------------------------------------
    # Payouts
    # ------------------------------------------------------------------
    def _on_payout(self, run, payout):
        payout = self._required(run, "/v1/payouts", payout)
        currency = payout["currency"]
        transactions = []
        for txn in run.api.list_all("/v1/balance_transactions", {"payout": payout["id"], "expand": ["data.source"]}):
            if txn.get("type") == "payout":
                continue
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
                    _id(source.get("payment_intent")) or source.get("id") if isinstance(source, dict) else _id(source)
                )
            elif kind == "refund":
                item["refund_ref"] = _id(source)
            transactions.append(item)
        self._emit(
            run,
            "payout",
            payout["id"],
            {
                "amount": to_decimal(payout["amount"], currency),
                "currency": currency.upper(),
                "date": iso_date(payout.get("arrival_date") or payout.get("created")),
                "status": payout.get("status")
                if payout.get("status") in ("pending", "in_transit", "paid", "failed", "canceled")
                else "pending",
                "reference": payout["id"],
                "transactions": transactions,
                "metadata": _meta({"stripe_id": payout["id"], "destination": _id(payout.get("destination"))}),
            },
        )
