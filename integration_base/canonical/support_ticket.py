"""Canonical support ticket -> ``integration.support.ticket`` (inbound only)."""

from odoo import models

from ..values import to_datetime


class IntegrationCanonicalSupportTicket(models.AbstractModel):
    _name = "integration.canonical.support_ticket"
    _inherit = ["integration.applier", "integration.exporter"]
    _description = "Canonical support ticket (integration.support.ticket)"

    def _apply_record(self, message, event, ticket):
        data = message["data"]
        backend = event.backend_id
        vals = {
            "name": data["subject"],
            "description": data.get("description") or False,
            "status": data["status"],
            "priority": data.get("priority") or "normal",
            "tags": ", ".join(data.get("tags") or []) or False,
            "requester_email": data.get("requester_email") or False,
            "requester_name": data.get("requester_name") or False,
            "opened_at": to_datetime(data.get("created_at")),
            "updated_at": to_datetime(data.get("updated_at")),
            "partner_id": self._requester(backend, data).id,
        }
        if ticket:
            ticket.write(vals)
            return self._finish(message, event, ticket, "updated")
        vals.update(backend_id=backend.id, company_id=backend.company_id.id)
        ticket = self.env["integration.support.ticket"].create(vals)
        return self._finish(message, event, ticket, "created")

    def _requester(self, backend, data):
        """The customer of a ticket: its bound customer, else the one contact with the requester's e-mail."""
        Partner = self.env["res.partner"]
        if data.get("customer_ref"):
            partner = self.env["integration.binding"]._find_record(backend, "customer", data["customer_ref"])
            if partner:
                return partner
        if data.get("requester_email"):
            partner = Partner.search([("email", "=ilike", data["requester_email"])], limit=2)
            return partner if len(partner) == 1 else Partner
        return Partner
