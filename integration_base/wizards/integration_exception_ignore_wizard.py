from odoo import fields, models


class IntegrationExceptionIgnoreWizard(models.TransientModel):
    _name = "integration.exception.ignore.wizard"
    _description = "Ignore Integration Exceptions"

    exception_ids = fields.Many2many("integration.exception", required=True)
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.exception_ids.action_ignore(self.reason)
        return {"type": "ir.actions.act_window_close"}
