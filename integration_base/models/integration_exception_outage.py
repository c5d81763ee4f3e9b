"""Failures of a whole backend, grouped: one exception per backend and cause.

When a connected system is down, refuses our credentials or throttles us,
every event that calls it fails the same way. Instead of one exception per
event, the engine reports the *cause* (an error's ``cause``, see
``exceptions.py``):

* :meth:`_report_cause` opens the backend's exception for that cause, or
  adds the event to the open one (the exception lists the affected events
  and counts them); the events keep their own retries (a rate-limited one
  without using its attempts) and never get an exception of their own;
* :meth:`_clear_causes` closes the open causes of a backend as soon as a
  call to it succeeds (the runner learns it from ``http_client``'s call
  journal; *Test connection* too), and a job brings the affected events
  forward: those waiting are retried now, those dead or failed are queued
  again (:meth:`_requeue_cause_events`).

This is a general mechanism: any code that observes a backend-wide
condition reports and clears it the same way, with a cause code of its own
(and words for it in ``words.CAUSE_WORDS`` or its own ``_cause_words``).
Reporting only inserts (the link to the event): many jobs failing at once
do not fight over the exception's row.
"""

from odoo import api, fields, models

from ..const import OPEN_EXCEPTION_STATES
from ..races import lock_free_rows, lock_rows
from ..words import CAUSE_WORDS, OTHER_CAUSE_WORDS

#: event states that the end of an outage sends back to processing
REQUEUED_STATES = ("failed", "dead")


class IntegrationExceptionOutage(models.AbstractModel):
    """Mixed into ``integration.exception``: causes shared by every event of a backend."""

    _name = "integration.exception.outage"
    _description = "Integration Exception Causes (outages)"

    cause = fields.Char(
        readonly=True,
        index="btree_not_null",
        help="A failure of the whole backend (unavailable, auth_refused, rate_limited...): "
        "one open exception per backend and cause.",
    )

    @api.model
    def _cause_words(self, cause, backend):
        """Title, what happened and what to do for ``cause`` (override for causes of your own)."""
        title, description, hint = CAUSE_WORDS.get(cause) or OTHER_CAUSE_WORDS
        params = {"backend": backend.name, "cause": cause}
        return self.env._(title) % params, self.env._(description) % params, self.env._(hint) % params

    @api.model
    def _report_cause(self, backend, cause, event=None, error=None, severity="high", words=None):
        """Report that ``cause`` affects ``backend`` (and made ``event`` fail, if given).

        :param cause: a code: ``exceptions.CAUSE_*`` or one of your own
        :param error: the error seen (its text goes to the technical details)
        :param words: ``(title, what happened, what to do)`` for a cause of
            your own (default: :meth:`_cause_words`)
        :return: the open exception of the cause (made on the first report)
        """
        key = f"cause:{cause}"
        self = self._words_env(backend).sudo()
        exc = self.search(
            [("backend_id", "=", backend.id), ("dedup_key", "=", key), ("state", "in", OPEN_EXCEPTION_STATES)],
            limit=1,
        )
        if not exc:
            self._claim_key(backend, key)
            title, description, hint = words or self._cause_words(cause, backend)
            exc = self.create(
                {
                    "name": title,
                    "subject": backend.name,
                    "category": "outage",
                    "cause": cause,
                    "severity": severity,
                    "backend_id": backend.id,
                    "description": description,
                    "hint": hint,
                    "details": error.message if error else False,
                    "dedup_key": key,
                    "blocking": False,
                }
            )
        if event:
            exc._link_event(event)
        return exc

    def _link_event(self, event):
        """List ``event`` among the affected ones (an insert only: no fight over the exception's row)."""
        field = self._fields["event_ids"]
        self.env.cr.execute(
            f"""INSERT INTO {field.relation} ({field.column1}, {field.column2}) VALUES (%s, %s)
                ON CONFLICT DO NOTHING""",
            (self.id, event.id),
        )
        self.invalidate_recordset(["event_ids"])

    @api.model
    def _clear_causes(self, backend, causes=None):
        """``backend`` answers again: close its open causes and bring their events forward."""
        domain = [("backend_id", "=", backend.id), ("cause", "!=", False), ("state", "in", OPEN_EXCEPTION_STATES)]
        if causes:
            domain.append(("cause", "in", list(causes)))
        exceptions = self.sudo().search(domain)
        if not exceptions:
            return exceptions
        self.env.flush_all()
        if not lock_rows(self.env.cr, self._table, exceptions.ids):
            return self.browse()  # another job is closing them right now
        self = self._words_env(backend).sudo()
        exceptions = exceptions.with_env(self.env)
        exceptions.write({"state": "resolved", "resolved_date": fields.Datetime.now(), "resolved_uid": self.env.uid})
        for exc in exceptions:
            exc.message_post(body=self.env._("Closed by itself: %s answers again.", backend.name))
            exc.with_delay(channel=backend.job_channel, description=f"Events of {exc.name}")._requeue_cause_events()
        return exceptions

    def _requeue_cause_events(self):
        """Job (and *Retry*): the events of a cause go through now.

        Waiting ones get their next attempt now; dead or failed ones are
        queued again. Rows another job holds right now are skipped (that job
        is processing them).
        """
        self.ensure_one()
        events = self.sudo().event_ids
        self.env.flush_all()
        free = events.browse(lock_free_rows(self.env.cr, events._table, events.ids))
        requeued = waiting = 0
        for event in free:
            if event.state in REQUEUED_STATES:
                event._set_queued()
                event._enqueue("_process" if event.direction == "in" else "_send_outbound")
                requeued += 1
            elif event.state == "queued":
                jobs = event.job_ids.filtered(lambda job: job.state == "pending")
                if jobs and lock_rows(self.env.cr, jobs._table, jobs.ids):
                    jobs.write({"eta": False})
                    event._set_retry_now()
                    waiting += 1
        return f"{requeued} event(s) queued again, {waiting} waiting event(s) brought forward"
