from odoo import fields, models


class IntegrationEventRecord(models.Model):
    """An Odoo record an event created, updated or skipped."""

    _name = "integration.event.record"
    _description = "Record Touched by an Integration Event"
    _inherit = ["integration.record.mixin"]
    _order = "id"

    event_id = fields.Many2one("integration.event", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="event_id.company_id", store=True)
    res_model = fields.Char(required=True, index=True)
    res_id = fields.Many2oneReference(model_field="res_model", required=True, index=True)
    action = fields.Selection(
        [
            ("created", "Created"),
            ("updated", "Updated"),
            ("linked", "Linked"),
            ("skipped", "Skipped"),
            ("deleted", "Archived"),
            ("merged", "Merged"),
            ("anonymized", "Anonymized"),
            ("held", "Kept (legal hold)"),
        ],
        required=True,
    )
    correlation_id = fields.Char(index=True)
    record_name = fields.Char(compute="_compute_record_name")

    def _compute_record_name(self):
        for line in self:
            record = line._linked_record()
            line.record_name = record.display_name if record else f"{line.res_model},{line.res_id}"
