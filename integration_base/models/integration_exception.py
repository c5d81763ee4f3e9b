import json

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..const import BUSINESS_CATEGORIES, EXCEPTION_CATEGORIES, SEVERITIES
from ..exceptions import AmbiguousMatch, MissingReference, RetryableError

#: what a person reads first: what happened and what to do, per category
PLAIN_WORDS = {
    "technical": (
        "A technical error stopped the processing of this event.",
        "Retry it. If it fails again, a system administrator should look at the error on the event.",
    ),
    "schema_violation": (
        "The message does not have the shape the suite expects.",
        "An integration manager can correct the payload (Edit and retry); otherwise ask for the mapping to be fixed.",
    ),
    "mapping": (
        "The event could not be translated into Odoo terms.",
        "Check the data in the sending system, then retry.",
    ),
    "unknown_customer": (
        "The customer of this document is not known in Odoo.",
        "Link the right customer (Link record and retry), or make sure the customer is sent first, then retry.",
    ),
    "ambiguous_customer": (
        "Several Odoo contacts match this customer, so the suite did not guess.",
        "Choose the right contact among the candidates (Link record and retry).",
    ),
    "amount_mismatch": (
        "The amounts in the sending system and in Odoo differ.",
        "Compare both documents; correct the one that is wrong, then retry or ignore with a reason.",
    ),
    "currency": (
        "The currency of this document is unknown or not active in Odoo.",
        "Activate the currency in Accounting settings, then retry.",
    ),
    "ownership_conflict": (
        "The sending system tried to change data that another system owns; the change was not applied.",
        "Decide which value is right and change it in the owning system, then close this exception.",
    ),
    "missing_record": (
        "The event refers to a document that is not in Odoo.",
        "Import or link the missing document, then retry.",
    ),
    "payment_failed": (
        "A customer's payment failed.",
        "Contact the customer about their payment method; the subscription may be past due.",
    ),
    "dispute": (
        "A customer disputed a payment with their bank.",
        "Gather the evidence (invoice, delivery, contract) and answer the dispute in the payment platform.",
    ),
    "refund_exceeds": (
        "The refund is larger than what was paid.",
        "Check the refund in the payment platform; correct it or register the difference by hand.",
    ),
    "reconciliation": (
        "A payout or balance does not match what Odoo recorded.",
        "Compare the listed transactions with the journal items, then resolve.",
    ),
    "business": (
        "A business rule refused this event.",
        "Read the details, correct the data, then retry or ignore with a reason.",
    ),
}


