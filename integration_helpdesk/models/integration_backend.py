from odoo import api, fields, models


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    connector_type = fields.Selection(selection_add=[("zendesk", "Zendesk")], ondelete={"zendesk": "cascade"})
    helpdesk_billing_context_url = fields.Char(
        string="Billing context URL",
        compute="_compute_helpdesk_billing_context_url",
        groups="integration_base.group_integration_manager",
        help="The helpdesk asks this URL (GET, ?email=..., Authorization: Bearer <API key>) "
        "for a customer's subscriptions, open invoices and last payment.",
    )

    @api.depends("reference", "connector_type")
    def _compute_helpdesk_billing_context_url(self):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for backend in self:
            backend.helpdesk_billing_context_url = (
                f"{base}/integration/helpdesk/{backend.reference}/billing-context"
                if backend.connector_type
                and backend.reference
                and backend._connector()._offers_billing_context(backend)
                else False
            )
