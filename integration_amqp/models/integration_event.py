from odoo import fields, models


class IntegrationEvent(models.Model):
    _inherit = "integration.event"

    source = fields.Selection(selection_add=[("broker", "Message broker")], ondelete={"broker": "set default"})
