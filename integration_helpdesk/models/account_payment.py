from odoo import models


class AccountPayment(models.Model):
    _inherit = "account.payment"

    def action_post(self):
        result = super().action_post()
        self.filtered(lambda payment: payment.partner_type == "customer").partner_id._helpdesk_emit_billing()
        return result
