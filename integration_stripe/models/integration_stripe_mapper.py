"""Stripe events -> canonical messages: what to read and in which order.

One event may yield several messages, applied in order in one transaction:
the objects it refers to that Odoo does not know yet (its customer, the
invoice of a payment...) first, then the object itself. This model decides
which objects to read (:mod:`..fetch`) and which referenced objects to emit
(bindings); the Stripe object -> canonical data transforms are pure
functions (:mod:`..mapping`, :mod:`..mapping_invoice`), disputes open an
exception (``integration.stripe.dispute``).

* objects of the kinds listed on the backend (``stripe_fetch_objects``) are
  read again from the API: the message carries the current state;
* every message carries the event's ``created`` time as ``occurred_at``:
  bindings skip a message older than the state already applied, so a late
  event never overwrites newer data (the fetched state of a later event is
  at least as new as its ``created``);
* referenced objects are emitted only when Odoo has no binding for them yet.
"""

import json

from odoo import api, models

from odoo.addons.integration_base.schemas import short

from .. import mapping, mapping_invoice, mapping_payment, reading
from ..amounts import iso, to_datetime, to_decimal
from ..const import CUSTOMER_EXPAND
from ..fetch import StripeFetcher

#: canonical type -> (kind of Stripe object, the event whose mapping reads it)
CURRENT_STATE_EVENTS = {
    "customer": ("customer", "customer.updated"),
    "product": ("product", "product.updated"),
    "subscription": ("subscription", "customer.subscription.updated"),
    "invoice": ("invoice", "invoice.updated"),
}


class _Run:
    """The state of mapping one event: its fetcher and the messages so far."""

    def __init__(self, event, payload, connector):
        self.event = event
        self.backend = event.backend_id.sudo()
        self.payload = payload
        self.type = payload.get("type") or event.event_type
        # objects of a backfill or recovery page were read from the API just now
        kinds = () if payload.get("odoo_fresh") else self.backend._stripe_fetch_set()
        self.fetch = StripeFetcher(lambda: connector._api(self.backend), kinds, event._add_note)
        self.occurred_at = iso(payload.get("created")) if payload.get("created") else None
        self.messages = []
        self.keys = set()

    def emit(self, canonical_type, external_id, data, action="upsert"):
        if (canonical_type, external_id) in self.keys:
            return
        self.keys.add((canonical_type, external_id))
        self.messages.append(mapping.message(canonical_type, external_id, data, action, self.occurred_at))

    def note(self, text):
        self.event._add_note(text)


