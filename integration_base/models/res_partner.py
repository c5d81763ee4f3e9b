from odoo import api, fields, models

from ..access import USER, check_rights

#: partner fields whose change is pushed to subscribed systems
CUSTOMER_FIELDS = frozenset(
    {
        "name",
        "email",
        "phone",
        "vat",
        "company_registry",
        "street",
        "street2",
        "city",
        "zip",
        "state_id",
        "country_id",
        "is_company",
        "website",
        "parent_id",
    }
)


class ResPartner(models.Model):
    _inherit = "res.partner"

    integration_subscription_ids = fields.One2many("integration.subscription", "partner_id", string="Subscriptions")
    integration_binding_count = fields.Integer(compute="_compute_integration_binding_count", compute_sudo=True)
    # The default payment method as the billing system shows it (canonical
    # customer ``payment_method``): never more than brand, last 4 and expiry.
    integration_payment_method_type = fields.Char(string="Payment method", readonly=True, copy=False)
    integration_payment_method_brand = fields.Char(string="Payment method brand", readonly=True, copy=False)
    integration_payment_method_last4 = fields.Char(string="Payment method last 4", readonly=True, copy=False)
    integration_payment_method_exp_month = fields.Integer(string="Expiry month", readonly=True, copy=False)
    integration_payment_method_exp_year = fields.Integer(string="Expiry year", readonly=True, copy=False)

    def _compute_integration_binding_count(self):
        counts = dict(
            self.env["integration.binding"]._read_group(
                [("res_model", "=", "res.partner"), ("res_id", "in", self.ids)], ["res_id"], ["__count"]
            )
        )
        for partner in self:
            partner.integration_binding_count = counts.get(partner.id, 0)

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        # which of them each system wants is its connector's choice (_outbound_accepts)
        self.env["integration.event"]._emit_outbound("customer", partners, action="created")
        return partners

    def write(self, vals):
        result = super().write(vals)
        if CUSTOMER_FIELDS.intersection(vals):
            self.env["integration.event"]._emit_outbound("customer", self, action="updated")
        return result

    def action_view_integration_bindings(self):
        check_rights(self, "read", USER)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("External ids"),
            "res_model": "integration.binding",
            "view_mode": "list,form",
            "domain": [("res_model", "=", "res.partner"), ("res_id", "in", self.ids)],
        }
