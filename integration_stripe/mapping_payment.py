"""Stripe payments, refunds, payouts and disputes -> canonical data (no ORM,
no API calls here; see :mod:`.mapping`)."""

from . import reading
from .amounts import to_decimal
from .const import BALANCE_TRANSACTION_TYPES, PAYMENT_INTENT_STATUS, REFUND_STATUS
from .mapping import invoice_subscription, metadata, ref


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
