from odoo import api, fields, models

from ..access import MANAGER, check_rights


class IntegrationExceptionEditWizard(models.TransientModel):
    _name = "integration.exception.edit.wizard"
    _description = "Edit Payload and Retry"

    exception_id = fields.Many2one("integration.exception", required=True)
    payload = fields.Text(required=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        exception = self.env["integration.exception"].browse(
            values.get("exception_id") or self.env.context.get("active_id")
        )
        if "payload" in fields_list and exception:
            # the payload is for managers of the exception's company only
            check_rights(exception, "write", MANAGER)
            values["payload"] = exception.event_id.payload
        return values

    def action_confirm(self):
        self.ensure_one()
        self.exception_id.action_edit_payload(self.payload)
        return {"type": "ir.actions.act_window_close"}
