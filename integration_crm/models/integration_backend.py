from odoo import fields, models

#: (stream, scheduled, minutes) of a Salesforce backend
SALESFORCE_STREAMS = (
    ("salesforce_accounts", True, 15),
    ("salesforce_contacts", True, 15),
    ("salesforce_opportunities", True, 15),
    ("salesforce_deleted", True, 60),
)


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    connector_type = fields.Selection(
        selection_add=[("hubspot", "HubSpot"), ("salesforce", "Salesforce")],
        ondelete={"hubspot": "cascade", "salesforce": "cascade"},
    )
    crm_stage_map_ids = fields.One2many(
        "integration.crm.stage.map",
        "backend_id",
        string="Deal stages",
        help="Where the CRM's deal stages land in Odoo CRM; an open deal in an unmapped stage is an exception.",
    )
    salesforce_client_id = fields.Char(
        string="Consumer key",
        copy=False,
        groups="base.group_system",
        help="The connected app's consumer key (client id); its consumer secret goes in API Key.",
    )
    salesforce_backfill_from = fields.Datetime(
        string="Backfill from",
        help="Where a stream without a cursor starts: records changed since then (empty: all of them). "
        "Reset a stream's cursor to backfill again.",
    )

    salesforce_multicurrency = fields.Boolean(
        string="Multi-currency organization",
        help="The Salesforce organization has multiple currencies: each opportunity's amount is read with its "
        "CurrencyIsoCode and converted into the company currency (else amounts are in the company currency).",
    )

    def _salesforce_ensure_streams(self):
        Stream = self.env["integration.stream"].sudo()
        for backend in self:
            existing = set(Stream.search([("backend_id", "=", backend.id)]).mapped("stream"))
            Stream.create(
                [
                    {
                        "backend_id": backend.id,
                        "stream": code,
                        "scheduled": scheduled,
                        "interval_minutes": minutes,
                        "page_size": 200,
                    }
                    for code, scheduled, minutes in SALESFORCE_STREAMS
                    if code not in existing
                ]
            )
