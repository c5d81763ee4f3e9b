from odoo import api, fields, models
from odoo.exceptions import UserError

from ..access import check_rights


class IntegrationExceptionLinkWizard(models.TransientModel):
    _name = "integration.exception.link.wizard"
    _description = "Link a Record and Retry"

    exception_id = fields.Many2one("integration.exception", required=True)
    link_model = fields.Char(related="exception_id.link_model")
    candidate_partner_ids = fields.Many2many(related="exception_id.candidate_partner_ids")
    partner_id = fields.Many2one("res.partner", string="Contact")
    record_ref = fields.Reference(selection="_selection_record_ref", string="Record")

    @api.model
    def _selection_record_ref(self):
        # contacts are chosen with partner_id; every other model a canonical type links
        models_ = sorted(set(self.env["integration.canonical.type"]._link_models().values()) - {"res.partner"})
        return [(model, self.env[model]._description) for model in models_]

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        exception = self.env["integration.exception"].browse(
            values.get("exception_id") or self.env.context.get("active_id")
        )
        check_rights(exception, "write")
        if exception.candidate_partner_ids and "partner_id" in fields_list:
            values["partner_id"] = exception.candidate_partner_ids[:1].id
        return values

    def action_confirm(self):
        self.ensure_one()
        check_rights(self.exception_id, "write")
        record = self.partner_id if self.link_model == "res.partner" else self.record_ref
        if not record:
            raise UserError(self.env._("Choose the record to link."))
        if self.link_model and record._name != self.link_model:
            raise UserError(
                self.env._("This exception needs a record of type %s.", self.env[self.link_model]._description)
            )
        self.exception_id._link_record(record)
        return {"type": "ir.actions.act_window_close"}
