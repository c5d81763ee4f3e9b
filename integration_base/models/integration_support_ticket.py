from odoo import fields, models


class IntegrationSupportTicket(models.Model):
    """A ticket of the helpdesk system, linked to the Odoo customer."""

    _name = "integration.support.ticket"
    _description = "Support Ticket"
    _inherit = ["mail.thread"]
    _order = "id desc"

    name = fields.Char(string="Subject", required=True, tracking=True)
    partner_id = fields.Many2one("res.partner", string="Customer", index=True, tracking=True)
    requester_ref = fields.Char(
        string="Requester id", index=True, help="The requester's id in the helpdesk (bound to the customer)."
    )
    requester_email = fields.Char()
    requester_name = fields.Char()
    organization_ref = fields.Char(string="Organization id", help="The requester's organization in the helpdesk.")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    backend_id = fields.Many2one("integration.backend", string="Source", index=True, ondelete="set null")
    description = fields.Text()
    status = fields.Selection(
        [
            ("new", "New"),
            ("open", "Open"),
            ("pending", "Pending"),
            ("hold", "On hold"),
            ("solved", "Solved"),
            ("closed", "Closed"),
        ],
        required=True,
        default="new",
        tracking=True,
        index=True,
    )
    priority = fields.Selection(
        [("low", "Low"), ("normal", "Normal"), ("high", "High"), ("urgent", "Urgent")], default="normal"
    )
    tags = fields.Char()
    opened_at = fields.Datetime()
    updated_at = fields.Datetime()
    subscription_ids = fields.One2many(
        related="partner_id.commercial_partner_id.integration_subscription_ids", string="Subscriptions"
    )
