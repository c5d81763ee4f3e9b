"""Exporters: Odoo records -> canonical messages (outbound).

The envelope and the references are built here; the ``data`` of a message
is the hook ``_export_data`` of its canonical type's unit
(``integration.canonical.<code>``, see ``integration.applier``).
"""

from odoo import api, fields, models

from ..const import SCHEMA_VERSION
from ..exceptions import PermanentError
from ..values import iso_datetime


class IntegrationExporter(models.AbstractModel):
    _name = "integration.exporter"
    _description = "Integration Exporter (Odoo records to canonical messages)"

    @api.model
    def _export(self, canonical_type, record, event):
        """The canonical message of ``record``'s current state for ``event``."""
        unit = self.env["integration.canonical.type"]._unit(canonical_type)
        return {
            "type": canonical_type,
            "schema_version": SCHEMA_VERSION,
            "action": "upsert",
            "source": "odoo",
            "external_id": self._ref(event, canonical_type, record),
            "occurred_at": iso_datetime(record.write_date or fields.Datetime.now()),
            "correlation_id": event.correlation_id,
            "data": unit._export_data(record, event),
        }

    def _export_data(self, record, event):
        """Hook of each canonical type: the ``data`` of ``record``'s message.

        :return: a dict valid against the type's JSON Schema
        """
        raise PermanentError(f"canonical type {self._name.rpartition('.')[2]} is not sent to other systems")

    def _ref(self, event, canonical_type, record):
        """External id of ``record`` for the event's backend: its binding, else an Odoo id."""
        if not record:
            return None
        return self._bound_ref(event, canonical_type, record) or f"odoo-{record._name.replace('.', '-')}-{record.id}"

    def _bound_ref(self, event, canonical_type, records):
        """External id of the first of ``records`` bound to the event's backend, or None."""
        return self.env["integration.binding"]._find_for(event.backend_id, canonical_type, records).external_id or None
