import time

from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_base import http_client
from odoo.addons.integration_base.tests.common import local_http_server

from .common import TestConnectorMixin


@tagged("post_install", "-at_install")
class TestOutbound(TestConnectorMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer_type = cls.env.ref("integration_base.canonical_type_customer")
        cls.backend.write(
            {
                "outbound_type_ids": [(6, 0, cls.customer_type.ids)],
                "timeout": 1.0,
                "max_attempts": 5,
                "circuit_threshold": 3,
                "circuit_cooldown": 60,
            }
        )

    def _outbound(self):
        return self.env["integration.event"].search([("backend_id", "=", self.backend.id), ("direction", "=", "out")])

    def test_partner_change_is_pushed_with_an_idempotency_key(self):
        with local_http_server(lambda *a: (200, {}, {"ok": True})) as server:
            self.backend.api_url = server.url
            partner = self.env["res.partner"].create({"name": "Pushed", "email": "push@example.com"})
            partner.write({"phone": "+32 2 000 00 00"})  # same transaction: still one event
            event = self._outbound()
            self.assertEqual(len(event), 1)
            self.assertRecordValues(event, [{"state": "queued", "canonical_type": "customer", "res_id": partner.id}])
            self.perform_jobs()
        self.assertEqual(event.state, "done")
        self.assertEqual(event.response_status, 200)
        self.assertEqual(len(server.calls), 1)
        call = server.calls[0]
        self.assertEqual(call["path"], "/messages")
        self.assertEqual(call["headers"]["Idempotency-Key"], event.external_id)
        message = server.json_calls()[0]
        self.assertEqual(message["type"], "customer")
        self.assertEqual(message["data"]["email"], "push@example.com")
        self.assertEqual(message["data"]["phone"], "+32 2 000 00 00", "the current state is sent")
        self.assertEqual(message["correlation_id"], event.correlation_id)

    def test_inbound_change_is_not_echoed_to_its_source(self):
        self._ingest(self._event_payload([self._customer("cus_echo", name="Echo")]))
        self.perform_jobs()
        self.assertFalse(self._outbound(), "a change made by backend X is not pushed back to X")

    def test_5xx_and_timeouts_are_retried_with_the_same_key(self):
        answers = iter([(503, {"Retry-After": "7"}, b"busy"), "timeout", (200, {}, {"ok": True})])

        def responder(method, path, headers, body):
            answer = next(answers)
            if answer == "timeout":
                time.sleep(1.5)
                return 200, {}, {"late": True}
            return answer

        with local_http_server(responder) as server:
            self.backend.api_url = server.url
            self.env["res.partner"].create({"name": "Flaky"})
            event = self._outbound()
            self.perform_jobs()
        self.assertEqual(event.state, "done")
        self.assertEqual(event.attempts, 3)
        self.assertEqual(len(server.calls), 3)
        self.assertEqual({call["headers"]["Idempotency-Key"] for call in server.calls}, {event.external_id})
        first_retry = event.job_ids.sorted("id")[1]
        self.assertTrue(first_retry.eta, "Retry-After is honoured")

    def test_4xx_fails_at_once(self):
        with local_http_server(lambda *a: (422, {}, {"error": "bad vat"})) as server:
            self.backend.api_url = server.url
            self.env["res.partner"].create({"name": "Refused"})
            event = self._outbound()
            self.perform_jobs()
        self.assertEqual(event.state, "failed")
        self.assertIn("422", event.error_message)
        self.assertEqual(len(server.calls), 1)
        self.assertEqual(event.exception_ids.category, "technical")

    def test_circuit_opens_after_repeated_failures_and_recovers(self):
        status = {"code": 500}
        with local_http_server(lambda *a: (status["code"], {}, {"s": status["code"]})) as server:
            self.backend.api_url = server.url
            partners = self.env["res.partner"].create([{"name": f"Breaker {i}"} for i in range(5)])
            events = self._outbound()
            self.assertEqual(len(events), 5)
            for event in events.sorted("id")[:3]:
                self._run_job(event.job_ids[-1:].uuid)
            self.assertEqual(self.backend.circuit_state, "open")
            self.assertEqual(self.backend.health, "down")
            self.assertEqual(len(server.calls), 3)
            # while open: no call at all, the attempt is postponed to the end of the cool-down
            fourth = events.sorted("id")[3]
            self._run_job(fourth.job_ids[-1:].uuid)
            self.assertEqual(len(server.calls), 3)
            self.assertEqual(fourth.state, "queued")
            self.assertIn("circuit open", fourth.error_message)
            # cool-down over: one probe goes through (half-open); success closes the circuit
            status["code"] = 200
            self.backend.circuit_open_until = self._now()
            self._run_job(fourth.job_ids[-1:].uuid)
            self.assertEqual(fourth.state, "done")
            self.assertEqual(self.backend.circuit_state, "closed")
            self.perform_jobs()
        self.assertEqual(set(events.mapped("state")), {"done"})
        self.assertEqual(len(partners), 5)

    def test_failed_probe_reopens_the_circuit(self):
        with local_http_server(lambda *a: (502, {}, b"down")) as server:
            self.backend.write(
                {
                    "api_url": server.url,
                    "circuit_state": "open",
                    "circuit_failures": 3,
                    "circuit_open_until": self._now(),
                }
            )
            self.env["res.partner"].create({"name": "Probe"})
            event = self._outbound()
            self._run_job(event.job_ids.uuid)
        self.assertEqual(len(server.calls), 1)
        self.assertEqual(self.backend.circuit_state, "open")
        self.assertGreater(self.backend.circuit_open_until, self._now())

    def test_rate_limit_postpones_instead_of_flooding(self):
        self.backend.rate_limit = 0.5  # one call every two seconds
        with local_http_server(lambda *a: (200, {}, {"ok": True})) as server:
            self.backend.api_url = server.url
            http_client._buckets.pop(self.backend.id, None)
            self.env["res.partner"].create([{"name": "Rate 1"}, {"name": "Rate 2"}])
            first, second = self._outbound().sorted("id")
            self._run_job(first.job_ids.uuid)
            self._run_job(second.job_ids.uuid)
        self.assertEqual(first.state, "done")
        self.assertEqual(second.state, "queued")
        self.assertIn("rate limit", second.error_message)
        self.assertEqual(len(server.calls), 1)
        self.assertEqual(self.backend.circuit_failures, 0, "being throttled is not a failure of the system")
