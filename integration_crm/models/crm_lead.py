from odoo import api, models

#: opportunity fields whose change is pushed to the systems subscribed to CRM deals
DEAL_FIELDS = frozenset(
    {"name", "partner_id", "expected_revenue", "stage_id", "probability", "date_deadline", "description", "active"}
)


class CrmLead(models.Model):
    _inherit = "crm.lead"

    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        self.env["integration.event"]._emit_outbound(
            "crm_deal", leads.filtered(lambda lead: lead.type == "opportunity")
        )
        return leads

    def write(self, vals):
        result = super().write(vals)
        if DEAL_FIELDS.intersection(vals) or vals.get("type") == "opportunity":
            self.env["integration.event"]._emit_outbound(
                "crm_deal", self.filtered(lambda lead: lead.type == "opportunity"), action="updated"
            )
        return result
