"""Events as the senders make them: Stripe events or canonical messages,
correctly signed (Stripe-Signature, Standard Webhooks)."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

SECRET = "whsec_" + base64.b64encode(b"bench-secret-bench-secret-bench!").decode()
STRIPE_SECRET = "whsec_benchstripesecret0123456789abcdef"


def stripe_signature(secret, payload, timestamp=None):
    timestamp = int(timestamp if timestamp is not None else time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def standard_signature(secret, msg_id, payload, timestamp=None):
    timestamp = int(timestamp if timestamp is not None else time.time())
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + payload, hashlib.sha256).digest()
    return str(timestamp), "v1," + base64.b64encode(mac).decode()


class Event:
    """One delivery: its dedup id, its body and how to sign it."""

    __slots__ = ("event_id", "kind", "body", "connector", "key")

    def __init__(self, event_id, kind, body, connector, key=None):
        self.event_id, self.kind, self.body, self.connector, self.key = event_id, kind, body, connector, key

    def headers(self, secret=None, timestamp=None):
        headers = {"Content-Type": "application/json"}
        if self.connector == "stripe":
            headers["Stripe-Signature"] = stripe_signature(secret or STRIPE_SECRET, self.body, timestamp)
        else:
            ts, sig = standard_signature(secret or SECRET, self.event_id, self.body, timestamp)
            headers.update({"webhook-id": self.event_id, "webhook-timestamp": ts, "webhook-signature": sig})
        return headers


def _iso(when):
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Lifecycles:
    """Stripe subscription lifecycles: customer, subscription, invoice
    finalized, invoice paid -- as Stripe events or as canonical messages."""

    def __init__(self, connector, run_id=None, amount_cents=2000, currency="usd"):
        self.connector = connector
        self.run = run_id or uuid.uuid4().hex[:8]
        self.amount = amount_cents
        self.currency = currency
        self.base = datetime.now(UTC) - timedelta(hours=1)

    def ids(self, n):
        tag = f"{self.run}{n:07d}"
        return {
            "cus": f"cus_{tag}",
            "sub": f"sub_{tag}",
            "in": f"in_{tag}",
            "ch": f"ch_{tag}",
            "pi": f"pi_{tag}",
            "email": f"bench-{tag}@example.com",
            "name": f"Bench Customer {tag}",
        }

    def customer(self, n, step=0):
        return self.lifecycle(n)[0] if step == 0 else None

    def lifecycle(self, n):
        i = self.ids(n)
        when = [self.base + timedelta(seconds=n % 3000, milliseconds=k * 100) for k in range(4)]
        if self.connector == "stripe":
            return self._stripe(n, i, when)
        return self._canonical(n, i, when)

    # -- canonical (Standard Webhooks) ------------------------------------
    def _canonical(self, n, i, when):
        amount = f"{self.amount / 100:.2f}"
        cur = self.currency.upper()
        day = when[2].date().isoformat()
        messages = [
            ("customer", i["cus"], {"name": i["name"], "email": i["email"], "is_company": False}),
            (
                "subscription",
                i["sub"],
                {
                    "customer_ref": i["cus"],
                    "quantity": 1,
                    "status": "active",
                    "plan": {
                        "code": "pro",
                        "name": "Pro",
                        "amount": amount,
                        "currency": cur,
                        "interval": "month",
                        "interval_count": 1,
                    },
                    "current_period_start": _iso(when[1]),
                    "current_period_end": _iso(when[1] + timedelta(days=30)),
                },
            ),
            (
                "invoice",
                i["in"],
                {
                    "customer_ref": i["cus"],
                    "subscription_ref": i["sub"],
                    "number": f"BENCH-{self.run}-{n}",
                    "status": "open",
                    "currency": cur,
                    "date": day,
                    "total": amount,
                    "lines": [{"description": "Pro plan", "quantity": 1, "unit_amount": amount, "amount": amount}],
                },
            ),
            (
                "payment",
                i["ch"],
                {
                    "customer_ref": i["cus"],
                    "invoice_ref": i["in"],
                    "amount": amount,
                    "currency": cur,
                    "date": day,
                    "status": "succeeded",
                    "method": "card",
                },
            ),
        ]
        events = []
        for k, (type_, ext, data) in enumerate(messages):
            body = {
                "type": type_,
                "schema_version": "1.0",
                "source": "bench",
                "external_id": ext,
                "occurred_at": _iso(when[k]),
                "data": data,
            }
            event_id = f"msg_{self.run}_{n:07d}_{k}"
            events.append(Event(event_id, type_, json.dumps(body, separators=(",", ":")).encode(), "canonical", ext))
        return events

    # -- Stripe events ----------------------------------------------------
    def _stripe(self, n, i, when):
        ts = [int(w.timestamp()) for w in when]
        customer = {
            "id": i["cus"],
            "object": "customer",
            "name": i["name"],
            "email": i["email"],
            "created": ts[0],
            "currency": self.currency,
            "livemode": False,
            "metadata": {},
            "address": None,
            "phone": None,
            "preferred_locales": [],
            "tax_exempt": "none",
            "invoice_prefix": i["cus"][-8:].upper(),
        }
        price = {
            "id": "price_bench_pro",
            "object": "price",
            "currency": self.currency,
            "unit_amount": self.amount,
            "recurring": {"interval": "month", "interval_count": 1},
            "product": "prod_bench_pro",
            "nickname": "Pro",
            "type": "recurring",
            "active": True,
        }
        period = {"current_period_start": ts[1], "current_period_end": ts[1] + 30 * 86400}
        subscription = {
            "id": i["sub"],
            "object": "subscription",
            "customer": i["cus"],
            "status": "active",
            "created": ts[1],
            "start_date": ts[1],
            "cancel_at_period_end": False,
            "canceled_at": None,
            "trial_end": None,
            "currency": self.currency,
            "livemode": False,
            "metadata": {},
            "items": {
                "object": "list",
                "data": [
                    {"id": f"si_{i['sub'][4:]}", "object": "subscription_item", "price": price, "quantity": 1, **period}
                ],
            },
            "quantity": 1,
            "plan": {**price, "object": "plan", "amount": self.amount, "interval": "month", "interval_count": 1},
            **period,
        }
        line = {
            "id": f"il_{i['in'][3:]}",
            "object": "line_item",
            "amount": self.amount,
            "currency": self.currency,
            "description": "1 x Pro (at $20.00 / month)",
            "quantity": 1,
            "price": price,
            "proration": False,
            "period": {"start": ts[1], "end": ts[1] + 30 * 86400},
            "subscription": i["sub"],
            "tax_amounts": [],
            "discount_amounts": [],
        }
        invoice = {
            "id": i["in"],
            "object": "invoice",
            "customer": i["cus"],
            "subscription": i["sub"],
            "number": f"BENCH-{self.run}-{n}",
            "status": "open",
            "currency": self.currency,
            "created": ts[2],
            "status_transitions": {"finalized_at": ts[2], "paid_at": None},
            "due_date": None,
            "subtotal": self.amount,
            "tax": None,
            "total": self.amount,
            "amount_due": self.amount,
            "amount_paid": 0,
            "amount_remaining": self.amount,
            "collection_method": "charge_automatically",
            "livemode": False,
            "metadata": {},
            "lines": {"object": "list", "data": [line], "has_more": False},
            "charge": None,
            "payment_intent": i["pi"],
            "paid": False,
        }
        paid = dict(
            invoice,
            status="paid",
            paid=True,
            amount_paid=self.amount,
            amount_due=self.amount,
            amount_remaining=0,
            charge=i["ch"],
            status_transitions={"finalized_at": ts[2], "paid_at": ts[3]},
        )
        objects = [
            ("customer.created", customer),
            ("customer.subscription.created", subscription),
            ("invoice.finalized", invoice),
            ("invoice.paid", paid),
        ]
        events = []
        for k, (type_, obj) in enumerate(objects):
            event_id = f"evt_{self.run}{n:07d}{k}"
            body = {
                "id": event_id,
                "object": "event",
                "api_version": "2024-06-20",
                "created": ts[k],
                "type": type_,
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "data": {"object": obj},
            }
            events.append(
                Event(
                    event_id,
                    type_.split(".")[0] if k < 3 else "payment",
                    json.dumps(body, separators=(",", ":")).encode(),
                    "stripe",
                    obj["id"],
                )
            )
        return events
