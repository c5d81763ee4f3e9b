"""Exceptions opened by the engine, in words a finance person can act on.

Every exception names its business object -- what it is and its number,
the customer, the amount, the date (:meth:`_subject_vals`: from the
canonical message that failed, through its type's ``_describe``; from the
raw event through the connector's ``_event_subject`` when mapping failed;
from the Odoo record otherwise) -- says what is wrong in plain, translatable
words (``words.py``: one line per refused value) and what to do.

The same problem reported again (a redelivery, a replay with a new event id)
reuses the open exception of the same object and cause, listing the events.
"""

import json

from odoo import Command, api, fields, models

from odoo.addons.queue_job.exception import RetryableJobError

from ..const import FINAL_STATES, OPEN_EXCEPTION_STATES
from ..exceptions import AmbiguousMatch, BusinessError, ConcurrentUpdate, MissingReference, RetryableError
from ..schemas import short
from ..words import CATEGORY_WORDS, problem_text


class IntegrationExceptionReport(models.AbstractModel):
    """Mixed into ``integration.exception``: how the engine opens and closes them."""

    _name = "integration.exception.report"
    _description = "Integration Exception Reporting"

    # ------------------------------------------------------------------
    # Words
    # ------------------------------------------------------------------
    @api.model
    def _words_env(self, backend):
        """The exception's texts are written in the language of the backend's company."""
        lang = backend.company_id.partner_id.lang if backend else None
        return self.with_context(lang=lang) if lang else self

    def _category_words(self, category):
        description, hint = CATEGORY_WORDS.get(category, CATEGORY_WORDS["business"])
        return self.env._(description), self.env._(hint)

    def _title(self, category, subject):
        what = dict(self._fields["category"]._description_selection(self.env)).get(category, category)
        return self.env._("%(what)s: %(subject)s", what=what, subject=subject) if subject else what

    def _what_happened(self, event, error, description):
        """The category's sentence, then what exactly is wrong, one line per refused value."""
        problems = getattr(error, "problems", None)
        lines = [description]
        if problems:
            lines += [f"• {problem_text(self.env, problem)}" for problem in problems]
        elif isinstance(error, BusinessError | MissingReference):
            lines.append(error.message)
        if isinstance(error, RetryableError) and not problems:
            lines.insert(0, self.env._("The event could not be processed after %s attempts.", event.attempts))
        return "\n".join(lines)

    # ------------------------------------------------------------------
    # The business object
    # ------------------------------------------------------------------
    @api.model
    def _subject_vals(self, event, error=None, records=None):
        """What the exception is about, as field values (subject, customer, amount, date, record)."""
        message = self._failed_message(error)
        backend = event.backend_id
        if message is not None:
            unit = self.env["integration.canonical.type"]._unit(message["type"])
            described = unit.sudo()._describe(message, backend)
        elif records:
            described = self.env["integration.applier"].sudo()._describe_record(records[:1])
        else:
            described = backend._connector()._event_subject(backend, event)
        partner = described.get("partner")
        record = described.get("record")
        vals = {
            "subject": " ".join(part for part in (described.get("label"), described.get("reference")) if part)
            or event.display_name,
            "partner_id": partner.id if partner else False,
            "customer_name": short(partner.display_name if partner else described.get("customer") or "", 120) or False,
            "amount_text": described.get("amount") or False,
            "document_date": described.get("date") or False,
        }
        if record:
            vals.update(res_model=record._name, res_id=record.id)
        return vals

    @api.model
    def _failed_message(self, error):
        """The canonical message an error is about (the one being handled, or the one it names)."""
        if error is None:
            return None
        messages = getattr(error, "integration_messages", None) or []
        current = getattr(error, "integration_message", None)
        if current is None and getattr(error, "canonical_type", None):
            current = next(
                (
                    message
                    for message in messages
                    if message.get("type") == error.canonical_type
                    and message.get("external_id") == getattr(error, "external_id", None)
                ),
                None,
            )
        if current is None and len(messages) == 1:
            current = messages[0]
        if not isinstance(current, dict) or not isinstance(current.get("type"), str):
            return None
        return current if f"integration.canonical.{current['type']}" in self.env else None

    @staticmethod
    def _subject_text(vals):
        customer = vals.get("customer_name")
        return f"{vals['subject']} ({customer})" if customer else vals["subject"]

    # ------------------------------------------------------------------
    # Opened by the engine
    # ------------------------------------------------------------------
    @api.model
    def _open_for_event(self, event, error):
        """Open the exception of ``event`` for ``error``, or count it on the open one of the same cause."""
        self = self._words_env(event.backend_id).sudo()
        category = error.category
        description, hint = self._category_words(category)
        subject = self._subject_vals(event, error, error.records)
        message = self._failed_message(error) or {}
        problems = [
            dict(problem, type=message.get("type"), external_id=message.get("external_id"))
            for problem in getattr(error, "problems", None) or []
        ]
        vals = dict(
            subject,
            name=self._title(category, self._subject_text(subject)),
            category=category,
            severity=error.severity,
            backend_id=event.backend_id.id,
            description=self._what_happened(event, error, description),
            hint=error.hint or hint,
            details=error.message,
            pointer=getattr(error, "pointer", False) or False,
            problems=json.dumps(problems) if problems else False,
            dedup_key=self._cause_key(category, subject, error),
        )
        if error.records:
            vals.update(res_model=error.records._name, res_id=error.records[:1].id)
        vals.update(self._link_vals(error))
        existing = self._open_of(event, vals["dedup_key"])
        if existing:
            existing.write(dict(vals, occurrences=existing.occurrences + 1, event_ids=[Command.link(event.id)]))
            existing.message_post(
                body=self.env._("Failed again (%(event)s): %(error)s", event=event.display_name, error=error.message)
            )
            return existing
        return self.create(dict(vals, event_id=event.id, event_ids=[Command.link(event.id)]))

    @api.model
    def _cause_key(self, category, subject, error):
        """Identifies a problem across events: same object, same category, same first value."""
        return f"{category}:{subject['subject']}:{getattr(error, 'pointer', '') or ''}"[:500]

    @api.model
    def _open_of(self, event, key):
        """The open exception of ``event``, else the open one of the same problem (claimed: one per problem)."""
        Exception_ = self.sudo()
        existing = Exception_.search([("event_id", "=", event.id), ("state", "in", OPEN_EXCEPTION_STATES)], limit=1)
        if existing or not key:
            return existing
        domain = [("backend_id", "=", event.backend_id.id), ("dedup_key", "=", key)]
        existing = Exception_.search(domain + [("state", "in", OPEN_EXCEPTION_STATES)], limit=1)
        if not existing:
            self._claim_key(event.backend_id, key)
        return existing

    @api.model
    def _claim_key(self, backend, key):
        """Claim the opening of the exception ``key``: two jobs never open the same one twice.

        Losing the claim means another job just opened it: the whole job is
        postponed (queue_job retries it quietly) and finds it next time.
        """
        try:
            self.env["integration.claim"]._claim(f"exception:{backend.id}:{key}")
        except ConcurrentUpdate as exc:
            raise RetryableJobError(exc.message, seconds=1) from exc

    @api.model
    def _link_vals(self, error):
        if isinstance(error, AmbiguousMatch):
            return {
                "candidate_partner_ids": [Command.set(error.candidates.ids)],
                "link_model": error.candidates._name,
                "link_canonical_type": error.canonical_type,
                "link_external_id": error.external_id,
            }
        if isinstance(error, MissingReference):
            return {
                "link_model": self.env["integration.canonical.type"]._link_models().get(error.canonical_type),
                "link_canonical_type": error.canonical_type,
                "link_external_id": error.external_id,
            }
        return {}

    @api.model
    def _open(self, event, category, message, severity="low", records=None, key=None, hint=None):
        """Open an exception that does not fail the event (e.g. ownership, a failed payment).

        :param key: identifies the problem (e.g. a payment attempt, a dispute);
            while an exception with the same key and backend is open, it is
            updated and returned instead of a new one (redeliveries, replays)
        :param hint: what to do, when the category's default advice is not enough
        """
        self = self._words_env(event.backend_id).sudo()
        if key:
            existing = self.search(
                [
                    ("backend_id", "=", event.backend_id.id),
                    ("dedup_key", "=", key),
                    ("state", "in", OPEN_EXCEPTION_STATES),
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
            self._claim_key(event.backend_id, key)
        description, hint_default = self._category_words(category)
        subject = self._subject_vals(event, records=records)
        vals = dict(
            subject,
            name=self._title(category, self._subject_text(subject)),
            category=category,
            severity=severity,
            backend_id=event.backend_id.id,
            event_id=event.id,
            event_ids=[Command.link(event.id)],
            description=f"{description}\n{message}",
            hint=hint or hint_default,
            details=message,
            dedup_key=key or False,
            blocking=False,
        )
        if records:
            vals.update(res_model=records._name, res_id=records[:1].id)
        return self.create(vals)

    @api.model
    def _close_for_events(self, events):
        """Events succeeded: the exceptions they failed with resolve themselves
        once every event they list is settled."""
        open_exceptions = self.sudo().search(
            [
                "|",
                ("event_id", "in", events.ids),
                ("event_ids", "in", events.ids),
                ("state", "in", OPEN_EXCEPTION_STATES),
                ("category", "!=", "ownership_conflict"),
                ("blocking", "=", True),
            ]
        )
        for exc in open_exceptions:
            if all(event.state in FINAL_STATES for event in exc.event_ids | exc.event_id):
                exc.write({"state": "resolved", "resolved_date": fields.Datetime.now(), "resolved_uid": self.env.uid})
                exc.message_post(body=self.env._("Resolved: the event was processed successfully."))
