"""The inbox: store an inbound event once, enqueue its processing in the same transaction."""

import json
import uuid
from datetime import UTC

import psycopg2

from odoo import api, fields, models
from odoo.tools import SQL


class IntegrationEventInbox(models.AbstractModel):
    """Mixed into ``integration.event``: its methods run on events."""

    _name = "integration.event.inbox"
    _description = "Integration Event Inbox (store once, enqueue)"

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
        if rejected:
            state, note = "rejected", f"Rejected: {rejected}"
        elif not supported:
            state, note = "ignored", "Event type not handled by this connector: stored, not processed."
        else:
            state, note = "queued", None
        vals = {
            "backend_id": backend.id,
            "company_id": backend.company_id.id,
            "source": source,
            "event_type": identity["event_type"],
            "external_id": identity["external_id"],
            "occurred_at": identity.get("occurred_at"),
            "state": state,
            "payload": payload,
            "headers": json.dumps(headers or {}, sort_keys=True),
            "correlation_id": correlation_id or uuid.uuid4().hex,
            "note": note,
        }
        event_id = self._insert_once(vals)
        if not event_id:
            existing = self.sudo().search(
                [
                    ("backend_id", "=", backend.id),
                    ("direction", "=", "in"),
                    ("external_id", "=", identity["external_id"]),
                ],
                limit=1,
            )
            return existing, False
        event = self.browse(event_id)
        if supported:
            event._enqueue("_process")
        elif not rejected:
            self._track_unsupported(backend, identity["event_type"])
        return event, True

    def _insert_once(self, vals):
        """INSERT the inbound event unless its key is taken; its id, or None for a duplicate.

        One statement, no ORM: the inbox's hot path (a settled event -- not
        queued -- is done the moment it is stored).
        """
        now = fields.Datetime.now()
        occurred_at = vals["occurred_at"]
        if occurred_at is not None and occurred_at.tzinfo is not None:
            occurred_at = occurred_at.astimezone(UTC).replace(tzinfo=None)
        columns = dict(
            vals,
            direction="in",
            occurred_at=occurred_at,
            received_at=now,
            attempts=0,
            done_at=None if vals["state"] == "queued" else now,
            create_uid=self.env.uid,
            write_uid=self.env.uid,
            create_date=now,
            write_date=now,
        )
        query = SQL(
            "INSERT INTO integration_event (%s) VALUES %s "
            "ON CONFLICT (backend_id, direction, external_id) DO NOTHING RETURNING id",
            SQL(", ").join(SQL.identifier(column) for column in columns),
            tuple(columns.values()),
        )
        try:
            # A concurrent delivery committed the same key after our snapshot
            # began: PostgreSQL refuses the insert (serialization failure).
            # It is a duplicate; the savepoint keeps our transaction usable.
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(query, log_exceptions=False)
                row = self.env.cr.fetchone()
        except psycopg2.errors.SerializationFailure:
            row = None
        return row[0] if row else None

    # ------------------------------------------------------------------
    # Event types a backend keeps sending but its connector does not handle
    # ------------------------------------------------------------------
    def _track_unsupported(self, backend, event_type):
        """Count an unsupported event type off the webhook's path: one pending job per type."""
        self.sudo().with_delay(
            channel=backend.job_channel,
            identity_key=f"integration.unsupported:{backend.id}:{event_type}",
            description=f"Unsupported {event_type} ({backend.name})",
        )._report_unsupported(backend, event_type)

    def _report_unsupported(self, backend, event_type):
        """Job: one exception per unsupported event type and backend, counting its events.

        The exception is the backend's, not an event's (nothing failed; the
        sender's subscription is the fix, not a retry). Opened once; later
        events only update its count (``occurrences``), also when a person
        ignored it (they chose to keep receiving the type silently).
        """
        count = self.sudo().search_count(
            [
                ("backend_id", "=", backend.id),
                ("direction", "=", "in"),
                ("event_type", "=", event_type),
                ("state", "=", "ignored"),
            ]
        )
        if not count:
            return "no event"
        Exceptions = self.env["integration.exception"]._words_env(backend).sudo()
        key = f"unsupported:{event_type}"
        Exceptions._claim_key(backend, key)  # two jobs never open it twice
        text = Exceptions.env._(
            "%(backend)s received %(count)s event(s) of type %(type)s, which its connector does not handle: "
            "stored as ignored, never applied.",
            backend=backend.name,
            count=count,
            type=event_type,
        )
        existing = Exceptions.search([("backend_id", "=", backend.id), ("dedup_key", "=", key)], limit=1)
        if existing:
            existing.write({"occurrences": count, "details": text})
            return f"{count} event(s), exception {existing.id}"
        description, _hint = Exceptions._category_words("mapping")
        exception = Exceptions.create(
            {
                "name": Exceptions._title("mapping", event_type),
                "subject": event_type,
                "category": "mapping",
                "severity": "low",
                "backend_id": backend.id,
                "description": f"{description}\n{text}",
                "hint": Exceptions.env._(
                    "Unsubscribe this event type in the sending system's webhook settings, or ignore this "
                    "exception with a reason to keep receiving it silently."
                ),
                "details": text,
                "dedup_key": key,
                "blocking": False,
                "occurrences": count,
            }
        )
        return f"{count} event(s), exception {exception.id} opened"

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
