from odoo import api, fields, models

#: why a ticket is a billing ticket (``triage.RULES`` reasons, ``billing`` for a tag alone)
BILLING_REASONS = [
    ("payment_failed", "Failed payment"),
    ("refund", "Refund"),
    ("charge", "Charge"),
    ("cancel", "Cancellation"),
    ("invoice", "Invoice"),
    ("payment", "Payment"),
    ("billing", "Billing"),
]


class IntegrationSupportTicket(models.Model):
    """Tickets as finance uses them: billing triage, the invoice or failed payment
    they are about, and the way back to the ticket in the helpdesk."""

    _inherit = "integration.support.ticket"

    category = fields.Selection(
        [("billing", "Billing"), ("other", "Other")], default="other", required=True, index=True, tracking=True
    )
    billing_reason = fields.Selection(BILLING_REASONS, tracking=True)
    triage_match = fields.Char(string="Matched", help="The words (or tag) of the ticket the billing rule matched.")
    helpdesk_priority = fields.Selection(
        [("low", "Low"), ("normal", "Normal"), ("high", "High"), ("urgent", "Urgent")],
        string="Priority in the helpdesk",
        help="The priority the helpdesk gave; billing tickets are one level higher in Odoo.",
    )
    commercial_partner_id = fields.Many2one(
        related="partner_id.commercial_partner_id", store=True, index=True, string="Customer account"
    )
    invoice_id = fields.Many2one("account.move", index="btree_not_null", ondelete="set null", tracking=True)
    payment_failure_id = fields.Many2one(
        "integration.exception", string="Failed payment", index="btree_not_null", ondelete="set null"
    )
    is_open = fields.Boolean(compute="_compute_is_open", search="_search_is_open", string="Open")
    helpdesk_url = fields.Char(string="In the helpdesk", compute="_compute_helpdesk_url")

    @api.depends("status")
    def _compute_is_open(self):
        for ticket in self:
            ticket.is_open = ticket.status not in ("solved", "closed")

    def _search_is_open(self, operator, value):
        if operator not in ("=", "!="):
            return NotImplemented
        wanted = (operator == "=") == bool(value)
        return [("status", "not in" if wanted else "in", ("solved", "closed"))]

    def _compute_helpdesk_url(self):
        """The ticket's page in the helpdesk: its binding's id, placed by the backend's connector."""
        self.helpdesk_url = False
        Binding = self.env["integration.binding"].sudo()
        for backend in self.sudo().backend_id:
            tickets = self.filtered(lambda ticket, backend=backend: ticket.sudo().backend_id == backend)
            refs = {
                binding.res_id: binding.external_id
                for binding in Binding._find_for(backend, "support_ticket", tickets, limit=None)
            }
            connector = backend._connector()
            for ticket in tickets:
                if refs.get(ticket.id):
                    ticket.helpdesk_url = connector._helpdesk_ticket_url(backend, refs[ticket.id])
