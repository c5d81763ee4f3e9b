"""How a person names the business object of a canonical message or an Odoo record.

Exceptions say what they are about (subject, customer, amount, date) in the
words of the business, read defensively: the message may be the very one
that was refused. Every canonical type's unit has these methods (through
``integration.applier``) and may override :meth:`_described_customer`.
"""

from datetime import datetime

from odoo import api, models

from ..schemas import short
from ..values import to_date, to_datetime


def text(value):
    """A value that names something: a short non-empty string, else None."""
    return short(value, 120) if isinstance(value, str) and value.strip() else None


class IntegrationCanonicalNaming(models.AbstractModel):
    _name = "integration.canonical.naming"
    _description = "Integration: how a person names a canonical object"

    def _describe(self, message, backend):
        """The business object of ``message`` as a person names it.

        Read defensively: the message may be the one that was refused.

        :return: dict of ``label`` (the type: "Invoice"), ``reference`` (its
            number, else its external id), ``partner`` (the customer in Odoo,
            or None), ``customer`` (the customer as the source names it),
            ``amount`` (text with the currency), ``date`` (a date or None) and
            ``record`` (the Odoo record bound to it, or None)
        """
        data = message.get("data") if isinstance(message.get("data"), dict) else {}
        canonical_type = message.get("type")
        external_id = text(message.get("external_id"))
        Binding = self.env["integration.binding"].sudo()
        record = Binding._find_record(backend, canonical_type, external_id) if external_id else None
        partner, customer = self._described_customer(data, backend, record)
        plan = data.get("plan") if isinstance(data.get("plan"), dict) else {}
        amount = next(
            (data[key] for key in ("total", "amount", "list_price") if isinstance(data.get(key), str | int | float)),
            plan.get("amount"),
        )
        currency = data.get("currency") or plan.get("currency")
        kind = self.env["integration.canonical.type"].sudo().search([("code", "=", canonical_type)], limit=1)
        return {
            "label": kind.name or text(canonical_type),
            "reference": text(data.get("number")) or external_id,
            "partner": partner or None,
            "customer": customer,
            "amount": short(f"{amount} {currency or ''}".strip(), 60) if amount not in (None, "") else None,
            "date": self._described_date(data.get("date") or data.get("current_period_start"))
            or self._described_date(message.get("occurred_at")),
            "record": record or None,
        }

    def _described_customer(self, data, backend, record):
        """Hook of each canonical type: ``(partner, customer)`` of a message's ``data``:
        the customer in Odoo (or None) and as the source names it. Default: its ``customer_ref``."""
        customer = text(data.get("customer_ref"))
        partner = (
            self.env["integration.binding"].sudo()._find_record(backend, "customer", customer) if customer else None
        )
        return partner, customer

    @api.model
    def _describe_record(self, record):
        """The same description (see :meth:`_describe`) of an Odoo record."""
        if not record:
            return {}
        partner = (
            record
            if record._name == "res.partner"
            else record["partner_id"]
            if "partner_id" in record._fields
            else None
        )
        amount = next((record[key] for key in ("amount_total", "amount") if key in record._fields), None)
        currency = record["currency_id"] if "currency_id" in record._fields else None
        moment = next((record[key] for key in ("invoice_date", "date") if key in record._fields and record[key]), None)
        return {
            "label": record._description,
            "reference": record.display_name,
            "partner": (partner.commercial_partner_id if partner else None) or None,
            "amount": currency.format(amount) if currency and amount is not None else None,
            "date": moment,
            "record": record,
        }

    @staticmethod
    def _described_date(value):
        try:
            moment = to_datetime(value) if isinstance(value, str) and len(value) > 10 else to_date(value)
        except (TypeError, ValueError):
            return None
        return moment.date() if isinstance(moment, datetime) else moment
