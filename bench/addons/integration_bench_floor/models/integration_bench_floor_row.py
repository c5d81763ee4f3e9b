from odoo import fields, models


class IntegrationBenchFloorRow(models.Model):
    """One row per request of the floor route (benchmark only)."""

    _name = "integration.bench.floor.row"
    _description = "Benchmark floor row"

    name = fields.Char()
    payload = fields.Text()
