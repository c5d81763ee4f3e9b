"""Reading one queue, reliably (no ORM here).

:class:`QueueConsumer` owns one connection to the broker and one channel
with manual acknowledgements and a prefetch window. The runner asks it for a
batch (:meth:`QueueConsumer.fetch`), stores the batch in Odoo and commits,
then settles it (:meth:`QueueConsumer.settle`): ack for every message whose
event row is committed, reject (to the dead-letter exchange) for the ones
that must never come back. Until that, the broker keeps every message: if the
connection, the process or the database fails in between, the broker
delivers them again (``redelivered``) and the inbox deduplicates them by
message id.

The consumer never raises from :meth:`fetch`: a broker that is away (a
restart, a blocked port) makes it reconnect with exponential backoff and
jitter, and report its state through ``on_state``. Delivery tags belong to a
channel: deliveries fetched before a reconnection are not settled on the new
one (the broker has already put them back in the queue).
"""

import logging
import random
import time
from dataclasses import dataclass, field

from amqp import exceptions as amqp_exc

from .amqp_client import CONNECTION_ERRORS, broker_error, close_quietly, connect
from .const import RECONNECT_BASE, RECONNECT_CAP

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topology:
    """The queue a backend consumes, its dead letters and its bindings."""

    queue: str
    dead_letter_exchange: str
    dead_letter_queue: str
    bind_exchange: str = ""
    binding_keys: tuple = ("#",)

    @classmethod
    def for_queue(cls, queue, bind_exchange="", binding_keys=("#",)):
        return cls(
            queue=queue,
            dead_letter_exchange=f"{queue}.dlx",
            dead_letter_queue=f"{queue}.dead",
            bind_exchange=bind_exchange or "",
            binding_keys=tuple(binding_keys or ("#",)),
        )

    def declare(self, channel):
        """Declare (idempotently) the dead-letter exchange and queue, the queue and its bindings.

        Every object is durable; the queue dead-letters what the consumer
        rejects to ``<queue>.dlx``, a fanout exchange whose queue
        ``<queue>.dead`` keeps it for inspection.
        """
        channel.exchange_declare(self.dead_letter_exchange, "fanout", durable=True, auto_delete=False)
        channel.queue_declare(self.dead_letter_queue, durable=True, auto_delete=False)
        channel.queue_bind(self.dead_letter_queue, self.dead_letter_exchange, routing_key="")
        channel.queue_declare(
            self.queue,
            durable=True,
            auto_delete=False,
            arguments={"x-dead-letter-exchange": self.dead_letter_exchange},
        )
        if self.bind_exchange:
            channel.exchange_declare(self.bind_exchange, "topic", durable=True, auto_delete=False)
            for key in self.binding_keys:
                channel.queue_bind(self.queue, self.bind_exchange, routing_key=key)


@dataclass
class Delivery:
    """One message as the broker delivered it."""

    tag: int
    body: bytes
    properties: dict
    redelivered: bool
    routing_key: str
    exchange: str
    #: connection generation: tags are valid only on the channel that gave them
    generation: int = 0
    headers: dict = field(default_factory=dict)

    @property
    def message_id(self):
        return self.properties.get("message_id")


