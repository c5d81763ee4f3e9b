"""The outbox: Odoo changes become outbound events, sent by jobs through the connector."""

import json
import uuid

from odoo import api, fields, models

from .integration_event_runner import json_default


class IntegrationEventOutbound(models.AbstractModel):
    """Mixed into ``integration.event``: its methods run on events."""

    _name = "integration.event.outbound"
    _description = "Integration Event Outbound (outbox, sending)"

    @api.model
    def _emit_outbound(self, canonical_type, records, action="changed"):
        """Create one outbound event per subscribed backend for ``records``.

        Called from Odoo-side triggers inside the transaction that changed
        the records (a person's change, or one applied from another system),
        so the change and its outbound event commit together: this is the
        outbox. The current state of the record is read when the event is
        sent, so several writes in one transaction make one event (the first
        action named wins). Each backend's connector schedules the sending
        (``_outbound_enqueue``).

        :param action: what happened (``created``, ``updated``, ``posted``,
            ``paid``...): the event type is ``<canonical_type>.<action>``
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
                connector = backend._connector()
                if not connector._outbound_accepts(backend, canonical_type, record):
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
                        "event_type": f"{canonical_type}.{action}",
                        "canonical_type": canonical_type,
                        "external_id": uuid.uuid4().hex,
                        "occurred_at": fields.Datetime.now(),
                        "state": "queued",
                        "res_model": record._name,
                        "res_id": record.id,
                        "correlation_id": self.env.context.get("integration_correlation_id") or uuid.uuid4().hex,
                    }
                )
                connector._outbound_enqueue(backend, event)
                events |= event
        return events

    def _send_outbound(self):
        """Job: build the canonical message from the record and send it."""
        return self._run_job("_send_outbound", "_send_attempt")

    def _send_attempt(self):
        backend = self.backend_id.sudo()
        record = self.env[self.res_model].browse(self.res_id).exists()
        if not record:
            self._set_ignored(note="The record was deleted before it could be sent.")
            return "record deleted"
        message = self.env["integration.exporter"]._export(self.canonical_type, record, self)
        self.env["integration.canonical.type"]._validate(message)
        self.sudo().payload = json.dumps(message, sort_keys=True, default=json_default)
        connector = backend._connector()
        with backend._circuit():
            response = connector._outbound_deliver(backend, self, message)
        if response is None:
            # the connector decided there was nothing to send (and noted why)
            self._set_done()
            return "nothing sent"
        self.response_status = getattr(response, "status_code", None) or 200
        connector._outbound_response(backend, self, message, response)
        self._set_done()
        return f"sent: HTTP {self.response_status}"
