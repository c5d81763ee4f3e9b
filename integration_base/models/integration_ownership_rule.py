from odoo import api, fields, models


class IntegrationOwnershipRule(models.Model):
    """Which system is authoritative for a canonical object or some of its fields.

    An inbound update from a system that does not own a field leaves that
    field as it is in Odoo; the event's note says so and, when the rule asks
    for it, an *ownership conflict* exception is opened.
    """

    _name = "integration.ownership.rule"
    _description = "Integration Ownership Rule"
    _order = "canonical_type_id, sequence, id"

    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, index=True)
    canonical_type_id = fields.Many2one("integration.canonical.type", required=True, ondelete="cascade")
    field_names = fields.Char(
        string="Fields",
        help="Comma-separated canonical fields (e.g. 'email, vat, address'). Empty: the whole object.",
    )
    owner = fields.Selection(
        [("odoo", "Odoo"), ("backend", "A backend")],
        required=True,
        default="odoo",
        help="Odoo: only people in Odoo change these fields. A backend: only that system does.",
    )
    owner_backend_id = fields.Many2one("integration.backend", string="Owning backend", ondelete="cascade")
    on_conflict = fields.Selection(
        [("skip", "Skip and note"), ("exception", "Skip and open an exception")], required=True, default="skip"
    )

    _backend_owner = models.Constraint(
        "CHECK(owner != 'backend' OR owner_backend_id IS NOT NULL)",
        "A rule owned by a backend must name the backend.",
    )

    @api.depends("canonical_type_id", "field_names", "owner", "owner_backend_id")
    def _compute_display_name(self):
        for rule in self:
            owner = rule.owner_backend_id.name if rule.owner == "backend" else "Odoo"
            rule.display_name = f"{rule.canonical_type_id.name}: {rule.field_names or '*'} → {owner}"

    def _field_set(self):
        self.ensure_one()
        return {name.strip() for name in (self.field_names or "").split(",") if name.strip()}

    @api.model
    def _filter_update(self, canonical_type, backend, data):
        """Split ``data`` into what ``backend`` may update and what it may not.

        :return: ``(allowed_data, refused_field_names, rules_asking_for_an_exception)``
        """
        rules = self.sudo().search(
            [
                ("canonical_type_id.code", "=", canonical_type),
                ("company_id", "in", (False, backend.company_id.id)),
            ]
        )
        allowed, refused, raising = dict(data), set(), self.browse()
        for rule in rules:
            if rule.owner == "backend" and rule.owner_backend_id == backend:
                continue
            names = rule._field_set() or set(data)
            hit = names & set(allowed)
            if hit:
                refused |= hit
                for name in hit:
                    allowed.pop(name)
                if rule.on_conflict == "exception":
                    raising |= rule
        return allowed, refused, raising

    @api.model
    def _filter_outbound(self, canonical_type, backend, data):
        """Drop from outbound ``data`` the fields ``backend`` owns: Odoo never overwrites them there.

        :return: ``(data to send, names of the fields kept back)``
        """
        rules = self.sudo().search(
            [
                ("canonical_type_id.code", "=", canonical_type),
                ("company_id", "in", (False, backend.company_id.id)),
                ("owner", "=", "backend"),
                ("owner_backend_id", "=", backend.id),
            ]
        )
        kept_back = set()
        for rule in rules:
            kept_back |= rule._field_set() or set(data)
        return {key: value for key, value in data.items() if key not in kept_back}, kept_back & set(data)
