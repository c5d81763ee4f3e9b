"""What Odoo sends to Stripe (the connector's outbound hooks delegate here).

* **customer**: the Odoo-owned fields of customers Stripe knows: billing
  address and VAT number (a Stripe tax id);
* **refund**: a credit note posted for a Stripe-paid invoice is refunded in
  Stripe, at most once per credit note (idempotency key), and its refund
  payment is booked once, whichever of the API answer and the webhook comes
  first.
"""

from odoo import fields, models

from odoo.addons.integration_base.exceptions import BusinessError, PermanentError

from ..amounts import iso, to_minor
from ..client import StripeResult
from ..const import EU_COUNTRIES, VAT_TAX_ID_TYPES, VAT_TYPES
from ..mapping_payment import outbound_refund_data


def _vat(value):
    return (value or "").replace(" ", "").upper()


class IntegrationStripeOutbound(models.AbstractModel):
    _name = "integration.stripe.outbound"
    _description = "Stripe outbound (customers' billing data, refunds of credit notes)"

    def _accepts(self, backend, canonical_type, record):
        Binding = self.env["integration.binding"]
        if canonical_type == "customer":
            # Stripe customers are created in Stripe; Odoo completes known ones
            return bool(Binding._find_for(backend, "customer", record))
        if canonical_type == "refund":
            invoice = record.reversed_entry_id
            if record.move_type != "out_refund" or not invoice:
                return False
            if Binding._find_for(backend, "refund", record):
                return False  # booked from a Stripe refund, or already sent
            return bool(self._payment_of(backend, invoice))
        return False

    def _payment_of(self, backend, invoice):
        """The Stripe-bound payment of an invoice: ``(binding, payment)`` or None."""
        payments = invoice.matched_payment_ids | invoice._get_reconciled_payments()
        binding = self.env["integration.binding"]._find_for(backend, "payment", payments)
        return (binding, binding._record()) if binding else None

    def _deliver(self, connector, backend, event, message):
        if message["type"] == "customer":
            return self._push_customer(connector._api(backend), event, message)
        if message["type"] == "refund":
            return self._push_refund(connector._api(backend), backend, event, message)
        raise PermanentError(f"Stripe receives no {message['type']} messages from Odoo")

    # ------------------------------------------------------------------
    # Customers
    # ------------------------------------------------------------------
    def _push_customer(self, api, event, message):
        data = message["data"]
        customer_id = message["external_id"]
        if not customer_id.startswith("cus_"):
            event._add_note(f"{customer_id} is not a Stripe customer: nothing sent.")
            return None
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
        notes = [f"address of {customer_id} sent", *self._push_vat(api, event, message)]
        event._add_note("; ".join(notes) + ".")
        return StripeResult(customer)

    def _push_vat(self, api, event, message):
        """Make the customer's VAT tax id at Stripe the Odoo one. :return: notes"""
        data = message["data"]
        customer_id = message["external_id"]
        vat = _vat(data.get("vat"))
        notes = []
        existing = [
            tax_id
            for tax_id in api.list_all(f"/v1/customers/{customer_id}/tax_ids", page_size=None)
            if tax_id.get("type") in VAT_TYPES
        ]
        for tax_id in existing:
            if _vat(tax_id.get("value")) != vat:
                api.delete(f"/v1/customers/{customer_id}/tax_ids/{tax_id['id']}")
                notes.append(f"VAT number {tax_id.get('value')} removed")
        if vat and not any(_vat(tax_id.get("value")) == vat for tax_id in existing):
            address = data.get("address") or {}
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
        return notes

    # ------------------------------------------------------------------
    # Refunds of credit notes
    # ------------------------------------------------------------------
    def _push_refund(self, api, backend, event, message):
        """Refund in Stripe what finance credited in Odoo -- at most once per credit note."""
        credit_note = self.env["account.move"].sudo().browse(event.res_id)
        bound = self.env["integration.binding"]._find_for(backend, "refund", credit_note)
        if bound:
            event._add_note(f"{credit_note.name} was already refunded in Stripe ({bound.external_id}): not sent again.")
            return None
        if credit_note.state != "posted":
            event._add_note(f"{credit_note.name} is no longer posted: nothing refunded.")
            return None
        payment_binding = self._refundable_payment(backend, credit_note)
        try:
            minor = to_minor(message["data"]["amount"], credit_note.currency_id.name)
        except ValueError as exc:
            raise BusinessError(str(exc), category="amount_mismatch", records=credit_note) from exc
        params = {
            "amount": minor,
            "metadata": {
                "odoo_credit_note": credit_note.name,
                "odoo_move_id": str(credit_note.id),
                "reason": (message["data"].get("reason") or "")[:400],
            },
        }
        ref = payment_binding.external_id
        params["payment_intent" if ref.startswith("pi_") else "charge"] = ref
        # one key per credit note: a retried or repeated send refunds once
        uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid", "")[:8]
        refund = api.post("/v1/refunds", params, idempotency_key=f"odoo-{uuid}-refund-{credit_note.id}")
        return StripeResult(refund)

    def _refundable_payment(self, backend, credit_note):
        """The binding of the Stripe payment the credit note gives money back from.

        :raise BusinessError: not paid through Stripe, or more refunded than paid
        """
        found = self._payment_of(backend, credit_note.reversed_entry_id)
        if not found:
            raise BusinessError(
                f"{credit_note.name} reverses {credit_note.reversed_entry_id.name or '?'}, "
                "which was not paid through Stripe",
                category="missing_record",
                records=credit_note,
            )
        payment_binding, payment = found
        currency = credit_note.currency_id
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
        refunded_ids = self.env["integration.binding"]._find_for(backend, "refund", others, limit=None).mapped("res_id")
        refunded = sum(others.filtered(lambda move: move.id in refunded_ids).mapped("amount_total"))
        if currency.compare_amounts(credit_note.amount_total + refunded, payment.amount) > 0:
            raise BusinessError(
                f"{credit_note.name} refunds {credit_note.amount_total:.2f} {currency.name} but only "
                f"{payment.amount - refunded:.2f} of payment {payment_binding.external_id} is left to refund",
                category="refund_exceeds",
                records=credit_note,
            )
        return payment_binding

    def _book_refund(self, event, credit_note, refund):
        """The refund Stripe made for ``credit_note`` (answer of the outbound call), booked once."""
        if not refund.get("id"):
            raise BusinessError(f"Stripe answered without a refund id for {credit_note.name}", category="technical")
        message = {
            "type": "refund",
            "external_id": refund["id"],
            "occurred_at": iso(refund.get("created")) or fields.Datetime.now().isoformat() + "Z",
            "correlation_id": event.correlation_id,
            "data": outbound_refund_data(
                refund, credit_note.currency_id.name, fields.Date.to_string(fields.Date.context_today(self))
            ),
        }
        if not self.env["integration.canonical.refund"]._apply_credit_note_refund(message, event, credit_note):
            event._add_note(f"refund {refund['id']} was already booked by its Stripe event.")
            return
        event._add_note(f"{credit_note.name} refunded in Stripe as {refund['id']} ({refund.get('status')}).")
