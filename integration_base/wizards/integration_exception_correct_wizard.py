"""Correct and retry: the guided form a finance user fixes refused values with.

One line per refused value (what it is, what is wrong, the value received,
the new value). Confirming checks the corrected message against its schema
at once (nothing is kept while a value is still wrong), keeps the
corrections on the event (the raw payload is untouched and stays readable
by integration managers only), writes what changed in the chatter of the
exception and of the event, and processes the event again at once: the
person sees the record appear, or the exception's next problem.
"""

import copy
import json

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError

from .. import corrections
from ..exceptions import SchemaViolation
from ..words import field_label, problem_text


class IntegrationExceptionCorrectWizard(models.TransientModel):
    _name = "integration.exception.correct.wizard"
    _description = "Correct and Retry"

    exception_id = fields.Many2one("integration.exception", required=True, readonly=True, ondelete="cascade")
    subject = fields.Char(related="exception_id.subject")
    customer_name = fields.Char(related="exception_id.customer_name")
    line_ids = fields.One2many("integration.exception.correct.line", "wizard_id", string="Values")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        exception = self.env["integration.exception"].browse(
            values.get("exception_id") or self.env.context.get("active_id")
        )
        exception.check_access("write")
        if "line_ids" in fields_list and exception:
            values["line_ids"] = [Command.create(vals) for vals in self._line_values(exception)]
        return values

    @api.model
    def _line_values(self, exception):
        lines, seen = [], set()
        for problem in exception._correctable_problems():
            pointers = [(problem["pointer"], problem.get("value"), problem.get("types"))]
            if problem.get("other_pointer"):  # two dates in the wrong order: either may be wrong
                pointers.append((problem["other_pointer"], problem.get("other_value"), "string"))
            for pointer, value, types in pointers:
                if pointer in seen:
                    continue
                seen.add(pointer)
                lines.append(
                    {
                        "pointer": pointer,
                        "label": field_label(pointer),
                        "problem": problem_text(self.env, problem),
                        "current_value": value if value is not None else "",
                        "new_value": value if value is not None else "",
                        "types": json.dumps(types),
                    }
                )
        return lines

    def action_confirm(self):
        self.ensure_one()
        exception = self.exception_id
        exception.check_access("write")
        exception._check_open()
        event = exception.event_id.sudo()
        target = exception._correction_target()
        changes = self._changes(target)
        if not changes:
            raise UserError(self.env._("Change at least one value, or close this form."))
        self._check_corrected(event, target, changes)
        stored = json.loads(event.corrections or "[]") + changes
        event.write({"corrections": json.dumps(stored)})
        audit = self.env._(
            "%(user)s corrected %(subject)s before retrying: %(changes)s",
            user=self.env.user.name,
            subject=exception.subject or event.display_name,
            changes="; ".join(f"{field_label(c['pointer'])}: {c['before']} → {c['after']}" for c in changes),
        )
        exception.message_post(body=audit)
        event.message_post(body=audit)
        return exception._retry_now()

    def _changes(self, target):
        """The lines whose value changed, as corrections of the target message.

        Only the refused values may be corrected: a line for another field
        (made through RPC, not this form) is refused.
        """
        changes = []
        refused = {line["pointer"] for line in self._line_values(self.exception_id)}
        for line in self.line_ids:
            if line.pointer not in refused:
                raise AccessError(self.env._("Only the refused values may be corrected here, not %s.", line.pointer))
            if (line.new_value or "").strip() == (line.current_value or "").strip():
                continue
            try:
                value = corrections.convert(line.new_value, json.loads(line.types or "null"))
            except ValueError as exc:
                raise UserError(self.env._("%(field)s: %(error)s", field=line.label, error=exc)) from exc
            changes.append(
                {
                    "type": target[0],
                    "external_id": target[1],
                    "pointer": line.pointer,
                    "value": value,
                    "before": line.current_value or "—",
                    "after": line.new_value or "—",
                    "user": self.env.user.name,
                    "date": fields.Datetime.to_string(fields.Datetime.now()),
                }
            )
        return changes

    def _check_corrected(self, event, target, changes):
        """The corrected message must be valid before anything is kept."""
        messages = json.loads(event.canonical or "[]")
        message = next((m for m in messages if (m.get("type"), m.get("external_id")) == target), None)
        if message is None:
            raise UserError(self.env._("The refused message is no longer known: retry the event instead."))
        message = copy.deepcopy(message)
        corrections.apply([message], changes)
        try:
            self.env["integration.canonical.type"]._validate(message)
        except SchemaViolation as exc:
            raise UserError(
                self.env._("Some values are still refused:")
                + "\n"
                + "\n".join(f"• {problem_text(self.env, problem)}" for problem in exc.problems or [])
                or exc.message
            ) from exc


class IntegrationExceptionCorrectLine(models.TransientModel):
    _name = "integration.exception.correct.line"
    _description = "Correct and Retry: one value"

    wizard_id = fields.Many2one("integration.exception.correct.wizard", required=True, ondelete="cascade")
    pointer = fields.Char(required=True)
    label = fields.Char(string="Field")
    problem = fields.Char(string="What is wrong")
    current_value = fields.Char(string="Received")
    new_value = fields.Char(string="Correct value")
    types = fields.Char()
