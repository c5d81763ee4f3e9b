"""Stripe as the billing platform.

* **Webhooks**: ``Stripe-Signature`` verified with the official SDK against
  the current and the previous signing secret (rotation), 5-minute tolerance;
  an event of the other mode (test/live) is refused and stored as rejected.
* **Mapping**: ``integration.stripe.mapper`` turns events into canonical
  customer, product, subscription, invoice, payment, refund and payout
  messages (pure transforms in ``mapping.py``), reading the current object
  from the API where configured (``fetch.py``); disputes become exceptions
  (``integration.stripe.dispute``).
* **Policies**: the Stripe tab's tax mapping, default income product,
  dunning user, payout accounts; refunds made for Odoo credit notes.
* **Outbound** (``integration.stripe.outbound``): Odoo-owned customer fields
  (billing address, VAT number) and refunds of Stripe-paid invoices, through
  the SDK with idempotency keys and the backend's rate limit.
* **Streams** (``streams.py``): missed-event recovery (Events API, last 30
  days), backfill, payout reconciliation.
"""

import time
from datetime import UTC, datetime

import stripe

from odoo import models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.integration_base.exceptions import (
    AuthenticationRefused,
    EventRejected,
    PermanentError,
    SignatureError,
    WebhookError,
)

from .. import streams
from ..client import StripeApi, StripeNotFound, effective_rate
from ..const import SUPPORTED_EVENTS, WEBHOOK_TOLERANCE
from ..reading import UNREADABLE, StripeValueError


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
        except (PermanentError, StripeNotFound, AuthenticationRefused) as exc:
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

    def _outbound_hosts(self, backend):
        return ("api.stripe.com",)

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
        data = payload.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
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
        try:
            return self.env["integration.stripe.mapper"]._map_event(event, payload, self)
        except UNREADABLE as exc:
            # a shape no documented Stripe object has: refused readably (no crash, no guess)
            raise StripeValueError.unreadable(payload, exc) from exc

    def _event_subject(self, backend, event):
        return self.env["integration.stripe.mapper"]._event_subject(backend, event)

    def _current_message(self, event, message):
        return self.env["integration.stripe.mapper"]._current_message(event, message, self)

    # ------------------------------------------------------------------
    # Outbound (integration.stripe.outbound) and streams (..streams)
    # ------------------------------------------------------------------
    def _outbound_accepts(self, backend, canonical_type, record):
        return self.env["integration.stripe.outbound"]._accepts(backend, canonical_type, record)

    def _outbound_deliver(self, backend, event, message):
        return self.env["integration.stripe.outbound"]._deliver(self, backend, event, message)

    def _outbound_response(self, backend, event, message, response):
        if message["type"] == "refund":
            credit_note = self.env["account.move"].sudo().browse(event.res_id)
            self.env["integration.stripe.outbound"]._book_refund(event, credit_note, response.data)

    def _stream_selection(self):
        return [
            ("stripe_events", "Stripe: missed events (last 30 days)"),
            ("stripe_backfill", "Stripe: backfill (customers, products, prices, subscriptions, invoices)"),
            ("stripe_payouts", "Stripe: payout reconciliation"),
        ]

    def _stream_fetch(self, stream, cursor):
        backend = stream.backend_id
        cursor = cursor or ""
        if stream.stream == "stripe_events":
            return streams.events_page(self._api(backend), cursor, stream.page_size, backend.stripe_livemode)
        if stream.stream == "stripe_backfill":
            run = int(stream.run_started.replace(tzinfo=UTC).timestamp()) if stream.run_started else 0
            return streams.backfill_page(self._api(backend), cursor, stream.page_size, run)
        if stream.stream == "stripe_payouts":
            return streams.payouts_page(self._api(backend), cursor, stream.page_size)
        return super()._stream_fetch(stream, cursor)
