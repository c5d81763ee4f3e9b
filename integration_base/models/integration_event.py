"""Events: every message in or out, stored before anything else happens.

Life of an inbound event::

    webhook route / stream page --_ingest()--> queued --job _process()-->
        done | ignored
        failed  (permanent error: exception opened at once)
        queued  (retryable error: new job with backoff + jitter)
        dead    (retryable error, attempts exhausted: exception opened)

Outbound events are created by Odoo-side triggers (``_emit_outbound``) and
sent by the job ``_send_outbound`` through the connector's client.

Jobs never commit: the work of an attempt runs in a savepoint; on failure the
savepoint is rolled back and the attempt's outcome (state, error, next retry,
exception) is written in the job's own transaction, so nothing is half done
and nothing is lost. Serialization failures are re-raised for queue_job,
which retries the whole job on a fresh snapshot.
"""

import json
import logging
import random
import traceback
import uuid
from datetime import UTC, timedelta

import psycopg2
from psycopg2 import errorcodes

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..backoff import backoff_seconds
from ..const import EVENT_STATES, FINAL_STATES
from ..exceptions import IntegrationError, PermanentError, RetryableError
from ..schemas import validate_message

_logger = logging.getLogger(__name__)

#: PostgreSQL errors queue_job retries by itself on a fresh transaction
CONCURRENCY_ERRORS = (
    errorcodes.SERIALIZATION_FAILURE,
    errorcodes.DEADLOCK_DETECTED,
    errorcodes.LOCK_NOT_AVAILABLE,
)


def _json_default(value):
    return str(value)


