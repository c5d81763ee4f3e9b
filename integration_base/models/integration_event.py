"""Events: every message in or out, stored before anything else happens.

Life of an event (every change of ``state`` goes through one of the named
transition methods below; nothing else writes it)::

    inbound:  webhook route / stream page --_ingest()--> queued | ignored | rejected
    outbound: Odoo change --_emit_outbound()--> queued
    queued --_set_processing()--> processing  (a job runs an attempt)
    processing --_set_done()--> done
               --_set_ignored()--> ignored  (nothing to apply, nothing to send)
               --_set_retry()--> queued     (retryable error: new job with backoff + jitter;
                                             a wait that is nobody's fault keeps the attempt)
               --_set_failed()--> failed    (permanent error: exception opened at once)
               --_set_dead()--> dead        (retryable error, attempts exhausted: exception opened)
    failed | dead --_set_ignored()--> ignored  (a person ignores the exception)
    failed | dead | done | ... --_set_queued()--> queued  (a person retries or replays)

The model is split by concern, one mixin per file: this file (fields, state machine, actions,
retention), ``integration_event_inbox.py`` (store once, enqueue),
``integration_event_runner.py`` (jobs: attempts, retries, dead letters,
follow-ups) and ``integration_event_outbound.py`` (outbox and sending).
"""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..access import MANAGER, USER, check_rights
from ..const import EVENT_STATES, FINAL_STATES

_logger = logging.getLogger(__name__)


