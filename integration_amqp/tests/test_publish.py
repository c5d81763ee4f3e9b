import json

from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_base.schemas import validate_message

from ..models.integration_connector_amqp import sign
from .common import SECRET, AmqpCaseMixin


@tagged("post_install", "-at_install")
class TestPublish(AmqpCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._create_amqp_backend()
        cls.backend.outbound_type_ids = [
            (
                6,
                0,
                (
                    cls.env.ref("integration_base.canonical_type_customer")
                    | cls.env.ref("integration_base.canonical_type_invoice")
                ).ids,
            )
        ]
        cls.partner = cls.env["res.partner"].create({"name": "Before", "email": "before@example.com"})

    def setUp(self):
        super().setUp()
        self.proxy.mode = "pass"
        self.perform_jobs()  # events of the set-up (the partner's creation) are out of the way
        self.sink = self._bind_test_queue("customer.*")
        self._drain(self.sink, settle_seconds=0.1)

    def _pending_relay(self):
        return self.env["queue.job"].search([("state", "=", "pending"), ("model_name", "=", "integration.amqp.relay")])

    def _outbound(self, **domain):
        return self._events(self.backend, direction="out", **domain)

    def test_partner_edit_is_published_once_with_canonical_body_and_headers(self):
        self.partner.write({"name": "After", "phone": "+32 2 555 00 00"})
        self.partner.write({"email": "after@example.com"})  # same transaction: still one event
        event = self._outbound(event_type="customer.updated")
        self.assertEqual(len(event), 1)
        self.assertFalse(self._drain(self.sink, settle_seconds=0.2), "nothing leaves before the job runs")
        self.perform_jobs()
        self.assertRecordValues(event, [{"state": "done", "attempts": 1}])
        messages = self._drain(self.sink)
        self.assertEqual(len(messages), 1, "published exactly once")
        message = messages[0]
        props, headers = message.properties, message.properties["application_headers"]
        self.assertEqual(message.delivery_info["routing_key"], "customer.updated")
        self.assertEqual(message.delivery_info["exchange"], self.exchange)
        self.assertEqual(props["message_id"], event.external_id, "the idempotency key is the message id")
        self.assertEqual(props["correlation_id"], event.correlation_id)
        self.assertEqual(props["delivery_mode"], 2, "persistent")
        self.assertEqual(props["content_type"], "application/json")
        self.assertEqual(props["type"], "customer.updated")
        self.assertEqual(headers["x-correlation-id"], event.correlation_id)
        self.assertEqual(headers["x-schema-version"], "1.0")
        self.assertEqual(headers["x-canonical-type"], "customer")
        self.assertEqual(headers["x-event-action"], "updated")
        body = json.loads(message.body)
        validate_message(body)  # the canonical schema, as published
        self.assertEqual(body["type"], "customer")
        self.assertEqual(body["schema_version"], "1.0")
        self.assertEqual(body["source"], "odoo")
        self.assertEqual(body["correlation_id"], event.correlation_id)
        self.assertEqual(body["data"]["name"], "After")
        self.assertEqual(body["data"]["email"], "after@example.com", "the committed state is published")
        self.assertEqual(body["data"]["phone"], "+32 2 555 00 00")
        self.assertEqual(json.loads(event.payload), body, "the event keeps what was published")
        # signed as Standard Webhooks: a consumer can check who sent it
        raw = message.body if isinstance(message.body, bytes) else message.body.encode()
        expected = sign(SECRET, props["message_id"], headers["webhook-timestamp"], raw)
        self.assertEqual(headers["webhook-signature"], expected)

    def test_every_transaction_has_its_own_relay(self):
        self.partner.write({"name": "First"})
        self.partner.write({"email": "first@example.com"})
        self.assertEqual(len(self._pending_relay()), 1, "one relay per transaction, not per event")
        self.env.cr.precommit.clear()  # what follows is another transaction
        self.env["res.partner"].create({"name": "Second"})
        # a relay already pending may start (and take its snapshot) before
        # this transaction commits: it must not be the only one
        self.assertEqual(len(self._pending_relay()), 2)
        self.perform_jobs()
        self.assertEqual(len(self._drain(self.sink)), 2)

    def test_rolled_back_edit_publishes_nothing(self):
        with self.assertRaises(ZeroDivisionError), self.env.cr.savepoint():
            self.partner.write({"name": "Never committed"})
            self.assertEqual(len(self._outbound(event_type="customer.updated")), 1, "the outbox row exists meanwhile")
            raise ZeroDivisionError("the transaction fails after the change")
        self.env.invalidate_all()
        self.assertFalse(self._outbound(event_type="customer.updated"), "the outbox row went with the change")
        self.assertFalse(self.env["queue.job"].search([("state", "=", "pending")]), "and so did its relay job")
        self.perform_jobs()
        self.assertEqual(self.env["integration.amqp.relay"]._run(self.backend), "nothing to publish")
        self.assertFalse(self._drain(self.sink), "nothing published for a rolled-back transaction")

    def test_connection_dropped_mid_publish_delivers_exactly_once_after_recovery(self):
        # a warm pooled connection, then the broker stops answering mid-publish
        self.partner.write({"name": "Warm-up"})
        self.perform_jobs()
        self.assertEqual(len(self._drain(self.sink)), 1)
        self.partner.write({"name": "During the outage"})
        event = self._outbound(event_type="customer.updated", state="queued")
        self.proxy.mode = "blackhole"  # bytes swallowed: no confirm will come
        relay = self._pending_relay()
        self._run_job(relay.uuid)
        self.assertIn("broker failure", relay.result)
        self.proxy.drop()  # and the connection goes down
        self.assertRecordValues(event, [{"state": "queued", "attempts": 1}])
        self.assertIn("did not answer within 2 s", event.error_message)
        self.assertTrue(event.next_retry_at, "retried after a backoff")
        self.assertEqual(self.backend.circuit_failures, 1, "the outage shows on the backend")
        relay = self._pending_relay()
        self.assertEqual(len(relay), 1)
        self.assertTrue(relay.eta, "the relay comes back after the backoff")
        self._run_job(relay.uuid)  # too early: it waits again, publishes nothing
        self.assertIn("waiting for the broker", relay.result)
        self.assertTrue(self._pending_relay().eta)
        # still down when the relay comes back: kept again, nothing lost
        self.proxy.mode = "refuse"  # down: new connections refused
        event.next_retry_at = False
        self.assertIn("broker failure", self.env["integration.amqp.relay"]._run(self.backend))
        self.assertRecordValues(event, [{"state": "queued", "attempts": 2}])
        # recovery
        self.proxy.mode = "pass"
        event.next_retry_at = False
        self.perform_jobs()
        self.assertRecordValues(event, [{"state": "done", "attempts": 3}])
        messages = self._drain(self.sink, settle_seconds=0.5)
        self.assertEqual([m.properties["message_id"] for m in messages], [event.external_id], "exactly one delivery")
        self.assertEqual(json.loads(messages[0].body)["data"]["name"], "During the outage")
        self.assertEqual(self.backend.circuit_failures, 0)

    def test_outage_keeps_every_event_in_order(self):
        other = self.env["res.partner"].create({"name": "Other"})
        self.perform_jobs()
        self._drain(self.sink)
        self.proxy.mode = "refuse"  # the broker restarts: connections dropped, new ones refused
        self.proxy.drop()
        names = []
        for step in range(3):
            for partner in (self.partner, other):
                name = f"{partner.id}-{step}"
                partner.write({"name": name})
                names.append(name)
                self.env.cr.precommit.clear()  # as if each change were its own transaction
        events = self._outbound(state="queued").sorted("id")
        self.assertEqual(len(events), 6)
        self.assertIn("broker failure", self.env["integration.amqp.relay"]._run(self.backend))
        self.assertEqual(set(events.mapped("state")), {"queued"}, "nothing lost while the broker is away")
        self.assertTrue(all(events.mapped("next_retry_at")))
        self.proxy.mode = "pass"
        events.next_retry_at = False
        self.perform_jobs()
        self.assertEqual(set(events.mapped("state")), {"done"})
        messages = self._drain(self.sink, settle_seconds=0.5)
        self.assertEqual([m.properties["message_id"] for m in messages], events.mapped("external_id"), "id order")
        self.assertEqual(len({m.properties["message_id"] for m in messages}), 6, "no duplicate")

    def test_a_message_that_breaks_its_schema_fails_alone(self):
        broken = self.env["res.partner"].create({"name": "Broken"})
        self.env.cr.precommit.clear()
        broken.write({"email": "no-at-sign"})  # not an email: the canonical schema refuses it
        self.env.cr.precommit.clear()
        self.partner.write({"name": "Fine"})
        self.perform_jobs()
        bad = self._outbound(res_id=broken.id).sorted("id")[-1]
        good = self._outbound(res_id=self.partner.id, event_type="customer.updated")
        self.assertEqual(bad.state, "failed")
        self.assertIn("/data/email", bad.error_message)
        self.assertEqual(bad.exception_ids.category, "schema_violation", "a person sees why")
        self.assertEqual(good.state, "done", "the events after it are published")
        messages = self._drain(self.sink)
        self.assertEqual([m.properties["message_id"] for m in messages], [good.external_id])
        # fixed, then retried by a person: published by the relay, with its own id
        broken.write({"email": "fixed@example.com"})
        self.env.cr.precommit.clear()
        bad.action_retry()
        self.assertFalse(bad.job_ids.filtered(lambda job: job.state == "pending"), "no job of its own")
        self.assertTrue(self._pending_relay(), "the relay takes it")
        self.perform_jobs()
        self.assertEqual(bad.state, "done")
        self.assertIn(bad.external_id, [m.properties["message_id"] for m in self._drain(self.sink)])

    def test_change_applied_from_another_system_is_published(self):
        billing = self._create_backend("canonical", name="Billing")
        message = self._canonical("cus_from_billing", {"name": "From billing", "email": "billing@example.com"})
        identity = {"external_id": "evt-billing-1", "event_type": "customer", "occurred_at": None}
        inbound, _created = self.env["integration.event"]._ingest(
            billing, identity, json.dumps(message), correlation_id="corr-billing-1"
        )
        self.perform_jobs()
        self.assertEqual(inbound.state, "done")
        published = self._drain(self.sink)
        self.assertEqual(len(published), 1)
        self.assertEqual(published[0].delivery_info["routing_key"], "customer.created")
        self.assertEqual(published[0].properties["correlation_id"], "corr-billing-1", "one flow, one correlation id")
        self.assertEqual(json.loads(published[0].body)["data"]["email"], "billing@example.com")

    def test_invoice_paid_routing_key(self):
        sink = self._bind_test_queue("invoice.*")
        customer = self.env["res.partner"].create({"name": "Payer"})
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_line_ids": [(0, 0, {"name": "Plan", "quantity": 1, "price_unit": 100.0, "tax_ids": False})],
            }
        )
        invoice.action_post()
        self.env.cr.precommit.clear()
        self.perform_jobs()
        self.env["account.payment.register"].with_context(active_model="account.move", active_ids=invoice.ids).create(
            {}
        )._create_payments()
        self.perform_jobs()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        keys = [m.delivery_info["routing_key"] for m in self._drain(sink, settle_seconds=0.5)]
        self.assertEqual(keys, ["invoice.posted", "invoice.paid"])