class IntegrationEvent(models.Model):
    _name = "integration.event"
    _description = "Integration Event"
    _inherit = ["mail.thread"]
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
    payload_purged = fields.Boolean(readonly=True)
    attempts = fields.Integer(readonly=True)
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
    # Ingestion (webhook route, streams): store once, enqueue in the same
    # transaction
    # ------------------------------------------------------------------
    @api.model
    def _ingest(self, backend, identity, payload, headers=None, correlation_id=None, source="webhook", rejected=None):
        """Store an inbound event once and enqueue its processing.

        ``INSERT ... ON CONFLICT DO NOTHING`` makes a redelivery, even a
        concurrent one, a no-op: the first transaction wins, the other sees
        the conflict, or a serialization failure that means the same.

        :param identity: dict of ``external_id``, ``event_type``, ``occurred_at``
        :param payload: the raw body (str)
        :param headers: redacted headers (dict)
        :param rejected: reason why a rule refused the event: stored as
            *rejected*, never processed
        :return: ``(event, created)``
        """
        supported = not rejected and backend._connector()._event_is_supported(backend, identity["event_type"])
        now = fields.Datetime.now()
        occurred_at = identity.get("occurred_at")
        if occurred_at is not None and occurred_at.tzinfo is not None:
            occurred_at = occurred_at.astimezone(UTC).replace(tzinfo=None)
        state = "queued" if supported else ("rejected" if rejected else "ignored")
        note = None
        if rejected:
            note = f"Rejected: {rejected}"
        elif not supported:
            note = "Event type not handled by this connector: stored, not processed."
        query = (
            """
            INSERT INTO integration_event (
                backend_id, company_id, direction, source, event_type, external_id,
                occurred_at, received_at, state, payload, headers, correlation_id,
                attempts, note, done_at, create_uid, write_uid, create_date, write_date)
            VALUES (%s, %s, 'in', %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (backend_id, direction, external_id) DO NOTHING
            RETURNING id
            """,
            (
                backend.id,
                backend.company_id.id,
                source,
                identity["event_type"],
                identity["external_id"],
                occurred_at,
                now,
                state,
                payload,
                json.dumps(headers or {}, sort_keys=True),
                correlation_id or uuid.uuid4().hex,
                note,
                None if supported else now,
                self.env.uid,
                self.env.uid,
                now,
                now,
            ),
        )
        try:
            # A concurrent delivery committed the same key after our snapshot
            # began: PostgreSQL refuses the insert (serialization failure).
            # It is a duplicate; the savepoint keeps our transaction usable.
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(*query, log_exceptions=False)
                row = self.env.cr.fetchone()
        except psycopg2.errors.SerializationFailure:
            row = None
        if not row:
            existing = self.sudo().search(
                [
                    ("backend_id", "=", backend.id),
                    ("direction", "=", "in"),
                    ("external_id", "=", identity["external_id"]),
                ],
                limit=1,
            )
            return existing, False
        event = self.browse(row[0])
        if supported:
            event._enqueue("_process")
        return event, True

    def _enqueue(self, method, eta=None):
        """Enqueue ``method`` of this event as a job on the backend's channel."""
        self.ensure_one()
        event = self.sudo()
        backend = event.backend_id
        job = getattr(
            event.with_delay(
                channel=backend.job_channel,
                eta=eta,
                description=f"{'Process' if self.direction == 'in' else 'Send'} {self.event_type or ''} "
                f"({backend.name})",
            ),
            method,
        )()
        event._link_job(job)
        return job

    def _link_job(self, job):
        """Link a job just delayed to this event, in one statement.

        Searching the job by uuid and writing ``job_ids`` through the ORM
        were a tenth of the webhook route's time (bench/ ingest profile).
        """
        if job is None:
            return
        field = self._fields["job_ids"]
        self.env.cr.execute(
            f"""INSERT INTO {field.relation} ({field.column1}, {field.column2})
                SELECT %s, id FROM queue_job WHERE uuid = %s
                ON CONFLICT DO NOTHING""",
            (self.id, job.uuid),
        )
        self.invalidate_recordset(["job_ids"])

    # ------------------------------------------------------------------
    # Processing (jobs)
    # ------------------------------------------------------------------
    def _process(self):
        """Job: map, validate and apply one inbound event (as superuser:
        integration work is system work, whoever asked for a retry)."""
        self.ensure_one()
        event = self.sudo().with_context(tracking_disable=True)
        if event.state in FINAL_STATES:
            return f"nothing to do: event is {event.state}"
        return event._run_attempt(event._process_attempt, lambda eta: event._enqueue("_process", eta=eta))

    def _process_attempt(self):
        backend = self.backend_id
        payload = self._decoded_payload()
        messages = backend._connector()._event_map(self, payload)
        if not messages:
            # A connector whose event has another effect (an exception for a
            # person, say) settles the event itself; otherwise it is ignored.
            if self.state == "processing":
                self._set_state(
                    "ignored", note=self.note or "The connector produced no canonical message for this event."
                )
            return self.state
        applier = self.env["integration.applier"]
        for message in messages:
            message.setdefault("schema_version", "1.0")
            message.setdefault("source", backend.connector_type)
            message.setdefault("correlation_id", self.correlation_id)
            if message.get("occurred_at") is None and self.occurred_at:
                message["occurred_at"] = self.occurred_at.isoformat() + "Z"
        self.sudo().canonical = json.dumps(messages, indent=1, default=_json_default)
        for message in messages:
            validate_message(message)
            applier._apply(message, self)
        self._set_state("done")
        return f"applied {len(messages)} canonical message(s)"

    def _decoded_payload(self):
        raw = self.sudo().payload
        if raw is None:
            raise PermanentError(
                "The raw payload of this event was purged (retention period): it cannot be processed again.",
                hint="Ask the sending system to send the object again, or resolve by hand.",
            )
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise PermanentError(f"The stored payload is not JSON: {exc}") from exc

    def _run_attempt(self, work, retry):
        """Run ``work`` in a savepoint and record the attempt's outcome.

        Jobs call it on the event with ``tracking_disable``: the routine path
        (queued, processing, retried, done) leaves no chatter message (two
        tracking messages per event were a quarter of the processing time,
        bench/); a failure is tracked, and so are people's actions.

        :param work: callable doing the attempt's work
        :param retry: callable taking an ETA, enqueuing the next attempt
        :return: the job result (a short text)
        """
        self.write({"attempts": self.attempts + 1, "state": "processing", "next_retry_at": False})
        try:
            with self.env.cr.savepoint():
                result = work()
        except psycopg2.OperationalError as exc:
            if exc.pgcode in CONCURRENCY_ERRORS:
                raise  # queue_job retries the job on a fresh snapshot
            return self._attempt_failed(RetryableError(f"database error: {exc}"), traceback.format_exc(), retry)
        except psycopg2.errors.UniqueViolation as exc:
            # Two jobs created the same binding (or record) at once, e.g. an
            # invoice's "finalized" and "paid" events: the advisory lock made
            # the second wait, but its snapshot predates the first one's
            # commit. A new attempt sees what the first one made.
            return self._attempt_failed(
                RetryableError(
                    f"concurrent update, retried: {exc.diag.message_primary}", retry_after=random.uniform(1, 5)
                ),
                traceback.format_exc(),
                retry,
            )
        except IntegrationError as exc:
            return self._attempt_failed(exc, traceback.format_exc(), retry)
        except UserError as exc:
            return self._attempt_failed(
                PermanentError(str(exc.args[0] if exc.args else exc), category="business"),
                traceback.format_exc(),
                retry,
            )
        except Exception as exc:
            _logger.info("event %s: unexpected %s", self.id, exc.__class__.__name__, exc_info=True)
            return self._attempt_failed(
                PermanentError(f"{exc.__class__.__name__}: {exc}"), traceback.format_exc(), retry
            )
        if self.state == "processing":
            self._set_state("done")
        self.env["integration.exception"]._close_for_events(self)
        return result

    def _attempt_failed(self, error, trace, retry):
        backend = self.backend_id
        if getattr(error, "circuit_failure", False):
            backend.sudo()._circuit_failure()
        vals = {"error_message": error.message, "error_traceback": trace}
        if isinstance(error, RetryableError) and self.attempts < backend.max_attempts:
            delay = error.retry_after or backoff_seconds(self.attempts, base=backend.retry_base_seconds)
            eta = fields.Datetime.now() + timedelta(seconds=delay)
            vals.update(state="queued", next_retry_at=eta)
            self.sudo().write(vals)
            retry(eta)
            return f"attempt {self.attempts} failed, retry at {eta}: {error.message}"
        vals["state"] = "dead" if isinstance(error, RetryableError) else "failed"
        self.sudo().with_context(tracking_disable=False).write(vals)
        self.env["integration.exception"]._open_for_event(self, error)
        return f"{vals['state']}: {error.message}"

    def _set_state(self, state, note=None):
        vals = {"state": state, "error_message": False, "next_retry_at": False}
        if state in FINAL_STATES:
            vals["done_at"] = fields.Datetime.now()
        if note:
            vals["note"] = note
        self.sudo().write(vals)

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

    def _enqueue_followup(self, method, *args):
        """Chain a follow-up step as a new job once this step succeeded.

        The step is a method of ``integration.applier`` taking the event and
        ``args``; it runs with the same retry and exception handling. Because
        it is enqueued by the finished step (no job dependency graph), a step
        that fails for good never leaves others waiting forever.
        """
        event = self.sudo()
        job = (
            self.env["integration.applier"]
            .sudo()
            .with_delay(channel=event.backend_id.job_channel, description=f"Follow-up {method} ({event.display_name})")
            ._run_followup(event, method, *args)
        )
        event._link_job(job)

    # ------------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------------
    @api.model
    def _emit_outbound(self, canonical_type, records):
        """Create one outbound event per subscribed backend for ``records``.

        Called from Odoo-side triggers inside the transaction that changed
        the records, so the change and its outbound event commit together.
        The current state of the record is read when the event is sent, so
        several writes in one transaction make one event.
        """
        if not records or self.env.context.get("integration_no_outbound"):
            return self.browse()
        origin = self.env.context.get("integration_origin_backend_id")
        seen = self.env.cr.precommit.data.setdefault("integration.outbound", set())
        backends = self.env["integration.backend"].sudo().search([("outbound_type_ids.code", "=", canonical_type)])
        events = self.browse()
        for record in records:
            company = record.company_id if "company_id" in record._fields else self.env["res.company"]
            for backend in backends:
                if backend.id == origin or (company and backend.company_id != company):
                    continue
                if not backend._connector()._outbound_accepts(backend, canonical_type, record):
                    continue
                key = (backend.id, record._name, record.id)
                if key in seen:
                    continue
                seen.add(key)
                event = self.sudo().create(
                    {
                        "backend_id": backend.id,
                        "direction": "out",
                        "source": "odoo",
                        "event_type": f"{canonical_type}.changed",
                        "canonical_type": canonical_type,
                        "external_id": uuid.uuid4().hex,
                        "occurred_at": fields.Datetime.now(),
                        "state": "queued",
                        "res_model": record._name,
                        "res_id": record.id,
                        "correlation_id": self.env.context.get("integration_correlation_id") or uuid.uuid4().hex,
                    }
                )
                event._enqueue("_send_outbound")
                events |= event
        return events

    def _send_outbound(self):
        """Job: build the canonical message from the record and send it."""
        self.ensure_one()
        event = self.sudo().with_context(tracking_disable=True)
        if event.state in FINAL_STATES:
            return f"nothing to do: event is {event.state}"
        return event._run_attempt(event._send_attempt, lambda eta: event._enqueue("_send_outbound", eta=eta))

    def _send_attempt(self):
        backend = self.backend_id.sudo()
        record = self.env[self.res_model].browse(self.res_id).exists()
        if not record:
            self._set_state("ignored", note="The record was deleted before it could be sent.")
            return "record deleted"
        message = self.env["integration.exporter"]._export(self.canonical_type, record, self)
        validate_message(message)
        self.sudo().payload = json.dumps(message, sort_keys=True, default=_json_default)
        connector = backend._connector()
        backend._circuit_check()
        try:
            response = connector._outbound_deliver(backend, self, message)
        except RetryableError as exc:
            if "rate limit" not in exc.message:
                exc.circuit_failure = True  # counted by _attempt_failed, outside the savepoint
            raise
        backend._circuit_success()
        if response is None:
            # the connector decided there was nothing to send (and noted why)
            self._set_state("done")
            return "nothing sent"
        self.response_status = getattr(response, "status_code", None) or 200
        connector._outbound_response(backend, self, message, response)
        self._set_state("done")
        return f"sent: HTTP {self.response_status}"

    # ------------------------------------------------------------------
    # Actions (audited in the chatter)
    # ------------------------------------------------------------------
    def _check_retryable(self):
        for event in self:
            if event.state in ("queued", "processing"):
                raise UserError(self.env._("Event %s is already waiting to be processed.", event.display_name))

    def action_retry(self):
        """Process again from the stored payload (failed, dead or done events)."""
        self._check_retryable()
        for event in self:
            event.sudo().write({"state": "queued", "next_retry_at": False, "error_message": False, "attempts": 0})
            event._enqueue("_process" if event.direction == "in" else "_send_outbound")
            event.message_post(body=self.env._("Retry requested by %s.", self.env.user.name))
        return True

    def action_replay(self):
        """Replay a processed event: same as retry, audited as a replay."""
        self._check_retryable()
        for event in self:
            if event.payload_purged:
                raise UserError(self.env._("The payload of %s was purged: it cannot be replayed.", event.display_name))
            event.sudo().write({"state": "queued", "next_retry_at": False, "error_message": False, "attempts": 0})
            event._enqueue("_process" if event.direction == "in" else "_send_outbound")
            event.message_post(body=self.env._("Replay requested by %s.", self.env.user.name))
        return True

    def action_view_jobs(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Jobs"),
            "res_model": "queue.job",
            "view_mode": "list,form",
            "domain": [("id", "in", self.sudo().job_ids.ids)],
        }

    def action_view_records(self):
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
               SET payload = NULL, headers = NULL, canonical = NULL, error_traceback = NULL,
                   payload_purged = TRUE, write_date = now() at time zone 'UTC'
             WHERE e.received_at < %s AND e.payload_purged IS NOT TRUE
               AND e.state NOT IN ('queued', 'processing')
               AND NOT EXISTS (SELECT 1 FROM integration_exception x
                                WHERE x.event_id = e.id AND x.state IN ('new', 'in_progress'))
            """,
            (limit,),
        )
        count = self.env.cr.rowcount
        self.invalidate_model(["payload", "headers", "canonical", "error_traceback", "payload_purged"])
        _logger.info("purged the payload of %s integration event(s) older than %s days", count, days)
        return count


class IntegrationEventRecord(models.Model):
    """An Odoo record an event created, updated or skipped."""

    _name = "integration.event.record"
    _description = "Record Touched by an Integration Event"
    _order = "id"

    event_id = fields.Many2one("integration.event", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="event_id.company_id", store=True)
    res_model = fields.Char(required=True, index=True)
    res_id = fields.Many2oneReference(model_field="res_model", required=True, index=True)
    action = fields.Selection(
        [
            ("created", "Created"),
            ("updated", "Updated"),
            ("linked", "Linked"),
            ("skipped", "Skipped"),
            ("deleted", "Archived"),
        ],
        required=True,
    )
    correlation_id = fields.Char(index=True)
    record_name = fields.Char(compute="_compute_record_name")

    def _compute_record_name(self):
        for line in self:
            record = self.env[line.res_model].browse(line.res_id).exists() if line.res_model in self.env else None
            line.record_name = record.display_name if record else f"{line.res_model},{line.res_id}"

    def action_open_record(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }
