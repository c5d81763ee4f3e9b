"""Canonical refund <-> credit note (``account.move``) and its refund payment.

A refund of an invoice becomes a posted credit note (proportional to the
invoice's lines) settled by a refund payment; a refund of a payment without
invoice becomes an outbound payment. A refund the source made *for an Odoo
credit note* (the connector recognizes it: ``_refund_credit_note``, or the
answer of an outbound refund, :meth:`_apply_credit_note_refund`) settles that
credit note instead, once.
"""

from odoo import Command, fields, models

from ..exceptions import BusinessError
from ..values import money, to_amount, to_date


class IntegrationCanonicalRefund(models.AbstractModel):
    _name = "integration.canonical.refund"
    _inherit = ["integration.applier", "integration.exporter"]
    _description = "Canonical refund (credit note)"

    # ------------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------------
    def _apply_record(self, message, event, credit_note):
        if credit_note:
            return self._skip_known(message, event, credit_note)
        backend = event.backend_id
        origin = backend._connector()._refund_credit_note(backend, message)
        if origin:
            self._settle_credit_note(event, origin, message)
            return self._finish(message, event, origin, "linked")
        data = message["data"]
        if data["status"] != "succeeded":
            event._add_note(f"refund {message['external_id']} is {data['status']}: nothing to book.")
            return None
        payment = self._bound_record(
            backend,
            "payment",
            data["payment_ref"],
            self.env._(
                "refund %(refund)s is for payment %(payment)s, which is not in Odoo",
                refund=message["external_id"],
                payment=data["payment_ref"],
            ),
        )
        invoice = self._refunded_invoice(backend, data, payment)
        currency = self._currency(data["currency"])
        self._check_refundable(data, payment, invoice, currency)
        journal = self._payment_journal(backend)
        if invoice:
            refund = self._credit_note(message, invoice, currency, journal)
        else:
            refund = self._refund_payment(message, payment, currency, journal)
        return self._finish(message, event, refund, "created")

    def _refunded_invoice(self, backend, data, payment):
        Binding = self.env["integration.binding"]
        invoice = Binding._find_record(backend, "invoice", data["invoice_ref"]) if data.get("invoice_ref") else None
        return invoice or payment.reconciled_invoice_ids[:1]

    def _check_refundable(self, data, payment, invoice, currency):
        """:raise BusinessError: (refund_exceeds) when more is refunded than the payment left."""
        amount = to_amount(data["amount"])
        refunded = 0.0
        if invoice:
            refunds = self.env["account.move"].search(
                [("reversed_entry_id", "=", invoice.id), ("state", "=", "posted")]
            )
            refunded = sum(refunds.mapped("amount_total"))
        if currency.compare_amounts(amount + refunded, payment.amount) > 0:
            raise BusinessError(
                self.env._(
                    "refund of %(amount)s exceeds what remains of payment %(payment)s (%(left)s)",
                    amount=currency.format(amount),
                    payment=payment.name,
                    left=currency.format(payment.amount - refunded),
                ),
                category="refund_exceeds",
                records=payment,
            )

    def _credit_note(self, message, invoice, currency, journal):
        """A posted credit note of ``invoice`` for the refunded amount, paid back."""
        data = message["data"]
        amount = to_amount(data["amount"])
        ratio = amount / invoice.amount_total if invoice.amount_total else 1.0
        credit_note = self.env["account.move"].create(
            {
                "move_type": "out_refund",
                "partner_id": invoice.partner_id.id,
                "currency_id": currency.id,
                "journal_id": invoice.journal_id.id,
                "invoice_date": to_date(data["date"]),
                "reversed_entry_id": invoice.id,
                "ref": f"Refund {message['external_id']}" + (f": {data['reason']}" if data.get("reason") else ""),
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": line.name,
                            "quantity": line.quantity,
                            "price_unit": line.price_unit * ratio,
                            "discount": line.discount,
                            "tax_ids": [Command.set(line.tax_ids.ids)],
                        }
                    )
                    for line in invoice.invoice_line_ids.filtered(lambda ln: ln.display_type == "product")
                ],
            }
        )
        difference = currency.round(amount - credit_note.amount_total)
        if difference:
            # Proportional lines with taxes cannot always hit the refunded
            # amount to the cent: book the rounding difference, untaxed.
            credit_note.write(
                {
                    "invoice_line_ids": [
                        Command.create({"name": "Rounding difference", "quantity": 1, "price_unit": difference})
                    ]
                }
            )
        credit_note.action_post()
        self._register_refund(credit_note, amount, journal, to_date(data["date"]))
        return credit_note

    def _register_refund(self, credit_note, amount, journal, date, communication=None):
        vals = {"amount": amount, "journal_id": journal.id, "payment_date": date, "payment_difference_handling": "open"}
        if communication:
            vals["communication"] = communication
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=credit_note.ids
        ).create(vals)._create_payments()

    def _refund_payment(self, message, payment, currency, journal):
        data = message["data"]
        refund_payment = self.env["account.payment"].create(
            {
                "payment_type": "outbound",
                "partner_type": "customer",
                "partner_id": payment.partner_id.id,
                "amount": to_amount(data["amount"]),
                "currency_id": currency.id,
                "journal_id": journal.id,
                "date": to_date(data["date"]),
                "memo": f"Refund {message['external_id']}",
            }
        )
        refund_payment.action_post()
        return refund_payment

    # ------------------------------------------------------------------
    # Refunds of Odoo credit notes
    # ------------------------------------------------------------------
    def _apply_credit_note_refund(self, message, event, credit_note):
        """Book a refund the source made for ``credit_note`` (e.g. the answer of an outbound refund).

        Serialized with the refund's own event, so whichever comes first
        settles the credit note, once.

        :param message: a canonical refund message (``data`` needs ``amount``,
            ``status`` and ``date``)
        :return: False when the refund was booked already
        """
        unit = self.with_context(
            integration_origin_backend_id=event.backend_id.id, integration_correlation_id=event.correlation_id
        ).sudo()
        binding = unit._lock_binding(message, event)
        if unit._skip_stale(message, event, binding) or (binding and binding._record()):
            return False
        unit._settle_credit_note(event, credit_note, message)
        unit._finish(message, event, credit_note, "linked")
        return True

    def _settle_credit_note(self, event, credit_note, message):
        """Register the refund payment of a credit note refunded at the source (once)."""
        data = message["data"]
        if data["status"] not in ("succeeded", "pending"):
            self.env["integration.exception"]._open(
                event,
                "business",
                f"The refund {message['external_id']} of {credit_note.name} is {data['status']} at "
                f"{event.backend_id.name}: the customer did not get the money back.",
                severity="high",
                records=credit_note,
                key=f"refund:{message['external_id']}",
            )
            return
        if credit_note.state != "posted" or credit_note.payment_state in ("paid", "in_payment", "reversed"):
            return
        self._register_refund(
            credit_note,
            min(float(data["amount"]), credit_note.amount_residual),
            self._payment_journal(event.backend_id),
            data.get("date") or fields.Date.context_today(self),
            communication=f"{credit_note.name} {message['external_id']}",
        )

    # ------------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------------
    def _export_data(self, move, event):
        """A credit note: the refund of the payment(s) of the invoice it reverses."""
        invoice = move.reversed_entry_id
        payments = (invoice.matched_payment_ids | invoice._get_reconciled_payments()) if invoice else None
        payment_ref = self._bound_ref(event, "payment", payments) or (
            self._ref(event, "payment", payments[:1]) if payments else None
        )
        return {
            "payment_ref": payment_ref or f"odoo-{move._name.replace('.', '-')}-{move.id}",
            "invoice_ref": self._ref(event, "invoice", invoice) if invoice else None,
            "customer_ref": self._ref(event, "customer", move.partner_id.commercial_partner_id),
            "amount": money(move.amount_total),
            "currency": move.currency_id.name,
            "date": fields.Date.to_string(move.invoice_date or move.date),
            "status": "pending" if move.state == "posted" else "canceled",
            "reason": move.ref or None,
            "metadata": {"odoo_model": move._name, "odoo_id": move.id},
        }
