"""The runner: jobs that process inbound events, one attempt at a time.

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
from datetime import timedelta

import psycopg2
from psycopg2 import errorcodes

from odoo import fields, models
from odoo.exceptions import UserError

from ..backoff import backoff_seconds
from ..const import FINAL_STATES
from ..exceptions import IntegrationError, PermanentError, RetryableError

_logger = logging.getLogger(__name__)

#: PostgreSQL errors queue_job retries by itself on a fresh transaction
CONCURRENCY_ERRORS = (
    errorcodes.SERIALIZATION_FAILURE,
    errorcodes.DEADLOCK_DETECTED,
    errorcodes.LOCK_NOT_AVAILABLE,
)


def json_default(value):
    return str(value)


class IntegrationEventRunner(models.AbstractModel):
    """Mixed into ``integration.event``: its methods run on events."""

    _name = "integration.event.runner"
    _description = "Integration Event Runner (attempts, retries, dead letters)"

    def _process(self):
        """Job: map, validate and apply one inbound event."""
        return self._run_job("_process", "_process_attempt")

    def _run_job(self, job_method, attempt_method):
        """The body of an event's job: one attempt, as superuser (integration
        work is system work, whoever asked for a retry), unless the event is
        settled already; a retry is the same job again later."""
        self.ensure_one()
        event = self.sudo().with_context(tracking_disable=True)
        if event.state in FINAL_STATES:
            return f"nothing to do: event is {event.state}"
        return event._run_attempt(getattr(event, attempt_method), lambda eta: event._enqueue(job_method, eta=eta))

    def _process_attempt(self):
        backend = self.backend_id
        payload = self._decoded_payload()
        messages = backend._connector()._event_map(self, payload)
        if not messages:
            # A connector whose event has another effect (an exception for a
            # person, say) settles the event itself; otherwise it is ignored.
            if self.state == "processing":
                self._set_ignored(note=self.note or "The connector produced no canonical message for this event.")
            return self.state
        applier = self.env["integration.applier"]
        for message in messages:
            message.setdefault("schema_version", "1.0")
            message.setdefault("source", backend.connector_type)
            message.setdefault("correlation_id", self.correlation_id)
            if message.get("occurred_at") is None and self.occurred_at:
                message["occurred_at"] = self.occurred_at.isoformat() + "Z"
        self.sudo().canonical = json.dumps(messages, indent=1, default=json_default)
        for message in messages:
            self.env["integration.canonical.type"]._validate(message)
            applier._apply(message, self)
        self._set_done()
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
        self._set_processing()
        try:
            with self.env.cr.savepoint():
                result = work()
        except psycopg2.OperationalError as exc:
            if exc.pgcode in CONCURRENCY_ERRORS:
                raise  # queue_job retries the job on a fresh snapshot
            return self._attempt_failed(RetryableError(f"database error: {exc}"), traceback.format_exc(), retry)
        except Exception as exc:  # every failure is recorded on the event
            return self._attempt_failed(self._attempt_error(exc), traceback.format_exc(), retry)
        if self.state == "processing":
            self._set_done()
        self.env["integration.exception"]._close_for_events(self)
        return result

    def _attempt_error(self, exc):
        """The engine's error for what an attempt raised."""
        if isinstance(exc, IntegrationError):
            return exc
        if isinstance(exc, psycopg2.errors.UniqueViolation):
            # Two jobs created the same binding (or record) at once, e.g. an
            # invoice's "finalized" and "paid" events: the advisory lock made
            # the second wait, but its snapshot predates the first one's
            # commit. A new attempt sees what the first one made.
            return RetryableError(
                f"concurrent update, retried: {exc.diag.message_primary}", retry_after=random.uniform(1, 5)
            )
        if isinstance(exc, UserError):
            return PermanentError(str(exc.args[0] if exc.args else exc), category="business")
        _logger.info("event %s: unexpected %s", self.id, exc.__class__.__name__, exc_info=exc)
        return PermanentError(f"{exc.__class__.__name__}: {exc}")

    def _attempt_failed(self, error, trace, retry):
        """Record a failed attempt: retry later, or fail / dead-letter with an exception."""
        backend = self.backend_id
        backend.sudo()._circuit_record_failure(error)
        if isinstance(error, RetryableError) and self.attempts < backend.max_attempts:
            delay = error.retry_after or backoff_seconds(self.attempts, base=backend.retry_base_seconds)
            eta = fields.Datetime.now() + timedelta(seconds=delay)
            self._set_retry(error, trace, eta)
            retry(eta)
            return f"attempt {self.attempts} failed, retry at {eta}: {error.message}"
        if isinstance(error, RetryableError):
            self._set_dead(error, trace)
        else:
            self._set_failed(error, trace)
        self.env["integration.exception"]._open_for_event(self, error)
        return f"{self.state}: {error.message}"

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
