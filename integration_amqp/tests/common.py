"""Helpers of the AMQP tests: a real RabbitMQ (127.0.0.1:5672), names of our own.

The broker is shared with other people's test runs: every exchange and queue
a test declares has a name unique to the run (``itest.<random>.*``) and is
deleted afterwards; nothing else on the broker is touched. Faults are played
by :class:`~.tcp_proxy.TcpProxy` on our own connections only.
"""

import json
import os
import time
import uuid
from datetime import UTC, datetime

import amqp

from odoo.addons.integration_base.tests.common import IntegrationCaseMixin

from .. import amqp_client
from ..consumer import QueueConsumer, Topology
from ..models.integration_connector_amqp import sign
from .tcp_proxy import TcpProxy

BROKER_HOST = os.environ.get("INTEGRATION_AMQP_TEST_HOST", "127.0.0.1")
BROKER_PORT = int(os.environ.get("INTEGRATION_AMQP_TEST_PORT", "5672"))
SECRET = "whsec_" + "dGVzdC1hbXFwLXNlY3JldC10ZXN0LWFtcXAtc2VjcmV0"


class AmqpCaseMixin(IntegrationCaseMixin):
    """A unique namespace on the broker, a proxy, a test-side connection."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.prefix = f"itest.{uuid.uuid4().hex[:10]}"
        cls.exchange = f"{cls.prefix}.events"
        cls.declared_queues, cls.declared_exchanges = set(), {cls.exchange}
        cls.proxy = TcpProxy(BROKER_HOST, BROKER_PORT).start()
        cls.addClassCleanup(cls._cleanup_broker)
        cls.connection = amqp.Connection(host=f"{BROKER_HOST}:{BROKER_PORT}", connect_timeout=5)
        cls.connection.connect()
        cls.channel = cls.connection.channel()

    @classmethod
    def _cleanup_broker(cls):
        amqp_client.close_publishers()
        cls.proxy.close()
        connection = amqp.Connection(host=f"{BROKER_HOST}:{BROKER_PORT}", connect_timeout=5)
        connection.connect()
        channel = connection.channel()
        for queue in cls.declared_queues:
            channel.queue_delete(queue)
        for exchange in cls.declared_exchanges:
            channel.exchange_delete(exchange)
        connection.close()
        try:
            cls.connection.close()
        except Exception:
            cls.connection.collect()

    # ------------------------------------------------------------------
    # Backends
    # ------------------------------------------------------------------
    @classmethod
    def _create_amqp_backend(cls, through_proxy=True, **vals):
        netloc = cls.proxy.url_netloc if through_proxy else f"{BROKER_HOST}:{BROKER_PORT}"
        values = {
            "name": "Event bus",
            "amqp_url": f"amqp://{netloc}/",
            "amqp_username": "guest",
            "amqp_password": "guest",
            "amqp_exchange": cls.exchange,
            "amqp_queue": f"{cls.prefix}.inbox",
            "webhook_secret": SECRET,
            "timeout": 2.0,
            "retry_base_seconds": 1,
        }
        values.update(vals)
        backend = cls._create_backend("amqp", **values)
        queue = backend.amqp_queue
        cls.declared_queues.update({queue, f"{queue}.dead"})
        cls.declared_exchanges.add(f"{queue}.dlx")
        if backend.amqp_bind_exchange:
            cls.declared_exchanges.add(backend.amqp_bind_exchange)
        return backend

    # ------------------------------------------------------------------
    # The test side of the broker
    # ------------------------------------------------------------------
    def _bind_test_queue(self, binding_key="#", exchange=None):
        """A queue of ours bound to the exchange (as a downstream consumer's would be)."""
        queue = f"{self.prefix}.sink.{uuid.uuid4().hex[:6]}"
        exchange = exchange or self.exchange
        self.channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
        self.channel.queue_declare(queue, durable=False, auto_delete=False)
        self.channel.queue_bind(queue, exchange, routing_key=binding_key)
        self.declared_queues.add(queue)
        return queue

    def _drain(self, queue, settle_seconds=0.3):
        """Every message now on ``queue`` (acknowledged), waiting ``settle_seconds`` for stragglers."""
        messages, quiet_since = [], time.monotonic()
        while time.monotonic() - quiet_since < settle_seconds:
            message = self.channel.basic_get(queue, no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            messages.append(message)
            quiet_since = time.monotonic()
        return messages

    def _produce(self, queue, body, message_id=None, secret=SECRET, headers=None, **properties):
        """Publish to ``queue`` (default exchange) as a producer would; signed when ``secret``."""
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = dict(headers or {})
        if secret and message_id:
            timestamp = str(int(time.time()))
            headers.update(
                {
                    "webhook-id": message_id,
                    "webhook-timestamp": timestamp,
                    "webhook-signature": sign(secret, message_id, timestamp, body),
                }
            )
        if message_id:
            properties["message_id"] = message_id
        message = amqp.Message(
            body, content_type="application/json", delivery_mode=2, application_headers=headers, **properties
        )
        self.channel.basic_publish(message, exchange="", routing_key=queue)

    def _consumer(self, backend, prefetch=None):
        consumer = QueueConsumer(
            backend._amqp_settings(), backend._amqp_topology(), prefetch=prefetch or backend.amqp_prefetch
        )
        self.addCleanup(consumer.close)
        return consumer

    def _consume(self, backend, consumer, expect, wait=5.0):
        """Fetch until ``expect`` deliveries, store them in the inbox, settle; return (acks, rejects)."""
        acks, rejects, deadline = [], [], time.monotonic() + wait
        while len(acks) + len(rejects) < expect and time.monotonic() < deadline:
            batch = consumer.fetch(backend.amqp_batch_size, 0.5)
            if batch:
                batch_acks, batch_rejects = self.env["integration.amqp.inbox"]._receive(backend, batch)
                consumer.settle(acks=batch_acks, rejects=batch_rejects)
                acks += batch_acks
                rejects += batch_rejects
        return acks, rejects

    def _canonical(self, external_id, data, type_="customer", **envelope):
        return self._message(
            type_, external_id, data, occurred_at=datetime.now(UTC).replace(microsecond=0), source="billing", **envelope
        )

    @staticmethod
    def _topology(queue):
        return Topology.for_queue(queue)
