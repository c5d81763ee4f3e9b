"""Stripe's streams: one page of each, from the API (no ORM here).

* ``stripe_events``: missed-event recovery from the Events API (Stripe
  keeps events 30 days), newest first;
* ``stripe_backfill``: customers, products, prices, subscriptions, then
  invoices, as synthetic ``*.updated`` events;
* ``stripe_payouts``: paid payouts of the last 90 days, each a synthetic
  ``payout.reconcile`` event.

Each function returns the page the engine's ``integration.stream`` expects:
``items`` (``external_id``, ``event_type``, ``occurred_at``, ``payload``),
the ``cursor`` to save and ``has_more``.
"""

import json
import time

from .amounts import to_datetime
from .client import StripeNotFound

#: how far back the missed-event recovery looks (Stripe keeps events 30 days)
EVENTS_WINDOW_DAYS = 30
PAYOUTS_WINDOW_DAYS = 90
#: backfill phases, in dependency order: (phase, list path, synthetic event type)
BACKFILL_PHASES = (
    ("customers", "/v1/customers", "customer.updated"),
    ("products", "/v1/products", "product.updated"),
    ("prices", "/v1/prices", "price.updated"),
    ("subscriptions", "/v1/subscriptions", "customer.subscription.updated"),
    ("invoices", "/v1/invoices", "invoice.updated"),
)


def after(cursor):
    """``after:<id>`` -> id; a finished sweep (``done``) or nothing starts over."""
    return cursor[6:] if cursor.startswith("after:") and len(cursor) > 6 else None


def synthetic_event(event_id, event_type, obj, created):
    """An event made of an object just read from the API (not fetched again when processed)."""
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": created,
        "livemode": bool(obj.get("livemode")),
        "data": {"object": obj},
        "odoo_fresh": True,
    }


def _item(event_id, event_type, occurred, payload):
    return {
        "external_id": event_id,
        "event_type": event_type,
        "occurred_at": to_datetime(occurred),
        "payload": json.dumps(payload),
    }


def events_page(api, cursor, page_size, livemode):
    """One page of the Events API back to 30 days ago; events of the other mode are left out.

    Events already in the inbox are no-ops at ingestion; the others are
    processed as if their webhook had arrived.
    """
    params = {"limit": min(page_size or 100, 100), "created": {"gte": int(time.time()) - EVENTS_WINDOW_DAYS * 86400}}
    if after(cursor):
        params["starting_after"] = after(cursor)
    page = api.get("/v1/events", **params)
    events = page.get("data") or []
    items = [
        _item(evt["id"], evt["type"], evt["created"], evt)
        for evt in events
        if bool(evt.get("livemode")) == bool(livemode)
    ]
    has_more = bool(page.get("has_more") and events)
    return {"items": items, "cursor": f"after:{events[-1]['id']}" if has_more else "done", "has_more": has_more}


def backfill_page(api, cursor, page_size, run):
    """One page of the backfill; ``<phase>:<last id>`` cursor.

    Items are synthetic ``*.updated`` events (``invoice.paid`` for paid
    invoices, so that their payment is booked too) whose ids contain the
    run's start, so that a resumed run re-reads nothing twice while a new
    run brings everything up to date again.

    :param run: the run's start (unix time)
    """
    phase, _sep, last = cursor.partition(":")
    phases = [name for name, _path, _type in BACKFILL_PHASES]
    if phase not in phases:
        phase, last = phases[0], ""
    index = phases.index(phase)
    _name, path, event_type = BACKFILL_PHASES[index]
    params = {"limit": min(page_size or 100, 100)}
    if last:
        params["starting_after"] = last
    if phase == "subscriptions":
        params["status"] = "all"
    elif phase == "prices":
        params["expand"] = ["data.product"]
    try:
        page = api.get(path, **params)
    except StripeNotFound:
        if phase != "prices":
            raise
        # accounts (and emulators) that only know legacy plans
        page, event_type = api.get("/v1/plans", **params), "plan.updated"
    objects = page.get("data") or []
    now = int(time.time())
    items = []
    for obj in objects:
        kind = "invoice.paid" if phase == "invoices" and obj.get("status") == "paid" else event_type
        event_id = f"backfill_{run}_{obj['id']}"
        items.append(_item(event_id, kind, now, synthetic_event(event_id, kind, obj, now)))
    if page.get("has_more") and objects:
        return {"items": items, "cursor": f"{phase}:{objects[-1]['id']}", "has_more": True}
    if index + 1 < len(phases):
        return {"items": items, "cursor": f"{phases[index + 1]}:", "has_more": True}
    return {"items": items, "cursor": "done:", "has_more": False}


def payouts_page(api, cursor, page_size):
    """Paid payouts of the last 90 days, each an event ``payout.reconcile``."""
    params = {
        "limit": min(page_size or 100, 100),
        "status": "paid",
        "created": {"gte": int(time.time()) - PAYOUTS_WINDOW_DAYS * 86400},
    }
    if after(cursor):
        params["starting_after"] = after(cursor)
    page = api.get("/v1/payouts", **params)
    payouts = page.get("data") or []
    now = int(time.time())
    items = []
    for payout in payouts:
        event_id = f"recon_{payout['id']}"
        occurred = payout.get("arrival_date") or payout.get("created")
        items.append(
            _item(event_id, "payout.reconcile", occurred, synthetic_event(event_id, "payout.reconcile", payout, now))
        )
    has_more = bool(page.get("has_more") and payouts)
    return {"items": items, "cursor": f"after:{payouts[-1]['id']}" if has_more else "done", "has_more": has_more}
