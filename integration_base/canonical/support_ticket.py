"""Canonical support ticket -> ``integration.support.ticket`` (inbound only).

A ticket keeps its customer. Helpdesks send partial views of a ticket (an
event-subscription event names the requester by id only, a trigger body
carries the e-mail): what a message does not say never erases what Odoo
knows. The requester is resolved once:

1. ``customer_ref`` (the requester's id at the helpdesk) bound to a contact;
2. else the one contact of the backend's company with the requester's
   e-mail -- from the message, or remembered on the ticket for the same
   requester -- and that first match binds ``customer_ref`` to it, so the
   requester's later events and tickets need no e-mail;
3. else the ticket keeps the customer it had.

``organization_ref`` (the requester's organization or company at the
helpdesk) is bound to the customer's commercial entity the first time a
linked requester names it, for what is pushed back to the helpdesk.
"""

from odoo import models
from odoo.tools import email_normalize

from ..values import to_datetime

#: ticket field -> canonical key, written only when the message carries the key
OPTIONAL_FIELDS = {
    "description": "description",
    "requester_email": "requester_email",
    "requester_name": "requester_name",
    "organization_ref": "organization_ref",
}


class IntegrationCanonicalSupportTicket(models.AbstractModel):
    _name = "integration.canonical.support_ticket"
    _inherit = ["integration.applier", "integration.exporter"]
    _description = "Canonical support ticket (integration.support.ticket)"

    def _apply_record(self, message, event, ticket):
        data = message["data"]
        backend = event.backend_id
        vals = {
            "name": data["subject"],
            "status": data["status"],
            "priority": data.get("priority") or "normal",
            "tags": ", ".join(data.get("tags") or []) or False,
            "opened_at": to_datetime(data.get("created_at")),
            "updated_at": to_datetime(data.get("updated_at")),
        }
        vals.update(self._requester_vals(backend, data, ticket, event))
        if ticket:
            self._write_changed(ticket, vals)
            return self._finish(message, event, ticket, "updated")
        vals.update(backend_id=backend.id, company_id=backend.company_id.id)
        ticket = self.env["integration.support.ticket"].create(vals)
        return self._finish(message, event, ticket, "created")

    # ------------------------------------------------------------------
    # The requester
    # ------------------------------------------------------------------
    def _requester_vals(self, backend, data, ticket, event):
        """Requester fields and customer: what the message says, never less than what is known."""
        ref = data.get("customer_ref") or None
        same_requester = bool(ticket) and (not ref or not ticket.requester_ref or ticket.requester_ref == ref)
        vals = {field: data[key] or False for field, key in OPTIONAL_FIELDS.items() if data.get(key)}
        if ref:
            vals["requester_ref"] = ref
        if ticket and not same_requester:
            # another requester: what the ticket knew about the previous one is not theirs
            vals.update({key: data.get(key) or False for key in ("requester_email", "requester_name")})
        email = vals.get("requester_email") or (ticket.requester_email if same_requester else None)
        partner = self._requester(backend, ref, email, event)
        if partner:
            vals["partner_id"] = partner.id
            self._bind_organization(backend, data.get("organization_ref"), partner, event)
        elif ticket and ticket.partner_id and not same_requester:
            event._add_note(
                f"ticket {ticket.display_name}: requester {ref} is not linked to a customer; "
                f"it stays linked to {ticket.partner_id.display_name}."
            )
        return vals

    def _requester(self, backend, ref, email, event):
        """The contact of the requester: its binding, else its first e-mail match (then bound)."""
        Binding = self.env["integration.binding"]
        if ref:
            partner = Binding._find_record(backend, "customer", ref)
            if partner:
                return partner
        partner = self._partner_by_email(backend, email)
        if partner and ref:
            Binding._lock(backend, "customer", ref)
            if not Binding._find(backend, "customer", ref):
                Binding._bind(backend, "customer", ref, partner, event=event)
                event._add_note(f"requester {ref} ({email}) bound to {partner.display_name}.")
        return partner

    def _partner_by_email(self, backend, email):
        """The one contact of the backend's company with ``email`` (empty when none or several)."""
        Partner = self.env["res.partner"]
        normalized = email_normalize(email or "")
        if not normalized:
            return Partner
        partners = Partner.search(
            [("email_normalized", "=", normalized), ("company_id", "in", (False, backend.company_id.id))], limit=2
        )
        return partners if len(partners) == 1 else Partner

    def _bind_organization(self, backend, organization_ref, partner, event):
        """Bind the requester's organization to the customer's commercial entity, once."""
        if not organization_ref:
            return
        Binding = self.env["integration.binding"]
        Binding._lock(backend, "customer", organization_ref)
        if not Binding._find(backend, "customer", organization_ref):
            Binding._bind(backend, "customer", organization_ref, partner.commercial_partner_id, event=event)