class IntegrationException(models.Model):
    """A problem that needs a person, in words a finance user understands."""

    _name = "integration.exception"
    _description = "Integration Exception"
    _inherit = ["mail.thread", "mail.activity.mixin", "integration.record.mixin"]
    _order = "state_order, severity_order desc, id desc"

    name = fields.Char(required=True, tracking=True)
    category = fields.Selection(EXCEPTION_CATEGORIES, required=True, default="technical", tracking=True, index=True)
    kind = fields.Selection(
        [("business", "Business"), ("technical", "Technical")], compute="_compute_kind", store=True, index=True
    )
    severity = fields.Selection(SEVERITIES, required=True, default="medium", tracking=True)
    severity_order = fields.Integer(compute="_compute_orders", store=True)
    state = fields.Selection(
        [("new", "New"), ("in_progress", "In progress"), ("resolved", "Resolved"), ("ignored", "Ignored")],
        default="new",
        required=True,
        tracking=True,
        index=True,
    )
    state_order = fields.Integer(compute="_compute_orders", store=True)
    user_id = fields.Many2one("res.users", string="Assigned to", tracking=True, index=True)
    backend_id = fields.Many2one("integration.backend", index=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", related="backend_id.company_id", store=True, index=True, readonly=True)
    event_id = fields.Many2one("integration.event", index=True, ondelete="cascade")
    event_ids = fields.Many2many("integration.event", string="Related events")
    event_state = fields.Selection(related="event_id.state", string="Event state")
    description = fields.Text(string="What happened", help="Plain words.")
    hint = fields.Text(string="What to do")
    details = fields.Text(string="Technical details")
    pointer = fields.Char(string="Field", help="JSON pointer of the offending field, for schema violations.")
    res_model = fields.Char(string="Record model")
    res_id = fields.Many2oneReference(model_field="res_model", string="Record id")
    record_name = fields.Char(compute="_compute_record_name")
    link_model = fields.Char(help="Model of the record to link for 'Link record and retry'.")
    link_canonical_type = fields.Char()
    link_external_id = fields.Char()
    candidate_partner_ids = fields.Many2many("res.partner", string="Candidates")
    ignore_reason = fields.Text(readonly=True, tracking=True)
    resolved_date = fields.Datetime(readonly=True)
    resolved_uid = fields.Many2one("res.users", string="Resolved by", readonly=True)
    age_days = fields.Integer(string="Age (days)", compute="_compute_age")
    occurrences = fields.Integer(default=1, readonly=True)
    blocking = fields.Boolean(
        default=True,
        readonly=True,
        help="The event failed because of this problem (it resolves itself when the event succeeds). "
        "Non-blocking exceptions report something the event did, e.g. a failed payment or a dispute.",
    )
    dedup_key = fields.Char(
        readonly=True, index="btree_not_null", help="While open, the same problem reported again reuses this exception."
    )

    @api.depends("category")
    def _compute_kind(self):
        for exc in self:
            exc.kind = "business" if exc.category in BUSINESS_CATEGORIES else "technical"

    @api.depends("severity", "state")
    def _compute_orders(self):
        severities = [code for code, _label in SEVERITIES]
        states = ["new", "in_progress", "resolved", "ignored"]
        for exc in self:
            exc.severity_order = severities.index(exc.severity) if exc.severity else 0
            exc.state_order = states.index(exc.state) if exc.state else 0

    def _compute_age(self):
        now = fields.Datetime.now()
        for exc in self:
            exc.age_days = (now - exc.create_date).days if exc.create_date else 0

    def _compute_record_name(self):
        for exc in self:
            record = exc._linked_record()
            exc.record_name = record.display_name if record else False

    # ------------------------------------------------------------------
    # Opened by the engine
    # ------------------------------------------------------------------
    @api.model
    def _open_for_event(self, event, error):
        """Open (or reopen) the exception of ``event`` for ``error``."""
        category = error.category
        description, hint = PLAIN_WORDS.get(category, PLAIN_WORDS["business"])
        if isinstance(error, RetryableError):
            description = (
                f"The event could not be processed after {event.attempts} attempts: "
                f"{description[0].lower()}{description[1:]}"
            )
        vals = {
            "name": f"{dict(EXCEPTION_CATEGORIES)[category]}: {event.event_type or event.display_name}",
            "category": category,
            "severity": error.severity,
            "backend_id": event.backend_id.id,
            "event_id": event.id,
            "description": description,
            "hint": error.hint or hint,
            "details": error.message,
            "pointer": getattr(error, "pointer", False) or False,
        }
        records = error.records
        if records:
            vals.update(res_model=records._name, res_id=records[:1].id)
        if isinstance(error, AmbiguousMatch):
            vals.update(
                candidate_partner_ids=[Command.set(error.candidates.ids)],
                link_model=error.candidates._name,
                link_canonical_type=error.canonical_type,
                link_external_id=error.external_id,
            )
        elif isinstance(error, MissingReference):
            vals.update(
                link_model=self.env["integration.canonical.type"]._link_models().get(error.canonical_type),
                link_canonical_type=error.canonical_type,
                link_external_id=error.external_id,
            )
        existing = self.sudo().search([("event_id", "=", event.id), ("state", "in", ("new", "in_progress"))], limit=1)
        if existing:
            existing.write(dict(vals, occurrences=existing.occurrences + 1))
            existing.message_post(body=self.env._("Failed again: %s", error.message))
            return existing
        return self.sudo().create(vals)

    @api.model
    def _open(self, event, category, message, severity="low", records=None, key=None, hint=None):
        """Open an exception that does not fail the event (e.g. ownership).

        :param key: identifies the problem (e.g. a payment attempt, a dispute);
            while an exception with the same key and backend is open, it is
            updated and returned instead of a new one (redeliveries, replays)
        :param hint: what to do, when the category's default advice is not enough
        """
        if key:
            existing = self.sudo().search(
                [
                    ("backend_id", "=", event.backend_id.id),
                    ("dedup_key", "=", key),
                    ("state", "in", ("new", "in_progress")),
                ],
                limit=1,
            )
            if existing:
                if existing.details != message:
                    update = {"details": message, "severity": severity, "occurrences": existing.occurrences + 1}
                    if hint:
                        update["hint"] = hint
                    existing.write(update)
                    existing.message_post(body=self.env._("Reported again: %s", message))
                return existing
        description, hint_default = PLAIN_WORDS.get(category, PLAIN_WORDS["business"])
        hint = hint or hint_default
        vals = {
            "name": f"{dict(EXCEPTION_CATEGORIES)[category]}: {event.event_type or event.display_name}",
            "category": category,
            "severity": severity,
            "backend_id": event.backend_id.id,
            "event_id": event.id,
            "description": description,
            "hint": hint,
            "details": message,
            "dedup_key": key or False,
            "blocking": False,
        }
        if records:
            vals.update(res_model=records._name, res_id=records[:1].id)
        return self.sudo().create(vals)

    @api.model
    def _close_for_events(self, events):
        """An event succeeded: its open exceptions resolve themselves."""
        open_exceptions = self.sudo().search(
            [
                ("event_id", "in", events.ids),
                ("state", "in", ("new", "in_progress")),
                ("category", "!=", "ownership_conflict"),
                ("blocking", "=", True),
            ]
        )
        if open_exceptions:
            open_exceptions.write(
                {"state": "resolved", "resolved_date": fields.Datetime.now(), "resolved_uid": self.env.uid}
            )
            for exc in open_exceptions:
                exc.message_post(body=self.env._("Resolved: the event was processed successfully."))

    # ------------------------------------------------------------------
    # Actions for people (each one audited in the chatter)
    # ------------------------------------------------------------------
    def _check_open(self):
        for exc in self:
            if exc.state in ("resolved", "ignored"):
                raise UserError(self.env._("Exception “%s” is already closed.", exc.name))

    def action_take(self):
        self.write({"user_id": self.env.uid, "state": "in_progress"})

    def action_retry(self):
        """Retry the events of these exceptions (also the bulk action)."""
        self._check_open()
        for exc in self:
            if not exc.event_id:
                raise UserError(self.env._("Exception “%s” has no event to retry.", exc.name))
            exc.message_post(body=self.env._("Retry requested by %s.", self.env.user.name))
            exc.state = "in_progress"
            if exc.event_id.state not in ("queued", "processing"):
                exc.event_id.sudo().action_retry()
        return True

    def action_resolve(self):
        self.write({"state": "resolved", "resolved_date": fields.Datetime.now(), "resolved_uid": self.env.uid})
        for exc in self:
            exc.message_post(body=self.env._("Marked as resolved by %s.", self.env.user.name))

    def action_ignore(self, reason):
        """Ignore with a reason; the event is marked ignored too."""
        if not (reason or "").strip():
            raise UserError(self.env._("Say why this exception is ignored."))
        self._check_open()
        for exc in self:
            exc.write(
                {
                    "state": "ignored",
                    "ignore_reason": reason,
                    "resolved_date": fields.Datetime.now(),
                    "resolved_uid": self.env.uid,
                }
            )
            exc.message_post(body=self.env._("Ignored by %(user)s: %(reason)s", user=self.env.user.name, reason=reason))
            if exc.event_id and exc.event_id.state in ("failed", "dead"):
                exc.event_id.sudo()._set_ignored(note=f"Ignored by {self.env.user.name}: {reason}")
        return True

    def action_link_record(self, record):
        """Bind the external object to ``record`` chosen by a person, then retry."""
        self.ensure_one()
        self._check_open()
        if not (self.link_canonical_type and self.link_external_id):
            raise UserError(self.env._("This exception is not about a record that can be linked."))
        self.env["integration.binding"]._bind(self.backend_id, self.link_canonical_type, self.link_external_id, record)
        self.message_post(
            body=self.env._(
                "%(user)s linked %(external)s to %(record)s.",
                user=self.env.user.name,
                external=self.link_external_id,
                record=record.display_name,
            )
        )
        return self.action_retry()

    def action_edit_payload(self, payload):
        """Replace the event's payload (manager), audit the change, retry."""
        self.ensure_one()
        self._check_open()
        if not self.env.user.has_group("integration_base.group_integration_manager"):
            raise UserError(self.env._("Only integration managers can edit payloads."))
        try:
            json.loads(payload)
        except ValueError as exc:
            raise UserError(self.env._("The payload is not valid JSON: %s", exc)) from exc
        event = self.event_id.sudo()
        before = event.payload
        event.write({"payload": payload})
        self.message_post(
            body=self.env._(
                "Payload edited by %(user)s before retry.\nBefore: %(before)s\nAfter: %(after)s",
                user=self.env.user.name,
                before=(before or "")[:2000],
                after=payload[:2000],
            )
        )
        event.message_post(
            body=self.env._(
                "Payload edited by %(user)s (see exception %(name)s).", user=self.env.user.name, name=self.name
            )
        )
        return self.action_retry()

    def action_open_event(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "integration.event",
            "res_id": self.event_id.id,
            "view_mode": "form",
        }
