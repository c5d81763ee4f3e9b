import json
import time
import uuid

from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .common import AmqpCaseMixin


@tagged("post_install", "-at_install")
class TestConsume(AmqpCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._create_amqp_backend(amqp_consume=True, amqp_batch_size=10, amqp_prefetch=20)
        cls.queue = cls.backend.amqp_queue

    def setUp(self):
        super().setUp()
        self.proxy.mode = "pass"
        self.consumer = self._consumer(self.backend)
        self.assertTrue(self.consumer.ensure_connected(), "the queue and its dead-letter exchange are declared")
        for queue in (self.queue, f"{self.queue}.dead"):  # what an earlier test left
            self.channel.queue_purge(queue)

    def _dead_letters(self):
        return self._drain(f"{self.queue}.dead")

    def test_message_becomes_an_applied_event(self):
        message_id = f"msg-{uuid.uuid4().hex}"
        body = self._canonical("cus_amqp_1", {"name": "From the bus", "email": "bus@example.com"})
        self._produce(self.queue, body, message_id=message_id, correlation_id="corr-amqp-1")
        acks, rejects = self._consume(self.backend, self.consumer, expect=1)
        self.assertEqual((len(acks), len(rejects)), (1, 0))
        event = self._events(self.backend, direction="in")
        self.assertRecordValues(
            event,
            [
                {
                    "external_id": message_id,
                    "event_type": "customer",
                    "state": "queued",
                    "source": "broker",
                    "correlation_id": "corr-amqp-1",
                }
            ],
        )
        self.assertEqual(json.loads(event.headers)["webhook-signature"], "***", "signatures are not stored")
        self.perform_jobs()
        self.assertEqual(event.state, "done")
        partner = self.env["integration.binding"]._find_record(self.backend, "customer", "cus_amqp_1")
        self.assertEqual(partner.email, "bus@example.com")
        self.assertEqual(event.record_ids.res_id, partner.id)
        self.assertFalse(self._drain(self.queue, settle_seconds=0.2), "acknowledged: gone from the queue")

    def test_consumed_change_is_not_echoed_to_the_exchange(self):
        self.backend.outbound_type_ids = [(6, 0, self.env.ref("integration_base.canonical_type_customer").ids)]
        body = self._canonical("cus_no_echo", {"name": "No echo"})
        self._produce(self.queue, body, message_id=f"msg-{uuid.uuid4().hex}")
        self._consume(self.backend, self.consumer, expect=1)
        self.perform_jobs()
        self.assertTrue(self.env["res.partner"].search([("name", "=", "No echo")]))
        self.assertFalse(self._events(self.backend, direction="out"), "a producer's change is not published back")

    def test_redelivered_message_is_a_duplicate(self):
        message_id = f"msg-{uuid.uuid4().hex}"
        body = self._canonical("cus_amqp_dup", {"name": "Once"})
        self._produce(self.queue, body, message_id=message_id)
        self._consume(self.backend, self.consumer, expect=1)
        # the producer's retry (its confirm was lost), and a redelivery after a lost ack
        self._produce(self.queue, body, message_id=message_id)
        self._produce(self.queue, body, message_id=message_id)
        acks, rejects = self._consume(self.backend, self.consumer, expect=2)
        self.assertEqual((len(acks), len(rejects)), (2, 0), "duplicates are acknowledged")
        self.assertEqual(len(self._events(self.backend, direction="in")), 1, "stored once")
        self.perform_jobs()
        self.assertEqual(self.env["res.partner"].search_count([("name", "=", "Once")]), 1)

    def test_unacknowledged_messages_come_back_after_a_broker_restart(self):
        message_id = f"msg-{uuid.uuid4().hex}"
        self._produce(self.queue, self._canonical("cus_amqp_rs", {"name": "Restart"}), message_id=message_id)
        batch = []
        deadline = time.monotonic() + 5
        while not batch and time.monotonic() < deadline:
            batch = self.consumer.fetch(10, 0.5)
        self.assertEqual(len(batch), 1)
        # stored and committed, then the broker restarts before the ack
        self.env["integration.amqp.inbox"]._receive(self.backend, batch)
        self.proxy.drop()
        time.sleep(0.1)
        self.consumer.settle(acks=batch)  # lost with the connection (or refused: it is gone)
        self.assertEqual(self.consumer.fetch(10, 0.5), [])
        self.assertEqual(self.consumer.state, "reconnecting", "the consumer saw the connection go")
        self.consumer.next_attempt = 0  # skip the backoff
        acks, rejects = self._consume(self.backend, self.consumer, expect=1)
        self.assertEqual(self.consumer.state, "connected", "reconnected")
        self.assertEqual(len(acks), 1)
        self.assertTrue(acks[0].redelivered, "the broker delivered it again")
        self.assertEqual(len(self._events(self.backend, direction="in")), 1, "and the inbox kept one event")

    def test_stopping_returns_what_was_not_settled(self):
        ids = [f"msg-{uuid.uuid4().hex}" for _ in range(3)]
        for message_id in ids:
            self._produce(
                self.queue, self._canonical(f"cus_{message_id[-8:]}", {"name": "Stop"}), message_id=message_id
            )
        batch, deadline = [], time.monotonic() + 5
        while len(batch) < 3 and time.monotonic() < deadline:
            batch += self.consumer.fetch(10, 0.5)
        self.assertEqual(len(batch), 3)
        started = time.monotonic()
        self.consumer.close()  # the server stops before the batch is stored
        self.assertLess(time.monotonic() - started, 2, "a clean, bounded stop")
        self.assertEqual(self.consumer.state, "off")
        again = self._consumer(self.backend)
        acks, _rejects = self._consume(self.backend, again, expect=3)
        self.assertEqual(sorted(d.message_id for d in acks), sorted(ids), "back in the queue, nothing lost")
        self.assertTrue(all(d.redelivered for d in acks))

    def test_consumer_reconnects_while_the_broker_is_down(self):
        self.proxy.mode = "refuse"
        self.proxy.drop()
        self.assertEqual(self.consumer.fetch(10, 0.5), [])
        self.assertEqual(self.consumer.state, "reconnecting")
        self.assertIn("unreachable or connection lost", self.consumer.last_error)
        self.consumer.next_attempt = 0
        self.assertEqual(self.consumer.fetch(10, 0.2), [], "still down: no error raised, backoff grows")
        self.assertEqual(self.consumer.failures, 2)
        self.assertIn("during connect", self.consumer.last_error)
        self.assertNotIn("RetryableError", self.consumer.last_error, "a readable reason, not a wrapped error")
        message_id = f"msg-{uuid.uuid4().hex}"
        self._produce(self.queue, self._canonical("cus_amqp_down", {"name": "Waited"}), message_id=message_id)
        self.proxy.mode = "pass"
        self.consumer.next_attempt = 0
        acks, _rejects = self._consume(self.backend, self.consumer, expect=1)
        self.assertEqual([d.message_id for d in acks], [message_id])
        self.assertEqual(self.consumer.failures, 0)

    @mute_logger("odoo.addons.integration_amqp.models.integration_amqp_inbox")
    def test_malformed_message_is_rejected_and_dead_lettered(self):
        cases = {
            "not-json": b"{not json",
            "not-canonical": json.dumps({"hello": "world"}).encode(),
            "schema": json.dumps(self._canonical("cus_bad", {"name": "Bad", "email": "no-at-sign"})).encode(),
        }
        ids = {}
        for name, body in cases.items():
            ids[name] = f"msg-{name}-{uuid.uuid4().hex[:8]}"
            self._produce(self.queue, body, message_id=ids[name])
        acks, rejects = self._consume(self.backend, self.consumer, expect=3)
        self.assertEqual((len(acks), len(rejects)), (0, 3))
        events = self._events(self.backend, direction="in")
        self.assertEqual(set(events.mapped("state")), {"rejected"})
        by_id = {event.external_id: event for event in events}
        self.assertIn("not valid JSON", by_id[ids["not-json"]].error_message)
        self.assertIn("not a canonical message", by_id[ids["not-canonical"]].error_message)
        self.assertIn("/data/email", by_id[ids["schema"]].error_message)
        for event in events:
            self.assertEqual(len(event.exception_ids), 1, "a person sees it")
            self.assertTrue(event.exception_ids.description)
        self.assertEqual(by_id[ids["schema"]].exception_ids.category, "schema_violation")
        dead = self._dead_letters()
        self.assertEqual(sorted(m.properties["message_id"] for m in dead), sorted(ids.values()), "dead-lettered")
        self.assertEqual(dead[0].properties["application_headers"]["x-death"][0]["reason"], "rejected")

    @mute_logger("odoo.addons.integration_amqp.models.integration_amqp_inbox")
    def test_unauthentic_message_is_dead_lettered_and_not_stored(self):
        body = self._canonical("cus_forged", {"name": "Forged"})
        self._produce(self.queue, body, message_id="forged-1", secret="whsec_" + "Zm9yZ2VkLXNlY3JldA==")
        self._produce(self.queue, body, message_id="unsigned-1", secret=None)
        acks, rejects = self._consume(self.backend, self.consumer, expect=2)
        self.assertEqual((len(acks), len(rejects)), (0, 2))
        self.assertFalse(self._events(self.backend, direction="in"), "nobody's message is stored")
        self.assertEqual(sorted(m.properties["message_id"] for m in self._dead_letters()), ["forged-1", "unsigned-1"])

    @mute_logger("odoo.addons.integration_amqp.models.integration_amqp_inbox")
    def test_trusted_producers(self):
        self.backend.write({"amqp_auth_mode": "trusted_users", "amqp_trusted_users": "billing-service, guest"})
        body = self._canonical("cus_trusted", {"name": "Trusted"})
        # RabbitMQ checks user_id against the publishing connection's user (guest here)
        self._produce(self.queue, body, message_id="trusted-1", secret=None, user_id="guest")
        self._produce(self.queue, body, message_id="anonymous-1", secret=None)
        acks, rejects = self._consume(self.backend, self.consumer, expect=2)
        self.assertEqual([d.message_id for d in acks], ["trusted-1"])
        self.assertEqual([d.message_id for d in rejects], ["anonymous-1"])
        self.backend.amqp_trusted_users = "billing-service"
        self._produce(self.queue, body, message_id="trusted-2", secret=None, user_id="guest")
        acks, rejects = self._consume(self.backend, self.consumer, expect=1)
        self.assertEqual([d.message_id for d in rejects], ["trusted-2"], "guest is no longer trusted")

    def test_rotated_secret_is_still_accepted(self):
        self.backend.sudo().write(
            {
                "webhook_secret": "whsec_" + "bmV3LXNlY3JldC1uZXctc2VjcmV0",
                "webhook_secret_previous": self.backend.sudo().webhook_secret,
            }
        )
        from .common import SECRET

        self._produce(self.queue, self._canonical("cus_rot", {"name": "Old key"}), message_id="rot-1", secret=SECRET)
        acks, _rejects = self._consume(self.backend, self.consumer, expect=1)
        self.assertEqual([d.message_id for d in acks], ["rot-1"])
