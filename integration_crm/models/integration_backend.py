from odoo import fields, models


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    connector_type = fields.Selection(selection_add=[("hubspot", "HubSpot")], ondelete={"hubspot": "cascade"})
