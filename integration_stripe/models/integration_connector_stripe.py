"""Stripe as the billing platform.

* **Webhooks**: ``Stripe-Signature`` verified with the official SDK against
  the current and the previous signing secret (rotation), 5-minute tolerance;
  an event of the other mode (test/live) is refused and stored as rejected.
* **Mapping**: ``integration.stripe.mapper`` turns events into canonical
  customer, product, subscription, invoice, payment, refund and payout
  messages, fetching the current object from the API where configured.
* **Outbound**: Odoo-owned customer fields (billing address, VAT number) and
  refunds of Stripe-paid invoices, through the SDK with idempotency keys and
  the backend's rate limit.
* **Streams**: missed-event recovery (Events API, last 30 days), backfill,
  payout reconciliation.
"""

import json
import time
from datetime import UTC, datetime

import stripe

from odoo import fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.integration_base.exceptions import (
    BusinessError,
    EventRejected,
    PermanentError,
    SignatureError,
    WebhookError,
)

from ..amounts import iso, to_datetime, to_decimal, to_minor
from ..client import StripeApi, StripeNotFound, StripeResult, effective_rate
from ..const import EU_COUNTRIES, SUPPORTED_EVENTS, VAT_TAX_ID_TYPES, VAT_TYPES, WEBHOOK_TOLERANCE

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


