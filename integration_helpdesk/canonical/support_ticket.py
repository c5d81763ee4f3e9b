"""Support tickets triaged for finance (extends the base's support-ticket unit).

Every applied ticket goes through :func:`..triage.triage`: a billing ticket
gets the ``billing`` category, its reason and a priority one level higher
than the helpdesk's (kept in ``helpdesk_priority``), and is linked to the
invoice it is about: the invoice it names, else the customer's open failed
payment (and its invoice), else the customer's latest posted invoice.
"""

from odoo import models

from ..triage import boosted_priority, invoice_numbers, triage


class IntegrationCanonicalSupportTicket(models.AbstractModel):
    _inherit = "integration.canonical.support_ticket"

    def _apply_record(self, message, event, ticket):
        data = message["data"]
        description = data.get("description", ticket.description if ticket else None)
        result = triage(data["subject"], description, data.get("tags"))
        priority = data.get("priority") or "normal"
        boosted = dict(message, data=dict(data, priority=boosted_priority(priority, result)))
        ticket = super()._apply_record(boosted, event, ticket)
        if ticket:
            vals = {
                "category": "billing" if result.billing else "other",
                "billing_reason": result.reason or False,
                "triage_match": result.matched or False,
                "helpdesk_priority": priority,
                **self._billing_links(ticket, result, description),
            }
            self._write_changed(ticket, vals)
        return ticket

    def _billing_links(self, ticket, result, description):
        """The invoice and the failed payment a billing ticket is about."""
        customer = ticket.partner_id.commercial_partner_id
        if not (result.billing and customer):
            return {"invoice_id": False, "payment_failure_id": False}
        Move = self.env["account.move"]
        company = ticket.company_id
        invoice = Move.browse()
        numbers = invoice_numbers(ticket.name, description)
        if numbers:
            invoice = Move.search(
                [
                    ("name", "in", numbers),
                    ("commercial_partner_id", "=", customer.id),
                    ("company_id", "=", company.id),
                    ("move_type", "in", ("out_invoice", "out_refund")),
                ],
                limit=1,
            )
        failure = self.env["integration.billing"]._open_payment_failures(customer, company)[:1]
        if not invoice and failure.res_model == "account.move":
            invoice = Move.browse(failure.res_id).exists()
        if not invoice:
            invoice = Move.search(
                [
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("commercial_partner_id", "=", customer.id),
                    ("company_id", "=", company.id),
                ],
                order="invoice_date desc, id desc",
                limit=1,
            )
        return {"invoice_id": invoice.id, "payment_failure_id": failure.id}
