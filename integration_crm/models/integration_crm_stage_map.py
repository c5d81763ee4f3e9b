from odoo import api, fields, models


class IntegrationCrmStageMap(models.Model):
    """Where a CRM's deal stage lands in Odoo: pipeline + stage at the source -> an Odoo CRM stage.

    One table per backend (its *Deal stages* tab). An open deal whose stage
    the table does not map fails with a mapping exception naming the stage:
    a person maps it, then retries. A row without a pipeline maps the stage
    in every pipeline. A backend without any row matches stages by name.
    """

    _name = "integration.crm.stage.map"
    _description = "CRM Deal Stage Mapping"
    _order = "backend_id, pipeline, sequence, id"

    sequence = fields.Integer(default=10)
    backend_id = fields.Many2one("integration.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    pipeline = fields.Char(help="The pipeline's id at the source (HubSpot: 'default' or its number). Empty: any.")
    stage = fields.Char(
        required=True,
        help="The stage's id at the source: HubSpot's internal value (e.g. 'appointmentscheduled'), "
        "Salesforce's StageName.",
    )
    label = fields.Char(help="The stage's name at the source, for people.")
    stage_id = fields.Many2one("crm.stage", string="Odoo stage", required=True, ondelete="cascade")

    _source_stage_unique = models.UniqueIndex(
        "(backend_id, COALESCE(pipeline, ''), stage)", "A stage of a pipeline is mapped once per backend."
    )

    @api.depends("pipeline", "stage", "label", "stage_id")
    def _compute_display_name(self):
        for row in self:
            source = f"{row.pipeline}/{row.stage}" if row.pipeline else row.stage
            row.display_name = f"{row.label or source} → {row.stage_id.name or '?'}"

    @api.model
    def _odoo_stage(self, backend, pipeline, stage):
        """The Odoo stage of ``stage`` of ``pipeline`` for ``backend``.

        :return: ``crm.stage`` (empty when unmapped), and whether the backend has a table at all
        """
        rows = self.sudo().search([("backend_id", "=", backend.id), ("stage", "=", stage)])
        row = (
            rows.filtered(lambda r: r.pipeline and r.pipeline == pipeline)[:1]
            or rows.filtered(lambda r: not r.pipeline)[:1]
        )
        if row:
            return row.stage_id, True
        return self.env["crm.stage"], bool(self.sudo().search_count([("backend_id", "=", backend.id)], limit=1))
