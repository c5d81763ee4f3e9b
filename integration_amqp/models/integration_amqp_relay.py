"""The outbox relay: outbound events of a backend to its exchange, in order.

The outbox is the engine's own: an Odoo change (made by a person, or
applied from any other system) creates its outbound event *in the
transaction that made the change* (``integration.event._emit_outbound``).
A rolled-back transaction leaves no event and no job, so nothing is
published for it. For an AMQP backend the connector does not enqueue one
job per event but one *relay* job per transaction (:meth:`_schedule`), and
a relay publishes every committed event of the backend in id order:

* one relay at a time per backend (a transaction-level advisory lock; a
  second one is postponed without counting a retry), so events of one
  entity are published in the order their transactions committed (a change
  of a record waits for the row lock of the previous one, so its event
  gets the higher id);
* each message is published persistent and waits for its publisher
  confirm; confirmed events are *done*;
* a broker failure (refused, lost, no confirm in time, nack) stops the
  relay at that event: it and every later event stay *queued*, the relay
  comes back after a backoff (doubling, capped at 5 minutes, with jitter),
  forever, and the backend's circuit shows the outage. Nothing is skipped,
  so nothing is reordered. A message whose confirm never came may have
  reached the broker: it is published again with the same ``message_id``
  (consumers deduplicate on it);
* a message that cannot be made (the record's canonical message fails
  its schema) fails that event with an exception for a person, and the
  others go on: their messages carry the full current state anyway.

The body is the record's canonical message when it is published (the
engine's rule: several writes in one transaction make one event); the
routing key ``<type>.<action>`` says what happened.
"""

import json
import traceback

from odoo import api, fields, models

from odoo.addons.integration_base.backoff import backoff_seconds
from odoo.addons.integration_base.exceptions import IntegrationError, PermanentError
from odoo.addons.queue_job.exception import RetryableJobError

from ..const import RELAY_BACKOFF_CAP

#: first key of the relay's advisory lock (the second is the backend id)
LOCK_NAMESPACE = 0x616D7170  # "amqp"
#: events published by one relay job; the next job takes the rest
BATCH = 200


class IntegrationAmqpRelay(models.AbstractModel):
    _name = "integration.amqp.relay"
    _description = "Integration AMQP relay (outbox to exchange, in order)"

    @api.model
    def _schedule(self, backend):
        """A relay job of ``backend`` in the caller's transaction (once per transaction).

        Each transaction that writes events gets a relay of its own, committed
        with them: that job cannot start before the events are visible.
        Deduplicating against a relay already pending or running would be a
        race (it may have taken its snapshot before this transaction
        commits, and leave its events behind). Extra relays are cheap: one
        finds nothing, or waits a second for the running one.
        """
        scheduled = self.env.cr.precommit.data.setdefault("integration_amqp.relays", set())
        if backend.id in scheduled:
            return None
        scheduled.add(backend.id)
        return self._delay(backend)

    def _delay(self, backend, eta=None, identity_key=None):
        return (
            self.sudo()
            .with_delay(
                channel=backend.job_channel,
                eta=eta,
                identity_key=identity_key,
                description=f"Publish the outbox of {backend.name}",
            )
            ._run(backend)
        )

    def _schedule_retry(self, backend, eta):
        """The relay that comes back after a broker failure (one per backend)."""
        return self._delay(backend, eta=eta, identity_key=f"integration_amqp_relay_retry_{backend.id}")

    def _pending(self, backend, limit):
        return (
            self.env["integration.event"]
            .sudo()
            .with_context(tracking_disable=True)
            .search(
                [("backend_id", "=", backend.id), ("direction", "=", "out"), ("state", "=", "queued")],
                order="id",
                limit=limit,
            )
        )

    @api.model
    def _run(self, backend):
        """Job: publish the backend's queued outbound events, oldest first."""
        backend = backend.sudo()
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, backend.id))
        if not self.env.cr.fetchone()[0]:
            # come back in a second: the running relay may have started
            # before our events committed (its snapshot does not see them)
            raise RetryableJobError("another relay of this backend is publishing", seconds=1, ignore_retry=True)
        pending = self._pending(backend, BATCH + 1)
        if not pending:
            return "nothing to publish"
        head = pending[0]
        if head.next_retry_at and head.next_retry_at > fields.Datetime.now():
            # the broker failed: the retry relay comes then (made with the
            # backoff; made again here if it ran early or went missing)
            self._schedule_retry(backend, head.next_retry_at)
            return f"waiting for the broker until {head.next_retry_at}"
        connector = backend._connector()
        published = 0
        for index, event in enumerate(pending[:BATCH]):
            try:
                published += self._publish_one(backend, connector, event)
            except IntegrationError as error:
                return self._backoff(backend, pending[index:], error)
        if len(pending) > BATCH:
            self._delay(backend)
        return f"published {published} event(s)"

    def _publish_one(self, backend, connector, event):
        """Publish ``event``; 1 when published, 0 when it was settled otherwise.

        :raise IntegrationError: the broker failed (the relay stops here)
        """
        event._set_processing()
        record = self.env[event.res_model].browse(event.res_id).exists() if event.res_model else None
        if not record:
            event._set_ignored(note="The record was deleted before its event could be published.")
            return 0
        try:  # reads only: nothing to roll back when it fails
            message = self.env["integration.exporter"]._export(event.canonical_type, record, event)
            self.env["integration.canonical.type"]._validate(message)
        except IntegrationError as exc:
            error = exc if isinstance(exc, PermanentError) else PermanentError(exc.message)
            event._attempt_failed(error, traceback.format_exc(), retry=None)
            return 0
        event.payload = json.dumps(message, sort_keys=True)
        with backend._circuit():
            connector._outbound_deliver(backend, event, message)
        event._set_done()
        return 1

    def _backoff(self, backend, events, error):
        """The broker failed at ``events[0]``: keep it and the rest queued, come back later."""
        head = events[0]
        delay = min(RELAY_BACKOFF_CAP, backoff_seconds(head.attempts, base=max(1, backend.retry_base_seconds)))
        eta = fields.Datetime.add(fields.Datetime.now(), seconds=delay)
        head._set_retry(error, traceback.format_exc(), eta)
        (events - head).write({"next_retry_at": eta})  # they wait behind it (their state stays queued)
        backend._circuit_record_failure(error)
        self._schedule_retry(backend, eta)
        return f"broker failure, {len(events)} event(s) kept, retry at {eta}: {error.message}"

    @api.model
    def _cron_schedule_relays(self):
        """Safety net: a relay for every AMQP backend with due queued outbound events.

        Covers a relay job someone cancelled, or that failed outside the
        engine's handling; when nothing is stuck, the relay finds nothing.
        """
        self.env.cr.execute(
            """SELECT DISTINCT e.backend_id FROM integration_event e
                 JOIN integration_backend b ON b.id = e.backend_id
                WHERE b.connector_type = 'amqp' AND e.direction = 'out' AND e.state = 'queued'
                  AND (e.next_retry_at IS NULL OR e.next_retry_at <= now() at time zone 'UTC')"""
        )
        backends = self.env["integration.backend"].sudo().browse([row[0] for row in self.env.cr.fetchall()])
        for backend in backends:
            self._delay(backend)
        return len(backends)
