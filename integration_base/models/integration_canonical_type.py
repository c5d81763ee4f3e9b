from odoo import fields, models

from ..const import SCHEMA_VERSION


class IntegrationCanonicalType(models.Model):
    """A canonical business object type (customer, invoice...).

    Backends subscribe to types for outbound pushes; ownership rules refer to
    them. Records come from data and are not meant to be created by hand.
    """

    _name = "integration.canonical.type"
    _description = "Canonical Object Type"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, readonly=True)
    sequence = fields.Integer(default=10)
    schema_version = fields.Char(default=SCHEMA_VERSION, readonly=True)
    odoo_model = fields.Char(readonly=True, help="Odoo model the canonical object maps onto.")

    _code_unique = models.Constraint("UNIQUE(code)", "A canonical type code must be unique.")