class IntegrationStripeMapper(models.AbstractModel):
    _name = "integration.stripe.mapper"
    _description = "Stripe mapper (Stripe events to canonical messages)"

    @api.model
    def _map_event(self, event, payload, connector):
        """Canonical messages of one Stripe event (see the module docstring)."""
        run = _Run(event, payload, connector)
        obj = (payload.get("data") or {}).get("object") or {}
        reading.identifier(obj, obj.get("object") if isinstance(obj, dict) else "object")
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
            self._emit_payment_intent(run, run.fetch.fresh("payment_intent", obj, "/v1/payment_intents"))
        elif kind.startswith("charge.dispute."):
            self.env["integration.stripe.dispute"]._on_dispute(event, run.backend, obj)
        elif kind in ("charge.refunded", "charge.refund.updated") or kind.startswith("refund."):
            self._on_refund(run, obj)
        elif kind.startswith("payout."):
            self._on_payout(run, obj)
        else:
            run.note(f"{kind}: no mapping.")
        return run.messages

    @api.model
    def _current_message(self, event, message, connector):
        """The canonical message of ``message``'s object as Stripe has it now, when the
        backend reads that kind of object from the API (else None)."""
        kind, event_type = CURRENT_STATE_EVENTS.get(message["type"], (None, None))
        if not kind or kind not in event.backend_id.sudo()._stripe_fetch_set():
            return None
        run = _Run(event, {"type": event_type}, connector)
        obj = {"id": message["external_id"]}
        handlers = {
            "customer": self._on_customer,
            "product": self._on_product,
            "subscription": self._on_subscription,
            "invoice": self._on_invoice,
        }
        handlers[message["type"]](run, obj)
        return next(
            (m for m in run.messages if (m["type"], m["external_id"]) == (message["type"], message["external_id"])),
            None,
        )

    @api.model
    def _event_subject(self, backend, event):
        """The business object of a Stripe event, read defensively from its payload (never raises)."""
        subject = {"label": event.event_type or "", "reference": event.external_id}
        try:
            obj = json.loads(event.sudo().payload or "{}")["data"]["object"]
            kind = obj.get("object") if isinstance(obj.get("object"), str) else ""
            subject.update(
                label=self._kind_label(kind),
                reference=self._text(obj.get("number")) or self._text(obj.get("id")) or event.external_id,
            )
            customer = obj.get("id") if kind == "customer" else obj.get("customer")
            customer_id = customer.get("id") if isinstance(customer, dict) else customer
            partner = (
                self.env["integration.binding"].sudo()._find_record(backend, "customer", customer_id)
                if isinstance(customer_id, str)
                else None
            )
            subject["partner"] = partner or None
            subject["customer"] = next(
                (
                    self._text(obj.get(key))
                    for key in ("customer_name", "name", "customer_email", "email")
                    if self._text(obj.get(key))
                ),
                customer_id if isinstance(customer_id, str) else None,
            )
            amount = next(
                (obj.get(key) for key in ("total", "amount", "amount_due", "unit_amount") if obj.get(key) is not None),
                None,
            )
            code = obj.get("currency") if isinstance(obj.get("currency"), str) else None
            if amount is not None:
                try:
                    subject["amount"] = f"{to_decimal(amount, code)} {(code or '').upper()}".strip()
                except (ValueError, ArithmeticError):
                    subject["amount"] = short(f"{amount} {code or ''}", 60)
            created = obj.get("created") if isinstance(obj.get("created"), int) else None
            subject["date"] = to_datetime(created).date() if created else None
        except (*reading.UNREADABLE, OverflowError, OSError):
            return subject  # what could be read so far: the payload is odd, the event is named anyway
        return subject

    def _kind_label(self, kind):
        labels = {
            "customer": self.env._("Customer"),
            "subscription": self.env._("Subscription"),
            "invoice": self.env._("Invoice"),
            "payment_intent": self.env._("Payment"),
            "charge": self.env._("Payment"),
            "refund": self.env._("Refund"),
            "payout": self.env._("Payout"),
            "product": self.env._("Product"),
            "price": self.env._("Price"),
            "plan": self.env._("Plan"),
            "dispute": self.env._("Dispute"),
        }
        return labels.get(kind) or self.env._("Stripe object")

    @staticmethod
    def _text(value):
        return short(value, 120) if isinstance(value, str) and value.strip() else None

    # ------------------------------------------------------------------
    # What Odoo knows
    # ------------------------------------------------------------------
    def _bound(self, run, canonical_type, external_id):
        return bool(external_id) and bool(
            self.env["integration.binding"]._find(run.backend, canonical_type, external_id)
        )

    def _product_name(self, run, product_id):
        record = (
            self.env["integration.binding"]._find_record(run.backend, "product", product_id) if product_id else None
        )
        return record.name if record else None

    def _ensure_customer(self, run, customer):
        """Emit the customer first when Odoo does not know it yet (and the API may be asked)."""
        customer_id = mapping.ref(customer)
        if not customer_id or ("customer", customer_id) in run.keys or self._bound(run, "customer", customer_id):
            return
        if "customer" not in run.fetch.kinds:
            return  # the applier waits for it (MissingReference, retried)
        current = run.fetch.get("/v1/customers", customer_id, expand=CUSTOMER_EXPAND)
        if current and not current.get("deleted"):
            run.emit("customer", customer_id, mapping.customer_data(current))

    # ------------------------------------------------------------------
    # Customers, products, subscriptions
    # ------------------------------------------------------------------
    def _on_customer(self, run, obj):
        if run.type == "customer.deleted" or obj.get("deleted"):
            run.emit("customer", obj["id"], mapping.deleted_customer_data(obj), action="delete")
            return
        customer = run.fetch.fresh("customer", obj, "/v1/customers", expand=CUSTOMER_EXPAND)
        if customer.get("deleted"):
            run.emit("customer", obj["id"], {"name": obj.get("name") or obj["id"]}, action="delete")
            return
        run.emit("customer", customer["id"], mapping.customer_data(customer))

    def _on_product(self, run, obj):
        if run.type == "product.deleted" or obj.get("deleted"):
            run.emit("product", obj["id"], mapping.deleted_product_data(obj), action="delete")
            return
        product = run.fetch.fresh("product", obj, "/v1/products")
        run.emit("product", product["id"], mapping.product_data(product))

    def _on_price(self, run, price):
        """A price (or legacy plan) makes sure its product is in Odoo, with its default price."""
        product = price.get("product")
        if isinstance(product, dict):
            product = run.fetch.fresh("product", product, "/v1/products")
        elif product:
            product = run.fetch.get("/v1/products", product)
        if not product:
            run.note(
                f"{price.get('id')}: product {mapping.ref(price.get('product'))} is not at Stripe: nothing to apply."
            )
            return
        run.emit("product", product["id"], mapping.product_data(product, price))

    def _emit_subscription(self, run, subscription, deleted=False):
        self._ensure_customer(run, subscription.get("customer"))
        _item, price = mapping.subscription_price(subscription)
        product_name = None if mapping.plan_name(price) else self._product_name(run, mapping.ref(price.get("product")))
        run.emit(
            "subscription",
            subscription["id"],
            mapping.subscription_data(subscription, product_name),
            action="delete" if deleted else "upsert",
        )

    def _on_subscription(self, run, obj):
        subscription = run.fetch.fresh("subscription", obj, "/v1/subscriptions")
        self._emit_subscription(run, subscription, deleted=run.type == "customer.subscription.deleted")

    # ------------------------------------------------------------------
    # Invoices and payments
    # ------------------------------------------------------------------
    def _emit_invoice(self, run, invoice):
        """The invoice, after its customer and (fetched) subscription."""
        self._ensure_customer(run, invoice.get("customer"))
        subscription_id = mapping.invoice_subscription(invoice)
        if subscription_id and "subscription" in run.fetch.kinds and ("subscription", subscription_id) not in run.keys:
            subscription = run.fetch.get("/v1/subscriptions", subscription_id)
            if subscription:
                self._emit_subscription(run, subscription)
        lines = run.fetch.invoice_lines(invoice)
        rates = run.fetch.tax_rates(mapping_invoice.missing_tax_rates(invoice, lines))
        run.emit("invoice", invoice["id"], mapping_invoice.invoice_data(invoice, lines, rates))

    def _on_invoice(self, run, obj):
        invoice = run.fetch.fresh("invoice", obj, "/v1/invoices")
        if invoice.get("deleted"):
            run.note(f"draft invoice {obj['id']} was deleted at Stripe.")
            return
        self._emit_invoice(run, invoice)
        failed = run.type == "invoice.payment_failed"
        if failed or (invoice.get("status") == "paid" and invoice.get("amount_paid")):
            self._invoice_payment(run, invoice, failed=failed)

    def _invoice_payment(self, run, invoice, failed=False):
        """The payment of an invoice: its PaymentIntent, else what the invoice says of it."""
        intent, charge = invoice.get("payment_intent"), invoice.get("charge")
        if intent:
            current = run.fetch.fresh("payment_intent", intent, "/v1/payment_intents")
            if current:
                subscription_id = mapping.invoice_subscription(invoice)
                self._emit_payment_intent(run, current, invoice_ref=invoice["id"], subscription_ref=subscription_id)
                return
        elif not charge:
            if not failed:
                run.note(f"invoice {invoice['id']} was paid without a Stripe payment (out of band or credit balance).")
            return
        data = mapping_payment.invoice_payment_data(invoice, failed=failed, event_created=run.payload.get("created"))
        run.emit("payment", mapping.ref(intent) or mapping.ref(charge), data)

    def _emit_payment_intent(self, run, intent, invoice_ref=None, subscription_ref=None):
        customer_id = mapping.ref(intent.get("customer"))
        if not customer_id:
            run.note(f"payment {intent['id']} has no Stripe customer: not booked.")
            return
        self._ensure_customer(run, customer_id)
        invoice_ref = invoice_ref or mapping.ref(intent.get("invoice"))
        if invoice_ref and not subscription_ref:
            invoice = intent.get("invoice") if isinstance(intent.get("invoice"), dict) else None
            if invoice is None and "invoice" in run.fetch.kinds:
                invoice = run.fetch.get("/v1/invoices", invoice_ref)
            if invoice:
                subscription_ref = mapping.invoice_subscription(invoice)
                if ("invoice", invoice_ref) not in run.keys and not self._bound(run, "invoice", invoice_ref):
                    self._emit_invoice(run, invoice)
        run.emit("payment", intent["id"], mapping_payment.intent_payment_data(intent, invoice_ref, subscription_ref))

    # ------------------------------------------------------------------
    # Refunds and payouts
    # ------------------------------------------------------------------
    def _emit_refund(self, run, refund, charge):
        customer_id = mapping.ref(charge.get("customer"))
        if not customer_id:
            run.note(f"refund {refund['id']} is for a payment without Stripe customer: not booked.")
            return
        payment_ref = mapping_payment.refund_payment_ref(refund, charge)
        self._ensure_customer(run, customer_id)
        if (
            payment_ref.startswith("pi_")
            and "payment_intent" in run.fetch.kinds
            and not self._bound(run, "payment", payment_ref)
        ):
            intent = run.fetch.get("/v1/payment_intents", payment_ref)
            if intent and intent.get("status") == "succeeded":
                self._emit_payment_intent(run, intent)
        run.emit("refund", refund["id"], mapping_payment.refund_data(refund, charge, run.payload.get("created")))

    def _on_refund(self, run, obj):
        if obj.get("object") == "charge":
            charge = run.fetch.fresh("charge", obj, "/v1/charges")
            refunds = charge.get("refunds") if isinstance(charge.get("refunds"), dict) else None
            if refunds is None or refunds.get("has_more"):
                # the charge lists its refunds only when expanded: ask for them
                refunds = {"data": run.fetch.list_all("/v1/refunds", {"charge": charge["id"]})}
            for refund in refunds.get("data") or []:
                self._emit_refund(run, refund, charge)
            if not run.messages:
                run.note(f"charge {charge['id']} has no refund to book.")
            return
        refund = run.fetch.fresh("refund", obj, "/v1/refunds")
        charge = run.fetch.required("/v1/charges", refund.get("charge"))
        if not charge:
            run.note(f"refund {refund['id']} has no charge at Stripe: not booked.")
            return
        self._emit_refund(run, refund, charge)

    def _on_payout(self, run, payout):
        payout = run.fetch.required("/v1/payouts", payout)
        transactions = run.fetch.list_all(
            "/v1/balance_transactions", {"payout": payout["id"], "expand": ["data.source"]}
        )
        run.emit("payout", payout["id"], mapping_payment.payout_data(payout, transactions))
