from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    integration_ticket_ids = fields.One2many(
        "integration.support.ticket",
        "commercial_partner_id",
        string="Support tickets",
        readonly=True,
        groups="integration_base.group_integration_user",
    )
    integration_ticket_count = fields.Integer(string="Open tickets", compute="_compute_integration_ticket_count")
    integration_billing_ticket_count = fields.Integer(
        string="Open billing tickets", compute="_compute_integration_ticket_count"
    )

    def _compute_integration_ticket_count(self):
        """Open tickets of the partner's commercial entity (its contacts' included), and the billing ones."""
        Ticket = self.env["integration.support.ticket"]
        domain = [("commercial_partner_id", "in", self.commercial_partner_id.ids), ("is_open", "=", True)]
        counts = {}
        if Ticket.has_access("read"):
            for customer, category, count in Ticket._read_group(
                domain, ["commercial_partner_id", "category"], ["__count"]
            ):
                total, billing = counts.get(customer.id, (0, 0))
                counts[customer.id] = (total + count, billing + (count if category == "billing" else 0))
        for partner in self:
            partner.integration_ticket_count, partner.integration_billing_ticket_count = counts.get(
                partner.commercial_partner_id.id, (0, 0)
            )

    def _helpdesk_emit_billing(self):
        """The billing of these customers changed: push it to the helpdesks subscribed to it.

        One ``customer_billing`` outbound event per commercial entity and
        helpdesk backend that knows the customer (``_outbound_accepts``);
        several changes in one transaction make one event.
        """
        customers = self.commercial_partner_id
        if customers:
            self.env["integration.event"]._emit_outbound("customer_billing", customers, action="updated")
