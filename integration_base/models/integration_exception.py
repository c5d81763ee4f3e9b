import json

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from odoo.addons.queue_job.exception import RetryableJobError

from ..access import MANAGER, check_rights
from ..const import BUSINESS_CATEGORIES, EXCEPTION_CATEGORIES, OPEN_EXCEPTION_STATES, SEVERITIES
from ..exceptions import ConcurrentUpdate
from ..redact import changed_paths

#: what integration users (not managers) may write directly: the rest is set
#: by the engine or by the audited actions below
USER_WRITABLE_FIELDS = frozenset({"user_id", "severity", "state", "message_main_attachment_id"})


class IntegrationException(models.Model):
    """A problem that needs a person, in words a finance user understands.

    Opened by the engine (``integration.exception.report``: one per event
    and problem, naming the business object; ``integration.exception.outage``:
    one per backend and cause for failures of a whole system), resolved by
    people with the actions below, each audited in the chatter.
    """

    _name = "integration.exception"
    _description = "Integration Exception"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "integration.record.mixin",
        "integration.exception.report",
        "integration.exception.outage",
    ]
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
    escalated = fields.Boolean(
        readonly=True, tracking=True, help="Handed to an integration manager by the person who could not fix it."
    )
    backend_id = fields.Many2one("integration.backend", index=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", related="backend_id.company_id", store=True, index=True, readonly=True)
    event_id = fields.Many2one("integration.event", index=True, ondelete="cascade")
    event_ids = fields.Many2many("integration.event", string="Related events")
    event_count = fields.Integer(string="Events", compute="_compute_event_count")
    event_state = fields.Selection(related="event_id.state", string="Event state")
    # ------------------------------------------------------------------
    # The business object, as a person names it
    # ------------------------------------------------------------------
    subject = fields.Char(string="About", readonly=True, help="The business object: what it is and its number.")
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True, index="btree_not_null")
    customer_name = fields.Char(
        string="Customer name", readonly=True, help="The customer, as Odoo or the sending system names it."
    )
    amount_text = fields.Char(string="Amount", readonly=True)
    document_date = fields.Date(string="Date", readonly=True)
    # ------------------------------------------------------------------
    # What happened, what to do
    # ------------------------------------------------------------------
    description = fields.Text(string="What happened", help="Plain words.")
    hint = fields.Text(string="What to do")
    details = fields.Text(string="Technical details")
    pointer = fields.Char(string="Field", help="JSON pointer of the offending field, for schema violations.")
    problems = fields.Text(readonly=True, help="The refused values (JSON), for the guided correction.")
    can_correct = fields.Boolean(compute="_compute_can_correct")
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

    def _compute_event_count(self):
        for exc in self:
            exc.event_count = len(exc.event_ids | exc.event_id)

    def _compute_can_correct(self):
        for exc in self:
            exc.can_correct = bool(exc.state in OPEN_EXCEPTION_STATES and exc.event_id and exc._correctable_problems())

    def _compute_record_name(self):
        for exc in self:
            record = exc._linked_record()
            exc.record_name = record.display_name if record else False

    def write(self, vals):
        forbidden = set(vals) - USER_WRITABLE_FIELDS
        if forbidden and not self.env.su and not self.env.user.has_group(MANAGER):
            raise AccessError(
                self.env._(
                    "Only integration managers may change %(fields)s of an exception; use its actions instead.",
                    fields=", ".join(sorted(forbidden)),
                )
            )
        return super().write(vals)

    def _correctable_problems(self):
        """The refused values a person may correct: those inside the data of a known message."""
        self.ensure_one()
        problems = json.loads(self.problems) if self.problems else []
        return [
            problem
            for problem in problems
            if (problem.get("pointer") or "").startswith("/data/")
            and problem.get("type")
            and problem.get("external_id")
        ]

    def _correction_target(self):
        """``(type, external id)`` of the message whose values are corrected."""
        problems = self._correctable_problems()
        if not problems:
            raise UserError(self.env._("This exception has no value to correct: retry, ignore or escalate it."))
        return problems[0]["type"], problems[0]["external_id"]

    def _retry_now(self):
        """Process the event again at once (a person waits for the result).

        :return: an action showing the record the event applied when it
            succeeded, else this exception (with its next problem)
        """
        self.ensure_one()
        event = self.event_id.sudo()
        self.sudo().state = "in_progress"
        event._set_queued()
        try:
            with self.env.cr.savepoint():
                event._process()
        except RetryableJobError:
            event._enqueue("_process")  # another job holds the object: the runner does it in a moment
        record = self._applied_record() if event.state == "done" else None
        target = record or self
        return {"type": "ir.actions.act_window", "res_model": target._name, "res_id": target.id, "view_mode": "form"}

    def _applied_record(self):
        """The record of the corrected message, if this user may see it."""
        type_, external_id = self._correction_target()
        record = self.env["integration.binding"].sudo()._find_record(self.backend_id, type_, external_id)
        if not record:
            return None
        try:
            record.with_env(self.env).check_access("read")
        except AccessError:
            return None
        return record.with_env(self.env)

    # ------------------------------------------------------------------
    # Actions for people (each one audited in the chatter)
    # ------------------------------------------------------------------
    def _check_open(self):
        for exc in self:
            if exc.state in ("resolved", "ignored"):
                raise UserError(self.env._("Exception “%s” is already closed.", exc.name))

    def action_take(self):
        self.check_access("write")
        self.sudo().write({"user_id": self.env.uid, "state": "in_progress"})

    def action_retry(self):
        """Retry the events of these exceptions (also the bulk action)."""
        self.check_access("write")
        self._check_open()
        for exc in self:
            events = (exc.event_ids | exc.event_id).sudo()
            if not events:
                raise UserError(self.env._("Exception “%s” has no event to retry.", exc.name))
            exc.message_post(body=self.env._("Retry requested by %s.", self.env.user.name))
            exc.sudo().state = "in_progress"
            if exc.cause:
                exc.sudo()._requeue_cause_events()
            else:
                events.filtered(lambda e: e.state not in ("queued", "processing", "done")).action_retry()
        return True

    def action_resolve(self):
        self.check_access("write")
        self.sudo().write({"state": "resolved", "resolved_date": fields.Datetime.now(), "resolved_uid": self.env.uid})
        for exc in self:
            exc.message_post(body=self.env._("Marked as resolved by %s.", self.env.user.name))

    def action_ignore(self, reason):
        """Ignore with a reason; the failed events are marked ignored too."""
        self.check_access("write")
        if not (reason or "").strip():
            raise UserError(self.env._("Say why this exception is ignored."))
        self._check_open()
        for exc in self:
            exc.sudo().write(
                {
                    "state": "ignored",
                    "ignore_reason": reason,
                    "resolved_date": fields.Datetime.now(),
                    "resolved_uid": self.env.uid,
                }
            )
            exc.message_post(body=self.env._("Ignored by %(user)s: %(reason)s", user=self.env.user.name, reason=reason))
            for event in (exc.event_ids | exc.event_id).sudo().filtered(lambda e: e.state in ("failed", "dead")):
                event._set_ignored(note=f"Ignored by {self.env.user.name}: {reason}")
        return True

    def action_escalate(self):
        """Hand the exception to an integration manager: assigned, with an activity."""
        self.check_access("write")
        self._check_open()
        for exc in self:
            manager = exc._escalation_manager()
            exc.sudo().write({"user_id": manager.id, "state": "in_progress", "escalated": True})
            exc.sudo().activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Escalated by %s", self.env.user.name),
                note=exc.description,
                user_id=manager.id,
            )
            exc.message_post(
                body=self.env._("Escalated by %(user)s to %(manager)s.", user=self.env.user.name, manager=manager.name)
            )
        return True

    def _escalation_manager(self):
        """Who gets it: the backend's escalation contact, else the integration manager with the fewest open ones."""
        self.ensure_one()
        manager = self.backend_id.sudo().escalation_user_id
        if manager:
            return manager
        managers = (
            self.env.ref(MANAGER)
            .sudo()
            .all_user_ids.filtered(lambda u: u.active and not u.share and u.id != self.env.uid and u._is_internal())
        )
        if not managers:
            raise UserError(
                self.env._(
                    "No integration manager to escalate to: an administrator gives someone the Integration / "
                    "Manager role, or sets “Escalate to” on the backend."
                )
            )
        load = dict(
            self.sudo()._read_group(
                [("user_id", "in", managers.ids), ("state", "in", OPEN_EXCEPTION_STATES)], ["user_id"], ["__count"]
            )
        )
        return min(managers, key=lambda user: (load.get(user, 0), user.id))

    def _link_record(self, record):
        """Bind the external object to ``record`` chosen by a person, then retry.

        The person must be allowed to change the exception and to see the record.
        """
        self.ensure_one()
        check_rights(self, "write")
        check_rights(record, "read")
        self._check_open()
        if not (self.link_canonical_type and self.link_external_id):
            raise UserError(self.env._("This exception is not about a record that can be linked."))
        try:
            self.env["integration.binding"].sudo()._bind(
                self.backend_id, self.link_canonical_type, self.link_external_id, record
            )
        except ConcurrentUpdate as exc:
            raise UserError(self.env._("The integration just changed this object: try again.")) from exc
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
        """Replace the event's raw payload (managers), audit the change, retry.

        The chatter, which integration users read, names the fields that
        changed, never their values; the payload as received is kept on the
        event for managers (``payload_before_edit``).
        """
        check_rights(self, "write", MANAGER)
        self.ensure_one()
        self._check_open()
        try:
            new = json.loads(payload)
        except ValueError as exc:
            raise UserError(self.env._("The payload is not valid JSON: %s", exc)) from exc
        event = self.event_id.sudo()
        before = event.payload
        try:
            changed = changed_paths(json.loads(before or "null"), new)
        except ValueError:
            changed = ["/"]
        vals = {"payload": payload}
        if not event.payload_before_edit:
            vals["payload_before_edit"] = before
        event.write(vals)
        self.message_post(
            body=self.env._(
                "Payload edited by %(user)s before retry (%(before)s → %(after)s bytes). Changed: %(changed)s.",
                user=self.env.user.name,
                before=len(before or ""),
                after=len(payload),
                changed=", ".join(changed) or self.env._("nothing"),
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
        self.check_access("read")
        return {
            "type": "ir.actions.act_window",
            "res_model": "integration.event",
            "res_id": self.event_id.id,
            "view_mode": "form",
        }

    def action_view_events(self):
        self.ensure_one()
        self.check_access("read")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Events of %s", self.name),
            "res_model": "integration.event",
            "view_mode": "list,form",
            "domain": [("id", "in", (self.event_ids | self.event_id).ids)],
        }
