"""Appliers: canonical messages -> Odoo records, exactly once.

This is the core every canonical type shares. A canonical type is one unit,
defined by whichever addon brings it (see ``readme/DEVELOP.md``):

* ``schemas/v1/<code>.json`` -- its JSON Schema;
* ``integration.canonical.<code>`` -- an abstract model inheriting this
  core and ``integration.exporter``, overriding :meth:`_apply_record`
  (inbound) and ``_export_data`` (outbound);
* its ``integration.canonical.type`` record (code, name, the Odoo model a
  person links when a reference is missing).

For every message the core serializes on the external object (a claim,
``integration.claim``, taken with the claims of the objects it refers to
before anything is read), finds its record through the binding, skips a
message older than what was applied -- or of the same second when it would
take the object out of a final state (:meth:`_decide_tie`) -- and hands over
to the type's :meth:`_apply_record`, which obeys ownership rules on updates
(:meth:`_owned_filter`), writes, and binds (:meth:`_finish`). Connectors
never write Odoo records themselves: they produce canonical messages, and
their policies (taxes, default products, dunning, refunds of Odoo credit
notes, payout accounts) are hooks of ``integration.connector`` that the
types ask. How a person names the object of a message (exceptions) is
``integration.canonical.naming``.
"""

from odoo import api, models

from ..exceptions import BusinessError, MissingReference, PermanentError