class QueueConsumer:
    """One queue, manual acks, prefetch, reconnection with backoff.

    :param on_state: ``callable(state, error)`` called when the state changes
        (``connected`` / ``reconnecting``), for the backend's form
    """

    def __init__(self, settings, topology, prefetch=50, on_state=None, sleep=time.sleep):
        self.settings = settings
        self.topology = topology
        self.prefetch = max(1, int(prefetch))
        self.on_state = on_state
        self.sleep = sleep
        self.connection = None
        self.channel = None
        self.generation = 0
        self.state = "off"
        self.last_error = None
        self.failures = 0
        self.next_attempt = 0.0
        self._buffer = []

    # ------------------------------------------------------------------
    # Connection
    # ------------------------------------------------------------------
    def _set_state(self, state, error=None):
        changed = (state, error) != (self.state, self.last_error)
        self.state, self.last_error = state, error
        if changed and self.on_state:
            self.on_state(state, error)

    def _connect(self):
        connection = connect(self.settings, role=f"consumer {self.topology.queue}")
        try:
            channel = connection.channel()
            self.topology.declare(channel)
            channel.basic_qos(prefetch_size=0, prefetch_count=self.prefetch, a_global=False)
            channel.basic_consume(self.topology.queue, callback=self._on_message, no_ack=False)
        except Exception as exc:
            close_quietly(connection)
            raise broker_error(exc, self.settings, f"declaring queue {self.topology.queue}") from exc
        self.connection, self.channel = connection, channel
        self.generation += 1
        self.failures = 0
        self._buffer = []
        _logger.info("AMQP consumer: reading %s on %s", self.topology.queue, self.settings.address)
        self._set_state("connected")

    def _lost(self, exc, doing):
        """Drop the connection after ``exc``; the broker requeues what was not acked."""
        error = broker_error(exc, self.settings, doing) if isinstance(exc, Exception) else None
        self.close(state=None, graceful=False)
        self.failures += 1
        delay = min(RECONNECT_CAP, RECONNECT_BASE * 2 ** (self.failures - 1)) * random.uniform(0.5, 1.0)
        self.next_attempt = time.monotonic() + delay
        message = error.message if error else str(exc)
        _logger.info("AMQP consumer %s: %s; reconnecting in %.1f s", self.topology.queue, message, delay)
        self._set_state("reconnecting", message)

    def ensure_connected(self):
        """Connect when due; False while the broker is away (backoff running)."""
        if self.connection is not None:
            return True
        if time.monotonic() < self.next_attempt:
            return False
        try:
            self._connect()
        except Exception as exc:
            self._lost(exc, "connect")
            return False
        return True

    # ------------------------------------------------------------------
    # Messages
    # ------------------------------------------------------------------
    def _on_message(self, message):
        info = message.delivery_info or {}
        properties = dict(message.properties or {})
        body = message.body if isinstance(message.body, bytes) else str(message.body).encode("utf-8")
        self._buffer.append(
            Delivery(
                tag=info.get("delivery_tag"),
                body=body,
                properties=properties,
                redelivered=bool(info.get("redelivered")),
                routing_key=info.get("routing_key") or "",
                exchange=info.get("exchange") or "",
                generation=self.generation,
                headers=dict(properties.get("application_headers") or {}),
            )
        )

    def fetch(self, max_messages, wait):
        """Up to ``max_messages`` deliveries, waiting at most ``wait`` seconds for the first.

        Returns early once the buffer holds a full batch, or as soon as no
        more message arrives within a short while after the first one.
        Never raises: a lost connection returns what is not yet fetched to
        the broker and schedules a reconnection.
        """
        deadline = time.monotonic() + wait
        if not self.ensure_connected():
            self.sleep(max(0.0, min(wait, self.next_attempt - time.monotonic())))
            return []
        try:
            self.connection.heartbeat_tick()
            while len(self._buffer) < max_messages:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # once a message is in, wait only briefly for the rest of a batch
                timeout = min(remaining, 0.05) if self._buffer else min(remaining, 1.0)
                try:
                    self.connection.drain_events(timeout=timeout)
                except TimeoutError:
                    if self._buffer:
                        break
                    self.connection.heartbeat_tick()
        except (*CONNECTION_ERRORS, amqp_exc.AMQPError) as exc:
            self._lost(exc, f"reading {self.topology.queue}")
            return []
        batch, self._buffer = self._buffer[:max_messages], self._buffer[max_messages:]
        return batch

    def settle(self, acks=(), rejects=(), requeues=()):
        """Ack, reject (dead-letter) or requeue deliveries of the current channel.

        :return: False when the connection was lost meanwhile: the broker then
            delivers the unsettled messages again (the inbox deduplicates them)
        """
        if self.channel is None:
            return False
        try:
            for delivery in acks:
                if delivery.generation == self.generation:
                    self.channel.basic_ack(delivery.tag)
            for delivery in rejects:
                if delivery.generation == self.generation:
                    self.channel.basic_reject(delivery.tag, requeue=False)
            for delivery in requeues:
                if delivery.generation == self.generation:
                    self.channel.basic_reject(delivery.tag, requeue=True)
        except (*CONNECTION_ERRORS, amqp_exc.AMQPError) as exc:
            self._lost(exc, f"acknowledging on {self.topology.queue}")
            return False
        return True

    def close(self, state="off", graceful=True):
        """Close the connection (unacked deliveries go back to the queue).

        :param graceful: send the closing handshake (bounded by ``io_timeout``);
            False after a failure: just drop the socket
        """
        if self.connection is not None:
            connection, self.connection, self.channel = self.connection, None, None
            try:
                if not graceful:
                    raise ConnectionAbortedError
                with connection.transport.having_timeout(self.settings.io_timeout):
                    connection.close()
            except Exception:
                close_quietly(connection)
        self._buffer = []
        if state:
            self._set_state(state)
