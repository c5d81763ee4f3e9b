from odoo import fields, models


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    connector_type = fields.Selection(selection_add=[("hubspot", "HubSpot")], ondelete={"hubspot": "cascade"})
    crm_stage_map_ids = fields.One2many(
        "integration.crm.stage.map",
        "backend_id",
        string="Deal stages",
        help="Where the CRM's deal stages land in Odoo CRM; an open deal in an unmapped stage is an exception.",
    )
