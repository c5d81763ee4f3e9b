"""How Stripe's canonical messages are applied: the base appliers, plus

* taxes: the backend's tax mapping first (by Stripe tax rate id, then rate);
* invoice lines of unknown products: the backend's default income product;
* failed payments (dunning): an exception for finance (one per attempt), an
  activity for the customer's salesperson (or the configured user), the
  subscription marked past due;
* refunds made from an Odoo credit note: bound to that credit note, never
  booked twice whichever of the API answer and the webhook comes first.
"""

from odoo import fields, models

from odoo.addons.integration_base.exceptions import BusinessError

from ..amounts import iso, to_decimal


class IntegrationApplier(models.AbstractModel):
    _inherit = "integration.applier"

    # ------------------------------------------------------------------
    # Invoice lines
    # ------------------------------------------------------------------
    def _invoice_line_product(self, backend, line):
        product = super()._invoice_line_product(backend, line)
        if not product and backend and backend.connector_type == "stripe":
            product = backend.stripe_income_product_id
        return product

    def _sale_tax(self, company, tax, backend=None):
        if backend and backend.connector_type == "stripe":
            mapped = backend.stripe_tax_map_ids._match(tax)
            if mapped:
                return mapped
        return super()._sale_tax(company, tax, backend)

    # ------------------------------------------------------------------
    # Failed payments: dunning
    # ------------------------------------------------------------------
    def _apply_payment(self, message, event):
        if event.backend_id.connector_type != "stripe" or message["data"]["status"] != "failed":
            return super()._apply_payment(message, event)
        return self._stripe_payment_failed(message, event)

    def _stripe_payment_failed(self, message, event):
        begun = self._begin(message, event)
        if begun is None:
            return None
        binding, payment = begun
        if payment:
            event._add_note(f"payment {message['external_id']} succeeded since: the failure is not followed up.")
            return self._finish(message, event, payment, "skipped")
        data = message["data"]
        backend = event.backend_id
        metadata = data.get("metadata") or {}
        partner = self._partner_of(backend, data["customer_ref"])
        Binding = self.env["integration.binding"]
        invoice = Binding._find_record(backend, "invoice", data["invoice_ref"]) if data.get("invoice_ref") else None
        subscription = (
            Binding._find_record(backend, "subscription", metadata["subscription_ref"])
            if metadata.get("subscription_ref")
            else None
        )
        key = f"payment_failed:{metadata.get('failure_key') or message['external_id']}"
        Exception_ = self.env["integration.exception"]
        known = Exception_.search(
            [("backend_id", "=", backend.id), ("dedup_key", "=", key), ("state", "in", ("new", "in_progress"))], limit=1
        )
        what = f"{data['amount']} {data['currency']}" + (f" for {invoice.name}" if invoice else "")
        text = (
            f"The payment of {what} by {partner.display_name} failed: "
            f"{data.get('failure_reason') or 'no reason given'}."
            + (f" Subscription {subscription.name} is past due." if subscription else "")
        )
        exc = Exception_._open(
            event,
            "payment_failed",
            text,
            severity="medium",
            records=invoice or partner,
            key=key,
            hint="Stripe retries the card on its schedule. Contact the customer about their payment method; "
            "the activity on the customer is for whoever follows up.",
        )
        if not known:
            owner = partner.user_id or backend.stripe_dunning_user_id
            if backend.stripe_dunning_user_id and not exc.user_id:
                exc.user_id = backend.stripe_dunning_user_id
            if owner:
                partner.activity_schedule(
                    "mail.mail_activity_data_todo",
                    date_deadline=fields.Date.context_today(self),
                    summary=self.env._("Failed payment: %s", what),
                    note=text,
                    user_id=owner.id,
                )
            else:
                event._add_note("no salesperson and no dunning user: no follow-up activity scheduled.")
        if subscription and subscription.status in ("active", "trialing"):
            subscription.write({"status": "past_due"})
            subscription.message_post(body=self.env._("Past due: %s", text))
            event._touch(subscription, "updated")
        event._add_note(f"payment {message['external_id']} failed: dunning exception {exc.display_name}.")
        event._touch(partner, "updated")
        return None

    # ------------------------------------------------------------------
    # Refunds made from Odoo credit notes
    # ------------------------------------------------------------------
    def _apply_refund(self, message, event):
        metadata = message["data"].get("metadata") or {}
        if event.backend_id.connector_type != "stripe" or not metadata.get("odoo_move_id"):
            return super()._apply_refund(message, event)
        credit_note = self.env["account.move"].browse(int(metadata["odoo_move_id"])).exists()
        if (
            not credit_note
            or credit_note.move_type != "out_refund"
            or credit_note.company_id != event.backend_id.company_id
        ):
            return super()._apply_refund(message, event)
        begun = self._begin(message, event)
        if begun is None:
            return None
        binding, booked = begun
        if booked:
            event._add_note(f"refund {message['external_id']} already booked: {booked.display_name}.")
            return self._finish(message, event, booked, "skipped")
        self._stripe_settle_credit_note(event, credit_note, message)
        return self._finish(message, event, credit_note, "linked")

    def _stripe_settle_credit_note(self, event, credit_note, message):
        """Register the refund payment of a credit note refunded in Stripe (once)."""
        data = message["data"]
        if data["status"] not in ("succeeded", "pending"):
            self.env["integration.exception"]._open(
                event,
                "business",
                f"The refund {message['external_id']} of {credit_note.name} is {data['status']} at Stripe: "
                "the customer did not get the money back.",
                severity="high",
                records=credit_note,
                key=f"refund:{message['external_id']}",
            )
            return
        if credit_note.state != "posted" or credit_note.payment_state in ("paid", "in_payment", "reversed"):
            return
        journal = self._payment_journal(event.backend_id)
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=credit_note.ids
        ).create(
            {
                "amount": min(float(data["amount"]), credit_note.amount_residual),
                "journal_id": journal.id,
                "payment_date": data.get("date") or fields.Date.context_today(self),
                "payment_difference_handling": "open",
                "communication": f"{credit_note.name} {message['external_id']}",
            }
        )._create_payments()

    def _stripe_book_outbound_refund(self, event, credit_note, refund):
        """The refund Stripe made for ``credit_note`` (answer of the outbound call)."""
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
        applier = self.with_context(
            integration_origin_backend_id=event.backend_id.id, integration_correlation_id=event.correlation_id
        ).sudo()
        begun = applier._begin(message, event)
        if begun is None or begun[1]:
            event._add_note(f"refund {refund['id']} was already booked by its Stripe event.")
            return
        applier._stripe_settle_credit_note(event, credit_note, message)
        applier._finish(message, event, credit_note, "linked")
        event._add_note(f"{credit_note.name} refunded in Stripe as {refund['id']} ({refund.get('status')}).")
