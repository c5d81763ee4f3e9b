from pathlib import Path

from odoo import api, fields, models, tools
from odoo.modules.module import Manifest

from ..const import SCHEMA_VERSION
from ..exceptions import PermanentError
from ..schemas import validate_message


class IntegrationCanonicalType(models.Model):
    """A canonical business object type (customer, invoice...): the registry of types.

    One record per type, from the data of the addon that defines the type,
    next to its unit ``integration.canonical.<code>`` (applier and exporter)
    and its JSON Schema ``schemas/v1/<code>.json``. Bindings take their type
    list from these records, exceptions the model a person links; backends
    subscribe to types for outbound pushes and ownership rules refer to them.
    """

    _name = "integration.canonical.type"
    _description = "Canonical Object Type"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, readonly=True)
    sequence = fields.Integer(default=10)
    schema_version = fields.Char(default=SCHEMA_VERSION, readonly=True)
    odoo_model = fields.Char(
        readonly=True,
        help="Odoo model the canonical object maps onto: the record a person links when a reference is missing.",
    )

    _code_unique = models.Constraint("UNIQUE(code)", "A canonical type code must be unique.")

    @api.model_create_multi
    # the cache is cleared after the change (its access checks), never for a refused caller:
    # clearing every worker's caches on demand would be a denial of service
    def create(self, vals_list):
        types = super().create(vals_list)
        self.env.registry.clear_cache()
        return types

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    # ------------------------------------------------------------------
    # The registry of types (cached: read on every binding write)
    # ------------------------------------------------------------------
    @api.model
    @tools.ormcache("self.env.lang")
    def _selection(self):
        """``[(code, name)]`` of every type, for selection fields."""
        return [(kind.code, kind.name) for kind in self.sudo().search([])]

    @api.model
    @tools.ormcache()
    def _link_models(self):
        """``{code: odoo model}`` of the types whose model is installed."""
        return {kind.code: kind.odoo_model for kind in self.sudo().search([]) if kind.odoo_model in self.env}

    @api.model
    def _unit(self, code):
        """The unit of type ``code``: ``integration.canonical.<code>`` (applier and exporter)."""
        model = f"integration.canonical.{code}"
        if model not in self.env:
            raise PermanentError(f"no applier for canonical type {code}")
        return self.env[model]

    # ------------------------------------------------------------------
    # Schemas: every installed addon's schemas/ folder
    # ------------------------------------------------------------------
    @api.model
    @tools.ormcache()
    def _schema_folders(self):
        """The ``schemas/`` folders of the installed addons (each holding ``v<major>/*.json``)."""
        folders = []
        for module in sorted(self.env.registry._init_modules):
            manifest = Manifest.for_addon(module, display_warning=False)
            folder = Path(manifest.path, "schemas") if manifest else None
            if folder and folder.is_dir():
                folders.append(str(folder))
        return tuple(folders)

    @api.model
    def _validate(self, message):
        """Validate a canonical message against the schemas of every installed addon
        (currencies against the ones Odoo knows, active or not).

        :raise SchemaViolation: with every offending value
        """
        self.env.cr.execute("SELECT name FROM res_currency")
        currencies = frozenset(name for (name,) in self.env.cr.fetchall())
        return validate_message(message, folders=self._schema_folders(), currencies=currencies)