class IntegrationApplier(models.AbstractModel):
    _name = "integration.applier"
    _inherit = ["integration.canonical.naming"]
    _description = "Integration Applier (canonical messages to Odoo records)"

    #: a type whose records can be archived sets it: a delete message archives
    #: the bound record (its binding stays, a tombstone) instead of reaching
    #: :meth:`_apply_record`
    _archive_on_delete = False

    @api.model
    def _apply(self, message, event):
        """Apply one validated canonical message on behalf of ``event``."""
        unit = self.env["integration.canonical.type"]._unit(message["type"])
        unit = unit.with_context(
            tracking_disable=False,  # the event's own routine writes are untracked, Odoo records are not
            integration_origin_backend_id=event.backend_id.id,
            integration_correlation_id=event.correlation_id,
        ).sudo()
        return unit._apply_message(message, event)

    def _apply_message(self, message, event):
        """Lock the external object, find its record, skip a stale message, apply the rest."""
        binding = self._lock_binding(message, event)
        if message.get("action") == "merge":
            binding = self._merge_bindings(message, event, binding)
        if self._skip_stale(message, event, binding):
            return None
        record = binding._record() if binding else None
        if self._archive_on_delete and message.get("action") == "delete":
            return self._archive_deleted(message, event, record)
        if record and binding.deleted and message.get("action", "upsert") in ("upsert", "merge"):
            self._restore_deleted(message, event, record)  # the source has it again
        return self._apply_record(message, event, record)

    @api.model
    def _claim_messages(self, messages, event):
        """Claim every object the messages of ``event`` touch, all at once (sorted: no deadlock)."""
        Claim, Types = self.env["integration.claim"], self.env["integration.canonical.type"]
        keys = [
            Claim._key(event.backend_id, canonical_type, external_id)
            for message in messages
            for canonical_type, external_id in Types._unit(message["type"])._touched_objects(message)
        ]
        Claim._claim(*keys)

    def _touched_objects(self, message):
        """``(type, external id)`` of the objects applying ``message`` may write.

        Its own, and those it refers to: the ``<type>_ref`` keys of its data
        and metadata (the convention of canonical messages). A type whose
        applier writes other objects adds them.
        """
        objects = [(message["type"], message["external_id"])]
        objects += [(message["type"], ref) for ref in message.get("merged_refs") or () if isinstance(ref, str)]
        data = message.get("data") or {}
        for source in (data, data.get("metadata") or {}):
            for key, value in source.items():
                if key.endswith("_ref") and isinstance(value, str) and value:
                    objects.append((key[:-4], value))
        return objects

    def _apply_record(self, message, event, record):
        """Hook of each canonical type: write ``message`` to Odoo.

        Called under the object's lock, never for a stale message.

        :param record: the record bound to the external object, or None when
            Odoo does not know it yet
        :return: the record written (bound with :meth:`_finish`), or None when
            nothing was applied (say why with ``event._add_note``)
        """
        raise PermanentError(f"no applier for canonical type {message['type']}")

    @api.model
    def _run_followup(self, event, method, *args):
        """Job: a chained step (``_followup_<method>``) with the event's error handling."""
        self, event = self.sudo(), event.sudo().with_context(tracking_disable=True)

        def retry(eta):
            job = self.with_delay(channel=event.backend_id.job_channel, eta=eta)._run_followup(event, method, *args)
            event._link_job(job)

        return event._run_attempt(lambda: getattr(self.sudo(), f"_followup_{method}")(event, *args), retry)

    # ------------------------------------------------------------------
    # Shared steps
    # ------------------------------------------------------------------
    def _lock_binding(self, message, event):
        """Serialize on the external object; return its binding (possibly empty)."""
        Binding = self.env["integration.binding"]
        Binding._lock(event.backend_id, message["type"], message["external_id"])
        return Binding._find(event.backend_id, message["type"], message["external_id"])

    def _skip_stale(self, message, event, binding):
        """True (and noted on the event) when ``message`` is older than the applied state."""
        if not binding:
            return False
        if binding._is_stale(message):
            reason = f"stale message ({message.get('occurred_at')}) older than the applied state ({binding.source_ts})"
        elif binding._is_tie(message):
            reason = self._decide_tie(message, event, binding)
            if not reason:
                return False
        else:
            return False
        event._add_note(f"{message['type']} {message['external_id']}: {reason}; not applied.")
        record = binding._record()
        if record:
            event._touch(record, "skipped")
        return True

    def _decide_tie(self, message, event, binding):
        """A message of the same time as the applied state: which one is newer?

        Timestamps cannot tell (sources stamp events to the second), so the
        object decides: when the message would take the object out of a
        final state (a canceled subscription, a void invoice, a deleted
        customer), the connector reads the object's current state when its
        API allows (``_current_message``) and that state is applied;
        otherwise the final state stays -- it is never left by an event of
        the same or an older time.

        :return: why the message is not applied, or None to apply it
            (possibly with its data replaced by the current state)
        """
        record = binding._record()
        if not record or not self._in_final_state(record, binding) or self._is_final_message(message):
            return None
        backend = event.backend_id
        current = backend._connector()._current_message(event, message)
        if current is not None:
            message.update(data=current["data"], action=current.get("action") or "upsert")
            event._add_note(
                f"{message['type']} {message['external_id']}: same time as the applied state; "
                f"the current state read from {backend.name} is applied."
            )
            return None
        return (
            f"same time ({message.get('occurred_at')}) as the applied final state; "
            "a final state is only left by a newer event"
        )

    def _in_final_state(self, record, binding):
        """Hook of each canonical type: ``record`` is in a state its source never leaves
        (canceled, void...). Default: the source deleted the object."""
        return bool(binding.deleted)

    def _is_final_message(self, message):
        """Hook of each canonical type: ``message`` puts its object in a final state. Default: a delete."""
        return message.get("action") == "delete"

    def _owned_filter(self, message, event, record):
        """Drop the fields the sending backend does not own (updates only)."""
        allowed, refused, raising = self.env["integration.ownership.rule"]._filter_update(
            message["type"], event.backend_id, message["data"]
        )
        if refused:
            text = (
                f"{message['type']} {message['external_id']}: fields {', '.join(sorted(refused))} "
                f"are owned by another system; not applied."
            )
            event._add_note(text)
            if raising:
                self.env["integration.exception"]._open(event, "ownership_conflict", text, records=record)
        return allowed

    def _write_changed(self, record, vals):
        """Write only the values that differ (no tracking, no outbound echo for nothing)."""
        changed = {
            key: value
            for key, value in vals.items()
            if record._fields[key].convert_to_write(record[key], record) != value
        }
        if changed:
            record.write(changed)

    def _finish(self, message, event, record, action):
        """Bind the external object to ``record`` and note what was done to it."""
        self.env["integration.binding"]._bind(
            event.backend_id, message["type"], message["external_id"], record, message, event
        )
        event._touch(record, action)
        return record

    def _skip_known(self, message, event, record, what="already booked"):
        """A message about what Odoo booked already (redelivery, replay): noted, bound, nothing booked twice."""
        event._add_note(f"{message['type']} {message['external_id']} {what}: {record.display_name}.")
        return self._finish(message, event, record, "skipped")

    def _archive_deleted(self, message, event, record):
        """A delete message archives the bound record (and keeps its binding as a tombstone).

        Nothing is ever deleted in Odoo (a customer's invoices stay); a
        binding that is already a tombstone (deleted, or merged into another
        object) changes nothing.
        """
        binding = self.env["integration.binding"]._find(event.backend_id, message["type"], message["external_id"])
        if not record or binding.deleted:
            event._add_note(
                f"{message['type']} {message['external_id']} deleted "
                f"{'again, or after a merge' if record else 'before Odoo knew it'}: nothing to archive."
            )
            return None
        if "active" in record._fields:
            record.active = False
        self._post(
            record,
            self.env._(
                "Archived: %(backend)s deleted %(ref)s (event %(event)s).",
                backend=event.backend_id.name,
                ref=message["external_id"],
                event=event.display_name,
            ),
        )
        return self._finish(message, event, record, "deleted")

    def _restore_deleted(self, message, event, record):
        """An object the source deleted is back (restored there): so is its archived record."""
        if "active" not in record._fields or record.active:
            return
        record.active = True
        self._post(
            record,
            self.env._(
                "Restored: %(backend)s has %(ref)s again.", backend=event.backend_id.name, ref=message["external_id"]
            ),
        )
        event._add_note(f"{message['type']} {message['external_id']} restored at the source.")

    def _merge_bindings(self, message, event, binding):
        """Move the bindings of ``merged_refs`` onto the survivor's record (``action: merge``).

        The merged ids stay bound to the survivor as tombstones (a late event
        about them changes nothing); when Odoo did not know the survivor yet,
        the record of the first merged object becomes its record. Another
        record a merged object was bound to is the type's to settle
        (:meth:`_merge_loser`).

        :return: the survivor's binding (possibly empty)
        """
        Binding = self.env["integration.binding"]
        backend, kind = event.backend_id, message["type"]
        survivor = binding._record() if binding else None
        for ref in message.get("merged_refs") or ():
            if ref == message["external_id"]:
                continue
            Binding._lock(backend, kind, ref)
            merged = Binding._find(backend, kind, ref)
            record = merged._record() if merged else None
            if not record:
                continue
            if not survivor:
                survivor = record
                binding = Binding._bind(backend, kind, message["external_id"], record)
            elif record != survivor:
                self._merge_loser(message, event, record, survivor)
                event._touch(record, "merged")
            merged.write({"res_model": survivor._name, "res_id": survivor.id, "deleted": True})
            self._post(
                survivor,
                self.env._(
                    "%(backend)s merged %(merged)s into %(survivor)s: its link now points here.",
                    backend=backend.name,
                    merged=ref,
                    survivor=message["external_id"],
                ),
            )
        return binding

    def _merge_loser(self, message, event, loser, survivor):
        """Settle a record whose external object was merged into ``survivor``'s: archived by default."""
        if "active" in loser._fields:
            loser.active = False
        self._post(
            loser,
            self.env._(
                "Archived: %(backend)s merged it into %(survivor)s.",
                backend=event.backend_id.name,
                survivor=survivor.display_name,
            ),
        )
        return loser

    def _post(self, record, body):
        """Audit ``body`` in ``record``'s chatter, when it has one."""
        if hasattr(record, "message_post"):
            record.message_post(body=body)

    def _bound_record(self, backend, canonical_type, external_id, missing):
        """The record bound to a referenced object.

        :param missing: the error's text when Odoo does not know the object
        :raise MissingReference: (retried, then a "link a record" exception)
        """
        record = self.env["integration.binding"]._find_record(backend, canonical_type, external_id)
        if not record:
            raise MissingReference(missing, canonical_type=canonical_type, external_id=external_id)
        return record

    def _partner_of(self, backend, customer_ref):
        return self._bound_record(
            backend, "customer", customer_ref, self.env._("customer %s is not known in Odoo yet", customer_ref)
        )

    def _currency(self, code):
        currency = (
            self.env["res.currency"].with_context(active_test=False).search([("name", "=", code.upper())], limit=1)
        )
        if not currency or not currency.active:
            raise BusinessError(
                self.env._("currency %s is not active in Odoo", code)
                if currency
                else self.env._("currency %s is unknown in Odoo", code),
                category="currency",
                records=currency or None,
            )
        return currency

    def _payment_journal(self, backend):
        journal = backend.payment_journal_id or self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", backend.company_id.id)], limit=1
        )
        if not journal:
            raise BusinessError(self.env._("no bank journal to register payments in"), category="mapping")
        return journal
