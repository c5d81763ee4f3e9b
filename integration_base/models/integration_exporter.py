"""Exporters: Odoo records -> canonical messages (outbound)."""

from odoo import api, fields, models

from ..const import SCHEMA_VERSION


def _money(value):
    return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"


class IntegrationExporter(models.AbstractModel):
    _name = "integration.exporter"
    _description = "Integration Exporter (Odoo records to canonical messages)"

    @api.model
    def _export(self, canonical_type, record, event):
        """The canonical message of ``record``'s current state for ``event``."""
        return {
            "type": canonical_type,
            "schema_version": SCHEMA_VERSION,
            "action": "upsert",
            "source": "odoo",
            "external_id": self._ref(event, canonical_type, record),
            "occurred_at": fields.Datetime.to_string(record.write_date or fields.Datetime.now()).replace(" ", "T")
            + "Z",
            "correlation_id": event.correlation_id,
            "data": getattr(self, f"_export_{canonical_type}")(record, event),
        }

    def _ref(self, event, canonical_type, record):
        """External id of ``record`` for the event's backend: its binding, else an Odoo id."""
        if not record:
            return None
        return self._bound_ref(event, canonical_type, record) or f"odoo-{record._name.replace('.', '-')}-{record.id}"

    def _export_customer(self, partner, event):
        return {
            "name": partner.name or partner.display_name,
            "email": partner.email or None,
            "phone": partner.phone or None,
            "is_company": partner.is_company,
            "vat": partner.vat or None,
            "company_registry": partner.company_registry or None,
            "address": {
                "line1": partner.street or None,
                "line2": partner.street2 or None,
                "city": partner.city or None,
                "zip": partner.zip or None,
                "state": partner.state_id.code or None,
                "country": partner.country_id.code or None,
            },
            "metadata": {"odoo_model": partner._name, "odoo_id": partner.id},
        }

    def _export_invoice(self, move, event):
        status = {"draft": "draft", "cancel": "void"}.get(move.state) or (
            "paid" if move.payment_state in ("paid", "in_payment") else "open"
        )
        lines = []
        for line in move.invoice_line_ids.filtered(lambda ln: ln.display_type == "product"):
            lines.append(
                {
                    "description": line.name or "/",
                    "quantity": line.quantity,
                    "unit_amount": _money(line.price_unit),
                    "amount": _money(line.price_subtotal),
                    "taxes": [
                        {"name": tax.name, "percentage": tax.amount, "inclusive": bool(tax.price_include)}
                        for tax in line.tax_ids
                        if tax.amount_type == "percent"
                    ],
                }
            )
        return {
            "customer_ref": self._ref(event, "customer", move.partner_id),
            "number": move.name,
            "status": status,
            "currency": move.currency_id.name,
            "date": fields.Date.to_string(move.invoice_date or move.date),
            "due_date": fields.Date.to_string(move.invoice_date_due) if move.invoice_date_due else None,
            "lines": lines,
            "subtotal": _money(move.amount_untaxed),
            "tax": _money(move.amount_tax),
            "total": _money(move.amount_total),
            "amount_due": _money(move.amount_residual),
            "amount_paid": _money(move.amount_total - move.amount_residual),
            "metadata": {"odoo_model": move._name, "odoo_id": move.id},
        }

    def _export_payment(self, payment, event):
        invoice = payment.reconciled_invoice_ids[:1]
        return {
            "customer_ref": self._ref(event, "customer", payment.partner_id),
            "invoice_ref": self._ref(event, "invoice", invoice),
            "amount": _money(payment.amount),
            "currency": payment.currency_id.name,
            "date": fields.Date.to_string(payment.date),
            "status": "canceled" if payment.state == "canceled" else "succeeded",
            "method": payment.journal_id.name,
            "metadata": {"odoo_model": payment._name, "odoo_id": payment.id},
        }

    def _bound_ref(self, event, canonical_type, records):
        """External id of the first of ``records`` bound to the event's backend, or None."""
        if not records:
            return None
        binding = (
            self.env["integration.binding"]
            .sudo()
            .search(
                [
                    ("backend_id", "=", event.backend_id.id),
                    ("canonical_type", "=", canonical_type),
                    ("res_model", "=", records._name),
                    ("res_id", "in", records.ids),
                ],
                limit=1,
            )
        )
        return binding.external_id or None

    def _export_refund(self, move, event):
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
            "amount": _money(move.amount_total),
            "currency": move.currency_id.name,
            "date": fields.Date.to_string(move.invoice_date or move.date),
            "status": "pending" if move.state == "posted" else "canceled",
            "reason": move.ref or None,
            "metadata": {"odoo_model": move._name, "odoo_id": move.id},
        }

    def _export_subscription(self, sub, event):
        def dt(value):
            return fields.Datetime.to_string(value).replace(" ", "T") + "Z" if value else None

        plan = {"code": sub.plan_code, "name": sub.plan_name or None}
        if sub.currency_id:
            plan.update(amount=_money(sub.amount), currency=sub.currency_id.name)
        if sub.interval:
            plan.update(interval=sub.interval, interval_count=sub.interval_count or 1)
        return {
            "customer_ref": self._ref(event, "customer", sub.partner_id),
            "plan": plan,
            "quantity": sub.quantity,
            "status": sub.status,
            "current_period_start": dt(sub.current_period_start),
            "current_period_end": dt(sub.current_period_end),
            "trial_end": dt(sub.trial_end),
            "cancel_at_period_end": sub.cancel_at_period_end,
            "canceled_at": dt(sub.canceled_at),
            "metadata": {"odoo_model": sub._name, "odoo_id": sub.id, "entitlement": sub.entitlement_state},
        }
