from odoo import models


class AccountPayment(models.Model):
    _inherit = "account.payment"

    def action_post(self):
        result = super().action_post()
        self.env["integration.event"]._emit_outbound(
            "payment",
            self.filtered(lambda p: p.partner_type == "customer" and p.payment_type == "inbound"),
            action="posted",
        )
        return result