class IntegrationEvent(models.Model):
    _name = "integration.event"
    _description = "Integration Event"
    _inherit = ["mail.thread", "integration.event.inbox", "integration.event.runner", "integration.event.outbound"]
    _order = "id desc"
    _rec_name = "display_name"

    backend_id = fields.Many2one("integration.backend", required=True, index=True, ondelete="restrict", readonly=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    connector_type = fields.Selection(related="backend_id.connector_type")
    direction = fields.Selection([("in", "Inbound"), ("out", "Outbound")], required=True, default="in", readonly=True)
    source = fields.Selection(
        [("webhook", "Webhook"), ("stream", "Stream"), ("odoo", "Odoo change"), ("manual", "Manual")],
        default="webhook",
        readonly=True,
    )
    event_type = fields.Char(index=True, readonly=True)
    external_id = fields.Char(
        required=True, readonly=True, help="The sender's event id (inbound) or the idempotency key (outbound)."
    )
    occurred_at = fields.Datetime(readonly=True, index=True)
    received_at = fields.Datetime(default=fields.Datetime.now, readonly=True, index=True)
    done_at = fields.Datetime(readonly=True)
    state = fields.Selection(EVENT_STATES, default="received", required=True, index=True, readonly=True, tracking=True)
    correlation_id = fields.Char(index=True, readonly=True)
    # Personal data: managers only; purged after the retention period.
    payload = fields.Text(readonly=True, groups="integration_base.group_integration_manager")
    headers = fields.Text(
        readonly=True, groups="integration_base.group_integration_manager", help="Request headers, secrets redacted."
    )
    canonical = fields.Text(
        string="Canonical messages", readonly=True, groups="integration_base.group_integration_manager"
    )
    corrections = fields.Text(
        readonly=True,
        groups="integration_base.group_integration_manager",
        help="Values people corrected (JSON): applied to the canonical messages at every attempt, "
        "the raw payload stays as received.",
    )
    payload_before_edit = fields.Text(
        readonly=True,
        copy=False,
        groups="integration_base.group_integration_manager",
        help="The payload as received, kept when a manager edits it (Edit and retry).",
    )
    payload_purged = fields.Boolean(readonly=True)
    attempts = fields.Integer(readonly=True)
    deferrals = fields.Integer(
        string="Waits",
        readonly=True,
        help="Retries that did not use an attempt: rate limited, circuit open, another job on the same object.",
    )
    next_retry_at = fields.Datetime(readonly=True)
    error_message = fields.Text(readonly=True)
    error_traceback = fields.Text(readonly=True, groups="integration_base.group_integration_manager")
    note = fields.Text(readonly=True, help="What processing decided: stale, ownership, ignored fields...")
    response_status = fields.Integer(readonly=True, help="HTTP status of the last outbound call.")
    # Outbound: the Odoo record whose current state is sent.
    canonical_type = fields.Char(readonly=True)
    res_model = fields.Char(readonly=True, index=True)
    res_id = fields.Many2oneReference(model_field="res_model", readonly=True)
    job_ids = fields.Many2many(
        "queue.job", string="Jobs", readonly=True, copy=False, groups="integration_base.group_integration_manager"
    )
    job_count = fields.Integer(compute="_compute_job_count", compute_sudo=True)
    exception_ids = fields.One2many("integration.exception", "event_id", readonly=True)
    exception_count = fields.Integer(compute="_compute_counts")
    record_ids = fields.One2many("integration.event.record", "event_id", string="Records touched", readonly=True)
    record_count = fields.Integer(compute="_compute_counts")

    _external_id_unique = models.Constraint(
        "UNIQUE(backend_id, direction, external_id)",
        "An event is stored once per backend, direction and external id.",
    )
    _state_received_idx = models.Index("(state, next_retry_at) WHERE state IN ('queued', 'failed', 'dead')")

    @api.depends("backend_id", "event_type", "external_id")
    def _compute_display_name(self):
        for event in self:
            arrow = "→" if event.direction == "out" else "←"
            event.display_name = (
                f"{event.backend_id.name or ''} {arrow} {event.event_type or ''} {event.external_id or ''}".strip()
            )

    def _compute_job_count(self):
        for event in self:
            event.job_count = len(event.job_ids)

    def _compute_counts(self):
        for event in self:
            event.exception_count = len(event.exception_ids)
            event.record_count = len(event.record_ids)

    # ------------------------------------------------------------------
    # State machine: the only writers of ``state``
    # ------------------------------------------------------------------
    def _set_queued(self):
        """A person asks for the event to run again (retry, replay): attempts start over."""
        self.sudo().write(
            {"state": "queued", "next_retry_at": False, "error_message": False, "attempts": 0, "deferrals": 0}
        )

    def _set_processing(self):
        """A job starts an attempt."""
        self.sudo().write({"attempts": self.attempts + 1, "state": "processing", "next_retry_at": False})

    def _set_retry(self, error, trace, eta):
        """The attempt failed with a retryable error: queued again until ``eta``.

        A wait that is nobody's fault (``error.burns_attempt`` false) gives
        the attempt back and counts as a deferral instead.
        """
        vals = {"state": "queued", "next_retry_at": eta, "error_message": error.message, "error_traceback": trace}
        if not error.burns_attempt:
            vals.update(attempts=self.attempts - 1, deferrals=self.deferrals + 1)
        self.sudo().write(vals)

    def _set_retry_now(self):
        """A waiting event's next attempt is brought forward (its backend answers again)."""
        self.sudo().write({"next_retry_at": fields.Datetime.now()})

    def _set_done(self, note=None):
        """Processed (or sent); ``note`` replaces the processing note when given."""
        self._set_settled("done", note)

    def _set_ignored(self, note=None):
        """Nothing to do for this event (or a person decided so)."""
        self._set_settled("ignored", note)

    def _set_failed(self, error, trace=None):
        """A permanent error (or a job that failed outside the engine): tracked for people."""
        self._set_broken("failed", error, trace)

    def _set_dead(self, error, trace=None):
        """Retryable errors until the attempts ran out: tracked for people."""
        self._set_broken("dead", error, trace)

    def _set_settled(self, state, note):
        vals = {"state": state, "error_message": False, "next_retry_at": False}
        if state in FINAL_STATES:
            vals["done_at"] = fields.Datetime.now()
        if note:
            vals["note"] = note
        self.sudo().write(vals)

    def _set_broken(self, state, error, trace):
        vals = {"state": state, "error_message": error.message}
        if trace is not None:
            vals["error_traceback"] = trace
        self.sudo().with_context(tracking_disable=False).write(vals)

    # ------------------------------------------------------------------
    # What processing decided and touched
    # ------------------------------------------------------------------
    def _add_note(self, text):
        """Record a processing decision (stale, ownership...) on the event."""
        self.note = f"{self.note}\n{text}" if self.note else text

    def _touch(self, record, action):
        """Remember that processing ``action``-ed ``record`` (traceability)."""
        self.env["integration.event.record"].sudo().create(
            {
                "event_id": self.id,
                "res_model": record._name,
                "res_id": record.id,
                "action": action,
                "correlation_id": self.correlation_id,
            }
        )

    # ------------------------------------------------------------------
    # Actions (audited in the chatter)
    # ------------------------------------------------------------------
    def _check_retryable(self):
        for event in self:
            if event.state in ("queued", "processing"):
                raise UserError(self.env._("Event %s is already waiting to be processed.", event.display_name))

    def action_retry(self):
        """Process again from the stored payload (failed, dead or done events)."""
        check_rights(self, "read", USER)
        self._check_retryable()
        for event in self:
            event._requeue(self.env._("Retry requested by %s.", self.env.user.name))
        return True

    def action_replay(self):
        """Replay a processed event: same as retry, audited as a replay (managers)."""
        check_rights(self, "write", MANAGER)
        self._check_retryable()
        for event in self:
            if event.payload_purged:
                raise UserError(self.env._("The payload of %s was purged: it cannot be replayed.", event.display_name))
            event._requeue(self.env._("Replay requested by %s.", self.env.user.name))
        return True

    def _requeue(self, audit):
        self._set_queued()
        if self.direction == "in":
            self._enqueue("_process")
        else:
            backend = self.backend_id.sudo()
            backend._connector()._outbound_enqueue(backend, self)
        # integration users may retry but not write events: audited in their name
        self.sudo().message_post(body=audit, author_id=self.env.user.partner_id.id)

    def action_view_jobs(self):
        check_rights(self, "read", MANAGER)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Jobs"),
            "res_model": "queue.job",
            "view_mode": "list,form",
            "domain": [("id", "in", self.sudo().job_ids.ids)],
        }

    def action_view_records(self):
        check_rights(self, "read")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Records touched"),
            "res_model": "integration.event.record",
            "view_mode": "list",
            "domain": [("event_id", "in", self.ids)],
        }

    # ------------------------------------------------------------------
    # Retention
    # ------------------------------------------------------------------
    @api.model
    def _purge_personal_data(self, record):
        """Blank the stored payloads of every event about ``record`` (a privacy erasure).

        Inbound events that touched it and outbound events that sent it keep
        their metadata; what they carried of the person goes.

        :return: the number of events purged
        """
        self.env.flush_all()
        self.env.cr.execute(
            """
            UPDATE integration_event e
               SET payload = NULL, headers = NULL, canonical = NULL, error_traceback = NULL,
                   payload_purged = TRUE, write_date = now() at time zone 'UTC'
             WHERE (e.res_model = %s AND e.res_id = %s)
                OR e.id IN (SELECT event_id FROM integration_event_record WHERE res_model = %s AND res_id = %s)
            """,
            (record._name, record.id, record._name, record.id),
        )
        count = self.env.cr.rowcount
        self.invalidate_model(["payload", "headers", "canonical", "error_traceback", "payload_purged"])
        return count

    @api.model
    def _cron_purge_payloads(self):
        """Blank raw payloads and headers past the retention period.

        Metadata (ids, type, state, dates, errors) stays; events with an open
        exception keep their payload so they can still be fixed.
        """
        self.env.flush_all()
        days = int(self.env["ir.config_parameter"].sudo().get_param("integration_base.retention_days", 30))
        limit = fields.Datetime.now() - timedelta(days=days)
        self.env.cr.execute(
            """
            UPDATE integration_event e
               SET payload = NULL, headers = NULL, canonical = NULL, error_traceback = NULL, payload_before_edit = NULL,
                   payload_purged = TRUE, write_date = now() at time zone 'UTC'
             WHERE e.received_at < %s AND e.payload_purged IS NOT TRUE
               AND e.state NOT IN ('queued', 'processing')
               AND NOT EXISTS (SELECT 1 FROM integration_exception x
                                WHERE x.event_id = e.id AND x.state IN ('new', 'in_progress'))
            """,
            (limit,),
        )
        count = self.env.cr.rowcount
        self.invalidate_model(
            ["payload", "headers", "canonical", "error_traceback", "payload_before_edit", "payload_purged"]
        )
        _logger.info("purged the payload of %s integration event(s) older than %s days", count, days)
        return count