class IntegrationConnectorStripe(models.AbstractModel):
    _name = "integration.connector.stripe"
    _inherit = "integration.connector"
    _description = "Stripe connector"

    # ------------------------------------------------------------------
    # API client
    # ------------------------------------------------------------------
    def _api(self, backend):
        """The Stripe API client of ``backend`` (secret key read as superuser)."""
        backend = backend.sudo()
        return StripeApi(
            backend.api_key,
            api_base=backend.api_url,
            api_version=backend.stripe_api_version,
            timeout=backend.timeout,
            rate=effective_rate(backend.rate_limit, backend.stripe_livemode),
            rate_key=backend.id,
        )

    def _test_connection(self, backend):
        try:
            balance = self._api(backend).get("/v1/balance")
        except (PermanentError, StripeNotFound) as exc:
            raise UserError(self.env._("Stripe refused the connection: %s", exc.message)) from exc
        except Exception as exc:
            raise UserError(self.env._("Stripe could not be reached: %s", getattr(exc, "message", exc))) from exc
        if bool(balance.get("livemode")) != bool(backend.stripe_livemode):
            raise UserError(
                self.env._(
                    "The API key belongs to a %(key)s account but the backend is in %(mode)s mode.",
                    key=self.env._("live") if balance.get("livemode") else self.env._("test"),
                    mode=self.env._("live") if backend.stripe_livemode else self.env._("test"),
                )
            )
        available = (
            ", ".join(
                f"{entry.get('amount')} {str(entry.get('currency', '')).upper()}"
                for entry in (balance.get("available") or [])
                if isinstance(entry, dict)
            )
            if isinstance(balance.get("available"), list)
            else ""
        )
        mode = self.env._("live") if backend.stripe_livemode else self.env._("test")
        return self.env._(
            "Connected to Stripe (%(mode)s mode, API version %(version)s).%(balance)s",
            mode=mode,
            version=backend.stripe_api_version,
            balance=f" {self.env._('Available balance (minor units):')} {available}." if available else "",
        )

    def _generate_webhook_secret(self, backend):
        raise UserError(
            self.env._(
                "Stripe makes the signing secret. Roll it in the Stripe Dashboard (Developers > Webhooks), "
                "move the current secret to 'Previous webhook secret' and paste the new one as 'Webhook secret'."
            )
        )

    # ------------------------------------------------------------------
    # Backend lifecycle and the policies of Stripe's messages
    # ------------------------------------------------------------------
    def _backend_create_vals(self, vals):
        if "rate_limit" not in vals:
            vals["rate_limit"] = effective_rate(0, vals.get("stripe_livemode"))
        return vals

    def _backend_setup(self, backend):
        backend._stripe_ensure_streams()

    def _backend_check(self, backend):
        key = (backend.sudo().api_key or "").strip()
        if not key:
            return
        if not key.startswith(("sk_", "rk_")):
            raise ValidationError(self.env._("A Stripe secret key starts with sk_ (or rk_ for a restricted key)."))
        live = key.startswith(("sk_live_", "rk_live_"))
        test = key.startswith(("sk_test_", "rk_test_"))
        if (live and not backend.stripe_livemode) or (test and backend.stripe_livemode):
            raise ValidationError(
                self.env._(
                    "The API key is a %(key)s key but the backend is in %(mode)s mode.",
                    key=self.env._("live") if live else self.env._("test"),
                    mode=self.env._("live") if backend.stripe_livemode else self.env._("test"),
                )
            )

    def _backend_onchange(self, backend):
        backend.rate_limit = effective_rate(0, backend.stripe_livemode)

    def _prepare_accounting(self, backend):
        backend._stripe_prepare_accounting()

    def _payout_accounts(self, backend):
        return backend._stripe_payout_accounts()

    def _sale_tax(self, backend, tax):
        return backend.stripe_tax_map_ids._match(tax)

    def _default_income_product(self, backend, line):
        return backend.stripe_income_product_id

    def _dunning_policy(self, backend):
        return {
            "user": backend.stripe_dunning_user_id,
            "hint": "Stripe retries the card on its schedule. Contact the customer about their payment method; "
            "the activity on the customer is for whoever follows up.",
        }

    def _refund_credit_note(self, backend, message):
        """A refund made in Stripe by the outbound refund of an Odoo credit note (``metadata.odoo_move_id``)."""
        move_id = (message["data"].get("metadata") or {}).get("odoo_move_id")
        Move = self.env["account.move"]
        credit_note = Move.browse(int(move_id)).exists() if move_id else Move
        if credit_note.move_type != "out_refund" or credit_note.company_id != backend.company_id:
            return Move
        return credit_note

    # ------------------------------------------------------------------
    # Inbound: webhook
    # ------------------------------------------------------------------
    def _webhook_verify(self, backend, headers, body):
        header = headers.get("Stripe-Signature")
        if not header:
            raise SignatureError("missing Stripe-Signature header")
        try:
            payload = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SignatureError("the body is not UTF-8: it cannot be a signed Stripe event") from exc
        for secret in backend._get_webhook_secrets():
            try:
                stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=WEBHOOK_TOLERANCE)
            except stripe.SignatureVerificationError as exc:
                reason = str(exc.user_message or exc)
                if "tolerance" in reason:
                    raise SignatureError("stale Stripe-Signature: signed more than 5 minutes ago") from exc
                if "Unable to extract" in reason or "expected scheme" in reason:
                    raise SignatureError("malformed Stripe-Signature header") from exc
                continue  # maybe signed with the other secret (rotation)
            timestamp = int(dict(part.split("=", 1) for part in header.split(",") if "=" in part)["t"])
            if timestamp > time.time() + WEBHOOK_TOLERANCE:
                raise SignatureError("Stripe-Signature timestamp is in the future")
            return
        raise SignatureError("no Stripe-Signature matches the webhook signing secrets")

    def _webhook_identity(self, backend, payload, headers):
        if payload.get("object") != "event" or not payload.get("id") or not payload.get("type"):
            raise WebhookError("not a Stripe event: an object 'event' with an id and a type is expected")
        try:
            occurred_at = datetime.fromtimestamp(int(payload["created"]), UTC)
        except (KeyError, TypeError, ValueError) as exc:
            raise WebhookError("the Stripe event has no valid 'created' timestamp") from exc
        if not isinstance((payload.get("data") or {}).get("object"), dict):
            raise WebhookError("the Stripe event has no data.object")
        identity = {"external_id": payload["id"], "event_type": payload["type"], "occurred_at": occurred_at}
        livemode = payload.get("livemode")
        if livemode is not None and bool(livemode) != bool(backend.stripe_livemode):
            raise EventRejected(
                f"{'live' if livemode else 'test'}-mode event sent to the "
                f"{'live' if backend.stripe_livemode else 'test'}-mode backend {backend.name}",
                identity=identity,
            )
        return identity

    def _event_is_supported(self, backend, event_type):
        return event_type in SUPPORTED_EVENTS

    def _event_map(self, event, payload):
        return self.env["integration.stripe.mapper"]._map_event(event, payload, self)

    # ------------------------------------------------------------------
    # Outbound: customer's Odoo-owned fields, refunds of credit notes
    # ------------------------------------------------------------------
    def _outbound_accepts(self, backend, canonical_type, record):
        Binding = self.env["integration.binding"].sudo()
        if canonical_type == "customer":
            # Stripe customers are created in Stripe; Odoo completes known ones
            return bool(
                Binding.search_count(
                    [
                        ("backend_id", "=", backend.id),
                        ("canonical_type", "=", "customer"),
                        ("res_model", "=", record._name),
                        ("res_id", "=", record.id),
                    ]
                )
            )
        if canonical_type == "refund":
            invoice = record.reversed_entry_id
            if record.move_type != "out_refund" or not invoice:
                return False
            if Binding.search_count(
                [
                    ("backend_id", "=", backend.id),
                    ("canonical_type", "=", "refund"),
                    ("res_model", "=", record._name),
                    ("res_id", "=", record.id),
                ]
            ):
                return False  # booked from a Stripe refund, or already sent
            return bool(self._stripe_payment_of(backend, invoice))
        return False

    def _stripe_payment_of(self, backend, invoice):
        """The Stripe-bound payment of an invoice: ``(binding, payment)`` or None."""
        payments = invoice.matched_payment_ids | invoice._get_reconciled_payments()
        if not payments:
            return None
        binding = (
            self.env["integration.binding"]
            .sudo()
            .search(
                [
                    ("backend_id", "=", backend.id),
                    ("canonical_type", "=", "payment"),
                    ("res_model", "=", "account.payment"),
                    ("res_id", "in", payments.ids),
                ],
                limit=1,
            )
        )
        return (binding, binding._record()) if binding else None

    def _outbound_deliver(self, backend, event, message):
        if message["type"] == "customer":
            return self._push_customer(backend, event, message)
        if message["type"] == "refund":
            return self._push_refund(backend, event, message)
        raise PermanentError(f"Stripe receives no {message['type']} messages from Odoo")

    def _push_customer(self, backend, event, message):
        data = message["data"]
        customer_id = message["external_id"]
        if not customer_id.startswith("cus_"):
            event._add_note(f"{customer_id} is not a Stripe customer: nothing sent.")
            return None
        api = self._api(backend)
        address = data.get("address") or {}
        params = {
            "address": {
                "line1": address.get("line1") or "",
                "line2": address.get("line2") or "",
                "city": address.get("city") or "",
                "postal_code": address.get("zip") or "",
                "state": address.get("state") or "",
                "country": address.get("country") or "",
            }
        }
        customer = api.post(f"/v1/customers/{customer_id}", params, idempotency_key=f"{event.external_id}-customer")
        notes = [f"address of {customer_id} sent"]
        vat = (data.get("vat") or "").replace(" ", "").upper()
        existing = [
            tax_id
            for tax_id in api.list_all(f"/v1/customers/{customer_id}/tax_ids", page_size=None)
            if tax_id.get("type") in VAT_TYPES
        ]
        for tax_id in existing:
            if tax_id.get("value", "").replace(" ", "").upper() != vat:
                api.delete(f"/v1/customers/{customer_id}/tax_ids/{tax_id['id']}")
                notes.append(f"VAT number {tax_id.get('value')} removed")
        if vat and not any(tax_id.get("value", "").replace(" ", "").upper() == vat for tax_id in existing):
            country = vat[:2] if vat[:2].isalpha() else (address.get("country") or "")
            if country == "EL":
                country = "GR"
            tax_type = "eu_vat" if country in EU_COUNTRIES else VAT_TAX_ID_TYPES.get(country)
            if not tax_type:
                raise BusinessError(
                    f"the VAT number {vat} of {data.get('name')} cannot be sent to Stripe: "
                    f"no Stripe tax id type for country {country or '?'}",
                    category="mapping",
                    hint="Enter the VAT number in Stripe by hand, then ignore this exception with that reason.",
                )
            api.post(
                f"/v1/customers/{customer_id}/tax_ids",
                {"type": tax_type, "value": vat},
                idempotency_key=f"{event.external_id}-vat",
            )
            notes.append(f"VAT number {vat} ({tax_type}) added")
        event._add_note("; ".join(notes) + ".")
        return StripeResult(customer)

    def _push_refund(self, backend, event, message):
        """Refund in Stripe what finance credited in Odoo -- at most once per credit note."""
        credit_note = self.env["account.move"].sudo().browse(event.res_id)
        Binding = self.env["integration.binding"].sudo()
        bound = Binding.search(
            [
                ("backend_id", "=", backend.id),
                ("canonical_type", "=", "refund"),
                ("res_model", "=", "account.move"),
                ("res_id", "=", credit_note.id),
            ],
            limit=1,
        )
        if bound:
            event._add_note(f"{credit_note.name} was already refunded in Stripe ({bound.external_id}): not sent again.")
            return None
        if credit_note.state != "posted":
            event._add_note(f"{credit_note.name} is no longer posted: nothing refunded.")
            return None
        data = message["data"]
        found = self._stripe_payment_of(backend, credit_note.reversed_entry_id)
        if not found:
            raise BusinessError(
                f"{credit_note.name} reverses {credit_note.reversed_entry_id.name or '?'}, "
                "which was not paid through Stripe",
                category="missing_record",
                records=credit_note,
            )
        payment_binding, payment = found
        currency = credit_note.currency_id
        amount = credit_note.amount_total
        # what Stripe already gave back for the same invoice (credit notes bound to a Stripe refund)
        others = (
            self.env["account.move"]
            .sudo()
            .search(
                [
                    ("reversed_entry_id", "=", credit_note.reversed_entry_id.id),
                    ("state", "=", "posted"),
                    ("id", "!=", credit_note.id),
                ]
            )
        )
        refunded_ids = Binding.search(
            [
                ("backend_id", "=", backend.id),
                ("canonical_type", "=", "refund"),
                ("res_model", "=", "account.move"),
                ("res_id", "in", others.ids),
            ]
        ).mapped("res_id")
        refunded = sum(others.filtered(lambda move: move.id in refunded_ids).mapped("amount_total"))
        if currency.compare_amounts(amount + refunded, payment.amount) > 0:
            raise BusinessError(
                f"{credit_note.name} refunds {amount:.2f} {currency.name} but only "
                f"{payment.amount - refunded:.2f} of payment {payment_binding.external_id} is left to refund",
                category="refund_exceeds",
                records=credit_note,
            )
        try:
            minor = to_minor(data["amount"], currency.name)
        except ValueError as exc:
            raise BusinessError(str(exc), category="amount_mismatch", records=credit_note) from exc
        params = {
            "amount": minor,
            "metadata": {
                "odoo_credit_note": credit_note.name,
                "odoo_move_id": str(credit_note.id),
                "reason": (data.get("reason") or "")[:400],
            },
        }
        ref = payment_binding.external_id
        params["payment_intent" if ref.startswith("pi_") else "charge"] = ref
        # one key per credit note: a retried or repeated send refunds once
        uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid", "")[:8]
        refund = self._api(backend).post("/v1/refunds", params, idempotency_key=f"odoo-{uuid}-refund-{credit_note.id}")
        return StripeResult(refund)

    def _outbound_response(self, backend, event, message, response):
        if message["type"] == "refund":
            credit_note = self.env["account.move"].sudo().browse(event.res_id)
            self._book_outbound_refund(event, credit_note, response.data)

    def _book_outbound_refund(self, event, credit_note, refund):
        """The refund Stripe made for ``credit_note`` (answer of the outbound call), booked once."""
        if not refund.get("id"):
            raise BusinessError(f"Stripe answered without a refund id for {credit_note.name}", category="technical")
        currency = refund.get("currency") or credit_note.currency_id.name.lower()
        message = {
            "type": "refund",
            "external_id": refund["id"],
            "occurred_at": iso(refund.get("created")) or fields.Datetime.now().isoformat() + "Z",
            "correlation_id": event.correlation_id,
            "data": {
                "amount": to_decimal(refund.get("amount") or 0, currency),
                "currency": currency.upper(),
                "status": {"requires_action": "pending"}.get(refund.get("status"), refund.get("status") or "pending"),
                "date": fields.Date.to_string(fields.Date.context_today(self)),
            },
        }
        if not self.env["integration.canonical.refund"]._apply_credit_note_refund(message, event, credit_note):
            event._add_note(f"refund {refund['id']} was already booked by its Stripe event.")
            return
        event._add_note(f"{credit_note.name} refunded in Stripe as {refund['id']} ({refund.get('status')}).")

    # ------------------------------------------------------------------
    # Streams
    # ------------------------------------------------------------------
    def _stream_selection(self):
        return [
            ("stripe_events", "Stripe: missed events (last 30 days)"),
            ("stripe_backfill", "Stripe: backfill (customers, products, prices, subscriptions, invoices)"),
            ("stripe_payouts", "Stripe: payout reconciliation"),
        ]

    def _stream_fetch(self, stream, cursor):
        handler = {
            "stripe_events": self._fetch_events,
            "stripe_backfill": self._fetch_backfill,
            "stripe_payouts": self._fetch_payouts,
        }.get(stream.stream)
        if not handler:
            return super()._stream_fetch(stream, cursor)
        return handler(stream, cursor or "")

    @staticmethod
    def _after(cursor):
        """``after:<id>`` -> id; a finished sweep (``done``) or nothing starts over."""
        return cursor[6:] if cursor.startswith("after:") and len(cursor) > 6 else None

    def _fetch_events(self, stream, cursor):
        """One page of the Events API, newest first, back to 30 days ago.

        Events already in the inbox are no-ops at ingestion; the others are
        processed as if their webhook had arrived.
        """
        backend = stream.backend_id
        params = {
            "limit": min(stream.page_size or 100, 100),
            "created": {"gte": int(time.time()) - EVENTS_WINDOW_DAYS * 86400},
        }
        after = self._after(cursor)
        if after:
            params["starting_after"] = after
        page = self._api(backend).get("/v1/events", **params)
        events = page.get("data") or []
        items = [
            {
                "external_id": evt["id"],
                "event_type": evt["type"],
                "occurred_at": to_datetime(evt["created"]),
                "payload": json.dumps(evt),
            }
            for evt in events
            if bool(evt.get("livemode")) == bool(backend.stripe_livemode)
        ]
        has_more = bool(page.get("has_more") and events)
        return {"items": items, "cursor": f"after:{events[-1]['id']}" if has_more else "done", "has_more": has_more}

    def _synthetic_event(self, event_id, event_type, obj, created):
        return {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": created,
            "livemode": bool(obj.get("livemode")),
            "data": {"object": obj},
            # read from the API just now: no need to fetch it again
            "odoo_fresh": True,
        }

    def _fetch_backfill(self, stream, cursor):
        """Customers, products, prices, subscriptions, then invoices; ``<phase>:<last id>`` cursor.

        Items are synthetic ``*.updated`` events (``invoice.paid`` for paid
        invoices, so that their payment is booked too) whose ids contain the
        run's start, so that a resumed run re-reads nothing twice while a new
        run brings everything up to date again.
        """
        backend = stream.backend_id
        phase, _sep, after = cursor.partition(":")
        phases = [name for name, _path, _type in BACKFILL_PHASES]
        if phase not in phases:
            phase, after = phases[0], ""
        index = phases.index(phase)
        _name, path, event_type = BACKFILL_PHASES[index]
        params = {"limit": min(stream.page_size or 100, 100)}
        if after:
            params["starting_after"] = after
        if phase == "subscriptions":
            params["status"] = "all"
        elif phase == "prices":
            params["expand"] = ["data.product"]
        api = self._api(backend)
        try:
            page = api.get(path, **params)
        except StripeNotFound:
            if phase != "prices":
                raise
            # accounts (and emulators) that only know legacy plans
            page, event_type = api.get("/v1/plans", **params), "plan.updated"
        objects = page.get("data") or []
        run = int(stream.run_started.replace(tzinfo=UTC).timestamp()) if stream.run_started else 0
        now = int(time.time())
        items = []
        for obj in objects:
            kind = event_type
            if phase == "invoices" and obj.get("status") == "paid":
                kind = "invoice.paid"
            event_id = f"backfill_{run}_{obj['id']}"
            items.append(
                {
                    "external_id": event_id,
                    "event_type": kind,
                    "occurred_at": to_datetime(now),
                    "payload": json.dumps(self._synthetic_event(event_id, kind, obj, now)),
                }
            )
        if page.get("has_more") and objects:
            return {"items": items, "cursor": f"{phase}:{objects[-1]['id']}", "has_more": True}
        if index + 1 < len(phases):
            return {"items": items, "cursor": f"{phases[index + 1]}:", "has_more": True}
        return {"items": items, "cursor": "done:", "has_more": False}

    def _fetch_payouts(self, stream, cursor):
        """Paid payouts of the last 90 days, each an event ``payout.reconcile``."""
        backend = stream.backend_id
        params = {
            "limit": min(stream.page_size or 100, 100),
            "status": "paid",
            "created": {"gte": int(time.time()) - PAYOUTS_WINDOW_DAYS * 86400},
        }
        after = self._after(cursor)
        if after:
            params["starting_after"] = after
        page = self._api(backend).get("/v1/payouts", **params)
        payouts = page.get("data") or []
        now = int(time.time())
        items = []
        for payout in payouts:
            event_id = f"recon_{payout['id']}"
            items.append(
                {
                    "external_id": event_id,
                    "event_type": "payout.reconcile",
                    "occurred_at": to_datetime(payout.get("arrival_date") or payout.get("created")),
                    "payload": json.dumps(self._synthetic_event(event_id, "payout.reconcile", payout, now)),
                }
            )
        has_more = bool(page.get("has_more") and payouts)
        return {"items": items, "cursor": f"after:{payouts[-1]['id']}" if has_more else "done", "has_more": has_more}
