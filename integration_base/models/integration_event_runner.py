"""The runner: jobs that process inbound events, one attempt at a time.

Jobs never commit: the work of an attempt runs in a savepoint; on failure the
savepoint is rolled back and the attempt's outcome (state, error, next retry,
exception) is written in the job's own transaction, so nothing is half done
and nothing is lost. Serialization failures are re-raised for queue_job,
which retries the whole job on a fresh snapshot.
"""

import contextlib
import json
import logging
import random
import traceback
from datetime import timedelta

import psycopg2
from psycopg2 import errorcodes

from odoo import fields, models
from odoo.exceptions import UserError

from .. import corrections, http_client, netguard
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


def remember_messages(exc, messages, current):
    """Attach the attempt's canonical messages (and the one being handled) to ``exc``."""
    if messages is None:
        return
    # an exception type without attributes of its own (a C extension's) keeps nothing
    with contextlib.suppress(AttributeError):
        exc.integration_messages = messages
        exc.integration_message = current


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
        for message in messages:
            message.setdefault("schema_version", "1.0")
            message.setdefault("source", backend.connector_type)
            message.setdefault("correlation_id", self.correlation_id)
            if message.get("occurred_at") is None and self.occurred_at:
                message["occurred_at"] = self.occurred_at.isoformat() + "Z"
        self._apply_corrections(messages)
        self.sudo().canonical = json.dumps(messages, indent=1, default=json_default)
        self._apply_messages(messages)
        self._set_done()
        return f"applied {len(messages)} canonical message(s)"

    def _apply_messages(self, messages):
        """Validate every message, claim every object they touch (sorted: no
        deadlock), then apply them in order. A failure remembers which
        message it is about (for the exception's subject and correction)."""
        applier = self.env["integration.applier"]
        current = None
        try:
            for message in messages:
                current = message
                self.env["integration.canonical.type"]._validate(message)
            current = None
            applier._claim_messages(messages, self)
            for message in messages:
                current = message
                applier._apply(message, self)
        except Exception as exc:
            remember_messages(exc, messages, current)
            raise

    def _apply_corrections(self, messages):
        """Apply the values people corrected (``corrections``) to the messages of this attempt."""
        stored = self.sudo().corrections
        if not stored:
            return
        applied = corrections.apply(messages, json.loads(stored))
        if applied:
            self._add_note(f"{applied} value(s) corrected by people applied before validation.")

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
        with http_client.call_journal() as journal:
            result = self._attempt(work, retry)
        if self.state in FINAL_STATES:
            self.env["integration.exception"]._close_for_events(self)
        if journal.answered(self.backend_id.id):
            # the backend answered: an outage it had is over
            self.env["integration.exception"]._clear_causes(self.backend_id)
        return result

    def _attempt(self, work, retry):
        try:
            # outbound calls of the attempt go only where the backend may send
            with self.env.cr.savepoint(), netguard.guarded(self.backend_id._outbound_policy()):
                result = work()
        except psycopg2.OperationalError as exc:
            if exc.pgcode in CONCURRENCY_ERRORS:
                raise  # queue_job retries the job on a fresh snapshot
            return self._attempt_failed(RetryableError(f"database error: {exc}"), traceback.format_exc(), retry)
        except Exception as exc:  # every failure is recorded on the event
            return self._attempt_failed(self._attempt_error(exc), traceback.format_exc(), retry)
        if self.state == "processing":
            self._set_done()
        return result

    def _attempt_error(self, exc):
        """The engine's error for what an attempt raised (remembering its messages)."""
        error = self._engine_error(exc)
        if error is not exc:
            remember_messages(
                error, getattr(exc, "integration_messages", None), getattr(exc, "integration_message", None)
            )
        return error

    def _engine_error(self, exc):
        if isinstance(exc, IntegrationError):
            return exc
        if isinstance(exc, psycopg2.errors.UniqueViolation):
            # Two jobs created the same record at once outside the claims of
            # the applier core (which prevent it for bindings): a new attempt
            # sees what the first one made.
            return RetryableError(
                f"concurrent update, retried: {exc.diag.message_primary}", retry_after=random.uniform(1, 5)
            )
        if isinstance(exc, psycopg2.DataError):
            # a value the schemas let through but a column refused (they bound what they know)
            error = PermanentError(f"the database refused a value: {exc.diag.message_primary}", category="business")
            error.problems = [{"pointer": "/", "rule": "other", "message": exc.diag.message_primary}]
            return error
        if isinstance(exc, UserError):
            return PermanentError(str(exc.args[0] if exc.args else exc), category="business")
        _logger.info("event %s: unexpected %s", self.id, exc.__class__.__name__, exc_info=exc)
        return PermanentError(f"{exc.__class__.__name__}: {exc}")

    def _attempt_failed(self, error, trace, retry):
        """Record a failed attempt: retry later, or fail / dead-letter with an exception.

        A failure of the whole backend (``error.cause``: unreachable,
        credentials refused, rate limited) is reported once per backend and
        cause, with this event among the affected ones, instead of an
        exception of its own.
        """
        backend = self.backend_id
        backend.sudo()._circuit_record_failure(error)
        messages = getattr(error, "integration_messages", None)
        if messages:
            # what the failed attempt tried to apply (rolled back with it), for
            # managers and for people correcting a value
            self.sudo().canonical = json.dumps(messages, indent=1, default=json_default)
        Exception_ = self.env["integration.exception"]
        if error.cause:
            Exception_._report_cause(backend, error.cause, self, error)
        if isinstance(error, RetryableError) and (not error.burns_attempt or self.attempts < backend.max_attempts):
            eta = fields.Datetime.now() + timedelta(seconds=self._retry_delay(error))
            self._set_retry(error, trace, eta)
            retry(eta)
            return f"attempt {self.attempts} failed, retry at {eta}: {error.message}"
        if isinstance(error, RetryableError):
            self._set_dead(error, trace)
        else:
            self._set_failed(error, trace)
        if not error.cause:
            Exception_._open_for_event(self, error)
        return f"{self.state}: {error.message}"

    def _retry_delay(self, error):
        """Seconds before the next attempt.

        Exponential backoff with jitter over every retry so far (attempts and
        deferrals), never sooner than the error's ``retry_after`` (a
        ``Retry-After`` is a floor, not a ceiling); errors that say exactly
        when to come back (our own rate limit, a busy object) wait that long.
        """
        if not error.backoff:
            return (error.retry_after or 1.0) + random.uniform(0, 1)
        tries = self.attempts + self.deferrals
        return max(error.retry_after or 0, backoff_seconds(tries, base=self.backend_id.retry_base_seconds))

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
