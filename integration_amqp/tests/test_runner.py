import time
import uuid
from unittest.mock import patch

import psycopg2

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..runner import ConsumerRunner
from .common import AmqpCaseMixin


@tagged("post_install", "-at_install")
class TestRunner(AmqpCaseMixin, HttpCase):
    """The runner as the server runs it: registry cursors, commit, then settle."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._create_amqp_backend(amqp_consume=True, amqp_batch_size=5, amqp_prefetch=10)
        cls.queue = cls.backend.amqp_queue

    def setUp(self):
        super().setUp()
        self.proxy.mode = "pass"
        self.runner = ConsumerRunner(databases=[self.env.cr.dbname])
        self.addCleanup(self.runner.close)
        self.backend._amqp_topology().declare(self.channel)
        for queue in (self.queue, f"{self.queue}.dead"):  # what an earlier test left
            self.channel.queue_purge(queue)

    def _inbound(self):
        self.env.invalidate_all()
        return self._events(self.backend, direction="in")

    def _pump_until(self, count, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self._inbound()) < count and time.monotonic() < deadline:
            self.runner.run_once(wait=0.5)
        return self._inbound()

    def _produce_customers(self, count):
        ids = []
        for _index in range(count):
            message_id = f"msg-{uuid.uuid4().hex}"
            ref = f"cus_{message_id[-10:]}"
            self._produce(self.queue, self._canonical(ref, {"name": f"Runner {ref}"}), message_id=message_id)
            ids.append(message_id)
        return ids

    def test_runner_consumes_in_batches_and_reconnects(self):
        ids = self._produce_customers(7)
        events = self._pump_until(7)
        self.assertEqual(sorted(events.mapped("external_id")), sorted(ids))
        self.assertEqual(set(events.mapped("state")), {"queued"}, "stored, jobs enqueued")
        self.assertEqual(self.backend.amqp_consumer_state, "connected")
        self.assertFalse(self._drain(self.queue, settle_seconds=0.2), "all acknowledged after the commit")
        # the broker restarts: the consumer shows it, reconnects, goes on
        self.proxy.mode = "refuse"
        self.proxy.drop()
        self.runner.run_once(wait=0.5)
        self.env.invalidate_all()
        self.assertEqual(self.backend.amqp_consumer_state, "reconnecting")
        self.assertIn("connection lost", self.backend.amqp_consumer_error)
        more = self._produce_customers(2)
        self.proxy.mode = "pass"
        for entry in self.runner.consumers.values():
            entry["consumer"].next_attempt = 0
        events = self._pump_until(9)
        self.assertEqual(len(events), 9)
        self.assertTrue(set(more) <= set(events.mapped("external_id")))
        self.assertEqual(self.backend.amqp_consumer_state, "connected")
        self.perform_jobs()
        self.assertEqual(set(self._inbound().mapped("state")), {"done"})

    @mute_logger("odoo.addons.integration_amqp.runner")
    def test_nothing_is_acknowledged_when_the_database_fails(self):
        ids = self._produce_customers(3)
        failure = psycopg2.OperationalError("server closed the connection unexpectedly")
        with patch.object(type(self.env["integration.amqp.inbox"]), "_receive", side_effect=failure):
            self.runner.run_once(wait=1.0)
            self.runner.run_once(wait=1.0)
        self.assertFalse(self._inbound())
        events = self._pump_until(3)
        self.assertEqual(sorted(events.mapped("external_id")), sorted(ids), "requeued, then stored")

    def test_archived_backend_stops_its_consumer(self):
        self.runner.run_once(wait=0.2)
        self.assertEqual(len(self.runner.consumers), 1)
        self.backend.active = False
        self.env.flush_all()
        self.runner.next_scan = 0
        self.runner.run_once(wait=0.2)
        self.assertFalse(self.runner.consumers)
        self.env.invalidate_all()
        self.assertEqual(self.backend.amqp_consumer_state, "off")
