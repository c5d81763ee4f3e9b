from odoo import api, fields, models


class IntegrationStripeTaxMap(models.Model):
    """Which Odoo sales tax books a Stripe tax rate.

    A line matches a Stripe tax rate by its id (``txr_...``) when given,
    otherwise by percentage and inclusive/exclusive. Without a matching line,
    the sales tax with the same percentage is used.
    """

    _name = "integration.stripe.tax.map"
    _description = "Stripe Tax Mapping"
    _order = "backend_id, sequence, id"

    sequence = fields.Integer(default=10)
    backend_id = fields.Many2one("integration.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    stripe_tax_rate = fields.Char(
        string="Stripe tax rate id", help="e.g. txr_1Ab... Empty: any Stripe tax rate with this percentage."
    )
    percentage = fields.Float(digits=(16, 4))
    inclusive = fields.Boolean(help="The Stripe tax rate is included in the price.")
    tax_id = fields.Many2one(
        "account.tax",
        string="Odoo tax",
        required=True,
        domain="[('type_tax_use', '=', 'sale'), ('company_id', 'parent_of', company_id)]",
        ondelete="cascade",
    )

    _percentage_range = models.Constraint(
        "CHECK(percentage >= 0 AND percentage <= 100)", "A tax percentage is between 0 and 100."
    )

    @api.depends("stripe_tax_rate", "percentage", "inclusive", "tax_id")
    def _compute_display_name(self):
        for line in self:
            source = line.stripe_tax_rate or f"{line.percentage:g}%{' incl.' if line.inclusive else ''}"
            line.display_name = f"{source} → {line.tax_id.display_name or ''}"

    def _match(self, tax):
        """The Odoo tax of a canonical line tax (``ref``, ``percentage``, ``inclusive``), or an empty recordset."""
        by_ref = self.filtered(lambda line: line.stripe_tax_rate and line.stripe_tax_rate == tax.get("ref"))
        if by_ref:
            return by_ref[0].tax_id
        by_rate = self.filtered(
            lambda line: (
                not line.stripe_tax_rate
                and abs(line.percentage - float(tax["percentage"])) < 0.00005
                and line.inclusive == bool(tax.get("inclusive"))
            )
        )
        return by_rate[:1].tax_id
