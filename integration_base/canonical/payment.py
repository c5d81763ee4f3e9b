"""Canonical payment <-> ``account.payment`` (reconciled with its invoice), and dunning.

A failed payment books nothing: generic dunning opens one exception per
failed attempt (``metadata.failure_key``), gives the customer's salesperson
(or the connector's dunning user, ``_dunning_policy``) a follow-up activity
and marks the subscription of the payment (``metadata.subscription_ref``)
past due.
"""

from odoo import fields, models

from ..exceptions import BusinessError
from ..values import money, to_amount, to_date


class IntegrationCanonicalPayment(models.AbstractModel):
    _name = "integration.canonical.payment"
    _inherit = ["integration.applier", "integration.exporter"]
    _description = "Canonical payment (account.payment)"

    # ------------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------------
    def _apply_record(self, message, event, payment):
        data = message["data"]
        if payment:
            failed = data["status"] == "failed"
            what = "succeeded since, its failure is not followed up" if failed else "already registered"
            return self._skip_known(message, event, payment, what)
        backend = event.backend_id
        partner = self._partner_of(backend, data["customer_ref"])
        if data["status"] == "failed":
            return self._dunning(message, event, partner)
        if data["status"] != "succeeded":
            event._add_note(f"payment {message['external_id']} is {data['status']}: nothing to book.")
            return None
        currency, journal = self._currency(data["currency"]), self._payment_journal(backend)
        invoice = self._payment_invoice(message, event, currency)
        if invoice:
            payment = self._pay_invoice(message, invoice, journal)
        else:
            payment = self._unmatched_payment(message, partner, currency, journal)
        return self._finish(message, event, payment, "created")

    def _payment_invoice(self, message, event, currency):
        """The invoice the payment pays (posted), checked against currency and amount due."""
        data = message["data"]
        if not data.get("invoice_ref"):
            return self.env["account.move"]
        invoice = self._bound_record(
            event.backend_id,
            "invoice",
            data["invoice_ref"],
            self.env._(
                "payment %(payment)s is for invoice %(invoice)s, which is not in Odoo",
                payment=message["external_id"],
                invoice=data["invoice_ref"],
            ),
        )
        if invoice.state == "draft":
            invoice.action_post()
        amount = to_amount(data["amount"])
        if invoice.currency_id != currency:
            raise BusinessError(
                self.env._(
                    "payment in %(currency)s for an invoice in %(invoice_currency)s",
                    currency=currency.name,
                    invoice_currency=invoice.currency_id.name,
                ),
                category="currency",
                records=invoice,
            )
        if currency.compare_amounts(amount, invoice.amount_residual) > 0:
            raise BusinessError(
                self.env._(
                    "payment of %(amount)s exceeds the %(due)s still due on %(invoice)s",
                    amount=currency.format(amount),
                    due=currency.format(invoice.amount_residual),
                    invoice=invoice.name,
                ),
                category="amount_mismatch",
                records=invoice,
            )
        return invoice

    def _pay_invoice(self, message, invoice, journal):
        data = message["data"]
        wizard = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create(
                {
                    "amount": to_amount(data["amount"]),
                    "currency_id": invoice.currency_id.id,
                    "journal_id": journal.id,
                    "payment_date": to_date(data["date"]),
                    "payment_difference_handling": "open",
                    "communication": f"{invoice.name} {message['external_id']}",
                }
            )
        )
        return wizard._create_payments()

    def _unmatched_payment(self, message, partner, currency, journal):
        data = message["data"]
        payment = self.env["account.payment"].create(
            {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": partner.id,
                "amount": to_amount(data["amount"]),
                "currency_id": currency.id,
                "journal_id": journal.id,
                "date": to_date(data["date"]),
                "memo": message["external_id"],
            }
        )
        payment.action_post()
        return payment

    # ------------------------------------------------------------------
    # Dunning
    # ------------------------------------------------------------------
    def _dunning(self, message, event, partner):
        """A failed payment: exception (one per attempt), follow-up activity, subscription past due."""
        data = message["data"]
        backend = event.backend_id
        metadata = data.get("metadata") or {}
        Binding = self.env["integration.binding"]
        invoice = Binding._find_record(backend, "invoice", data["invoice_ref"]) if data.get("invoice_ref") else None
        subscription = (
            Binding._find_record(backend, "subscription", metadata["subscription_ref"])
            if metadata.get("subscription_ref")
            else None
        )
        what = f"{data['amount']} {data['currency']}" + (f" for {invoice.name}" if invoice else "")
        late = subscription and subscription.status in ("active", "trialing")
        text = self._dunning_text(partner, what, data.get("failure_reason"), subscription, late)
        key = f"payment_failed:{metadata.get('failure_key') or message['external_id']}"
        exc = self._dunning_exception(event, key, text, invoice or partner, partner, what)
        if late:
            subscription.write({"status": "past_due"})
            subscription.message_post(body=self.env._("Past due: %s", text))
            event._touch(subscription, "updated")
        event._add_note(f"payment {message['external_id']} failed: dunning exception {exc.display_name}.")
        event._touch(partner, "updated")
        return None

    def _dunning_text(self, partner, what, reason, subscription, late):
        """What finance reads about a failed payment, in the words of the subscription's situation."""
        reason = (reason or "").strip().rstrip(".") or self.env._("no reason given")
        text = self.env._(
            "The payment of %(what)s by %(customer)s failed: %(reason)s.",
            what=what,
            customer=partner.display_name,
            reason=reason,
        )
        if not subscription:
            return text
        if late:
            situation = self.env._("Subscription %s is past due.", subscription.name)
        elif subscription.status == "incomplete":
            situation = self.env._(
                "Subscription %s is not started: its first payment has not gone through.", subscription.name
            )
        else:
            situation = self.env._(
                "Subscription %(name)s is %(status)s.",
                name=subscription.name,
                status=dict(subscription._fields["status"]._description_selection(self.env))[subscription.status],
            )
        return f"{text} {situation}"

    def _dunning_exception(self, event, key, text, record, partner, what):
        """Open (or update) the exception of a failed attempt; the first report schedules the follow-up."""
        backend = event.backend_id
        policy = backend._connector()._dunning_policy(backend)
        Exception_ = self.env["integration.exception"]
        known = Exception_.search(
            [("backend_id", "=", backend.id), ("dedup_key", "=", key), ("state", "in", ("new", "in_progress"))], limit=1
        )
        exc = Exception_._open(
            event, "payment_failed", text, severity="medium", records=record, key=key, hint=policy.get("hint")
        )
        if known:
            return exc
        user = policy.get("user") or self.env["res.users"]
        owner = partner.user_id or user
        if user and not exc.user_id:
            exc.user_id = user
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
        return exc

    # ------------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------------
    def _export_data(self, payment, event):
        return {
            "customer_ref": self._ref(event, "customer", payment.partner_id),
            "invoice_ref": self._ref(event, "invoice", payment.reconciled_invoice_ids[:1]),
            "amount": money(payment.amount),
            "currency": payment.currency_id.name,
            "date": fields.Date.to_string(payment.date),
            "status": "canceled" if payment.state == "canceled" else "succeeded",
            "method": payment.journal_id.name,
            "metadata": {"odoo_model": payment._name, "odoo_id": payment.id},
        }
