from odoo import api, models

#: subscription fields whose change changes what the helpdesk shows
BILLING_FIELDS = frozenset(
    {
        "partner_id",
        "plan_code",
        "plan_name",
        "amount",
        "currency_id",
        "interval",
        "interval_count",
        "quantity",
        "status",
    }
    | {"current_period_end", "trial_end", "cancel_at_period_end"}
)


class IntegrationSubscription(models.Model):
    _inherit = "integration.subscription"

    @api.model_create_multi
    def create(self, vals_list):
        subscriptions = super().create(vals_list)
        subscriptions.partner_id._helpdesk_emit_billing()
        return subscriptions

    def write(self, vals):
        before = self.partner_id if "partner_id" in vals else self.env["res.partner"]
        result = super().write(vals)
        if BILLING_FIELDS.intersection(vals):
            (before | self.partner_id)._helpdesk_emit_billing()
        return result
