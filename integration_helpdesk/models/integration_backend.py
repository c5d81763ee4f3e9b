import secrets

from odoo import api, fields, models

from odoo.addons.integration_base.access import SYSTEM, check_rights


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    connector_type = fields.Selection(
        selection_add=[("zendesk", "Zendesk"), ("freshdesk", "Freshdesk")],
        ondelete={"zendesk": "cascade", "freshdesk": "cascade"},
    )
    helpdesk_billing_context_url = fields.Char(
        string="Billing context URL",
        compute="_compute_helpdesk_billing_context_url",
        groups="integration_base.group_integration_manager",
        help="The helpdesk asks this URL (GET, ?email=..., Authorization: Bearer <API key>) "
        "for a customer's subscriptions, open invoices and last payment.",
    )
    # ------------------------------------------------------------------
    # The helpdesk's own API (requesters, billing fields pushed back)
    # ------------------------------------------------------------------
    helpdesk_api_user = fields.Char(
        string="Helpdesk API user",
        groups="integration_base.group_integration_manager",
        help="Zendesk: the e-mail of the agent whose API token is used.",
    )
    helpdesk_api_token = fields.Char(
        string="Helpdesk API token",
        copy=False,
        groups="base.group_system",
        help="Zendesk: an API token (Admin Center > Apps and integrations > Zendesk API). "
        "Freshdesk: an agent's API key. Used to read requesters and to write billing fields.",
    )
    helpdesk_field_status = fields.Char(
        string="Billing status field",
        default="billing_status",
        help="Key of the user/organization field (Zendesk) or contact/company field (Freshdesk) that receives "
        "the customer's billing status. Empty: not written.",
    )
    helpdesk_field_plan = fields.Char(
        string="Plan field",
        default="billing_plan",
        help="Key of the field that receives the plans. Empty: not written.",
    )
    helpdesk_field_overdue = fields.Char(
        string="Overdue amount field",
        default="billing_overdue_amount",
        help="Key of the field that receives the overdue amount. Empty: not written.",
    )
    helpdesk_api_key_previous = fields.Char(
        string="Previous billing-context key",
        copy=False,
        groups="base.group_system",
        help="The key being rotated out: the billing-context API still accepts it until it is cleared.",
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

    def _helpdesk_api_keys(self):
        """Keys the billing-context API accepts, the current one first (rotation keeps two)."""
        self.ensure_one()
        backend = self.sudo()
        return [key for key in (backend.api_key, backend.helpdesk_api_key_previous) if key]

    def action_rotate_helpdesk_api_key(self):
        """A new billing-context key; the current one stays accepted as previous (system administrators)."""
        check_rights(self, "write", SYSTEM)
        for backend in self.sudo():
            backend.write({"helpdesk_api_key_previous": backend.api_key, "api_key": secrets.token_urlsafe(32)})
            backend.message_post(
                body=self.env._(
                    "Billing-context key rotated by %s; the previous one is still accepted until it is cleared.",
                    self.env.user.name,
                )
            )
        return True
