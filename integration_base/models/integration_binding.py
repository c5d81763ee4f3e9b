from odoo import api, fields, models

from ..values import to_datetime


class IntegrationBinding(models.Model):
    """(backend, canonical type, external id) <-> one Odoo record.

    Every applier goes through bindings, so the same external object always
    maps to the same record. A binding also remembers the version of the
    object last applied, so that an older event never overwrites newer state.
    """

    _name = "integration.binding"
    _description = "Integration Binding"
    _inherit = ["integration.record.mixin"]
    _order = "id desc"

    backend_id = fields.Many2one("integration.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    canonical_type = fields.Selection(selection="_selection_canonical_type", required=True)
    external_id = fields.Char(required=True)
    res_model = fields.Char(required=True, index=True)
    res_id = fields.Many2oneReference(model_field="res_model", required=True, index=True)
    record_name = fields.Char(compute="_compute_record_name")
    source_ts = fields.Datetime(string="Source time", help="occurred_at of the newest applied message.")
    source_version = fields.Char(help="Version of the newest applied message, when the source has one.")
    deleted = fields.Boolean(help="The source deleted the object (a tombstone: older events stay stale).")
    last_event_id = fields.Many2one("integration.event", ondelete="set null")
    correlation_id = fields.Char()

    _external_unique = models.Constraint(
        "UNIQUE(backend_id, canonical_type, external_id)",
        "An external object is bound to one Odoo record per backend.",
    )

    @api.model
    def _selection_canonical_type(self):
        return self.env["integration.canonical.type"]._selection()

    def _compute_record_name(self):
        for binding in self:
            record = binding._record()
            binding.record_name = record.display_name if record else f"{binding.res_model},{binding.res_id} (deleted)"

    def _record(self):
        return self._linked_record()

    @api.model
    def _lock(self, backend, canonical_type, external_id):
        """Serialize the transactions working on one external object, before
        its binding is read (``integration.claim``: two workers applying
        events of the same object wait for each other instead of both
        creating it, and the second one never works from a stale snapshot).

        :raise ConcurrentUpdate: the object changed since this transaction
            began (retried at once, quietly)
        """
        Claim = self.env["integration.claim"]
        Claim._claim(Claim._key(backend, canonical_type, external_id))

    @api.model
    def _find(self, backend, canonical_type, external_id):
        if not external_id:
            return self.browse()
        return self.sudo().search(
            [
                ("backend_id", "=", backend.id),
                ("canonical_type", "=", canonical_type),
                ("external_id", "=", external_id),
            ],
            limit=1,
        )

    @api.model
    def _find_for(self, backend, canonical_type, records, limit=1):
        """The bindings of ``records`` (Odoo side) on ``backend`` for ``canonical_type``."""
        if not records:
            return self.browse()
        return self.sudo().search(
            [
                ("backend_id", "=", backend.id),
                ("canonical_type", "=", canonical_type),
                ("res_model", "=", records._name),
                ("res_id", "in", records.ids),
            ],
            order="deleted, id desc",  # a tombstone (deleted or merged object) is the last choice
            limit=limit,
        )

    @api.model
    def _find_record(self, backend, canonical_type, external_id):
        """The Odoo record bound to an external object, or None."""
        binding = self._find(backend, canonical_type, external_id)
        return binding._record() if binding else None

    def _is_stale(self, message):
        """True when ``message`` is older than the state already applied."""
        self.ensure_one()
        version = message.get("source_version")
        if version not in (None, "") and self.source_version:
            try:
                return int(version) < int(self.source_version)
            except (TypeError, ValueError):
                return str(version) < self.source_version
        occurred = to_datetime(message.get("occurred_at"))
        return bool(occurred and self.source_ts and occurred < self.source_ts)

    def _is_tie(self, message):
        """True when ``message`` has the same time (or version) as the state already applied."""
        self.ensure_one()
        version = message.get("source_version")
        if version not in (None, "") and self.source_version:
            return str(version) == self.source_version
        occurred = to_datetime(message.get("occurred_at"))
        return bool(occurred and self.source_ts and occurred == self.source_ts)

    @api.model
    def _bind(self, backend, canonical_type, external_id, record, message=None, event=None):
        """Create or update the binding of ``external_id`` to ``record`` (under its claim)."""
        self._lock(backend, canonical_type, external_id)
        vals = {"res_model": record._name, "res_id": record.id}
        if message:
            vals.update(
                source_ts=to_datetime(message.get("occurred_at")),
                source_version=message.get("source_version") and str(message["source_version"]),
                deleted=message.get("action") in ("delete", "erase"),
                correlation_id=message.get("correlation_id"),
            )
        if event:
            vals["last_event_id"] = event.id
        binding = self._find(backend, canonical_type, external_id)
        if binding:
            binding.write(vals)
            return binding
        vals.update(backend_id=backend.id, canonical_type=canonical_type, external_id=external_id)
        return self.sudo().create(vals)
