from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        self.env["integration.event"]._emit_outbound("invoice", posted.filtered(lambda m: m.move_type == "out_invoice"))
        self.env["integration.event"]._emit_outbound("refund", posted.filtered(lambda m: m.move_type == "out_refund"))
        return posted
