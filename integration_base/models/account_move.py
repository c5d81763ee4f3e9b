from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        Event = self.env["integration.event"]
        Event._emit_outbound("invoice", posted.filtered(lambda m: m.move_type == "out_invoice"), action="posted")
        Event._emit_outbound("refund", posted.filtered(lambda m: m.move_type == "out_refund"), action="posted")
        return posted

    def _invoice_paid_hook(self):
        """Odoo calls it when invoices become paid (or in payment) by a reconciliation."""
        result = super()._invoice_paid_hook()
        self.env["integration.event"]._emit_outbound(
            "invoice", self.filtered(lambda m: m.move_type == "out_invoice"), action="paid"
        )
        return result
