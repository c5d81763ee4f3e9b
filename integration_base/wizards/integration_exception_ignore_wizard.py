from odoo import fields, models

from ..access import check_rights


class IntegrationExceptionIgnoreWizard(models.TransientModel):
    _name = "integration.exception.ignore.wizard"
    _description = "Ignore Integration Exceptions"

    exception_ids = fields.Many2many("integration.exception", required=True)
    reason = fields.Text(required=True)

    def action_confirm(self):
        # every chosen exception, also those the caller cannot read (a many2many hides them)
        exceptions = self.sudo().exception_ids.with_env(self.env)
        check_rights(exceptions, "write")
        exceptions.action_ignore(self.reason)
        return {"type": "ir.actions.act_window_close"}
