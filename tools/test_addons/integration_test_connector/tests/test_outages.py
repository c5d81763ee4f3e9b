"""Failures of a whole backend: grouped, counted, closing themselves; Retry-After as a floor.

Real HTTP against a local server (or a closed port): the outbound path of
the test connector goes through ``http_client.send`` like every connector.
"""

import socket
from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_base.tests.common import local_http_server

from .common import TestConnectorMixin


def closed_port_url():
    """A URL nobody listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@tagged("post_install", "-at_install")
class TestOutages(TestConnectorMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        customer = cls.env.ref("integration_base.canonical_type_customer")
        cls.backend.write({"outbound_type_ids": [(6, 0, customer.ids)], "timeout": 2.0, "circuit_threshold": 1000})

    def _outbound(self):
        return self.env["integration.event"].search([("backend_id", "=", self.backend.id), ("direction", "=", "out")])

    def _run_round(self):
        """Run the pending jobs once each (ETAs ignored), as the runner would over time."""
        jobs = self.env["queue.job"].sudo().search([("state", "=", "pending")], order="id")
        for job in jobs:
            self._run_job(job.uuid)
        return len(jobs)

    def _causes(self, cause=None):
        domain = [("backend_id", "=", self.backend.id), ("cause", "!=", False)]
        if cause:
            domain.append(("cause", "=", cause))
        return self.env["integration.exception"].search(domain)

    def test_unreachable_system_is_one_exception_that_closes_itself(self):
        self.backend.api_url = closed_port_url()
        self.env["res.partner"].create([{"name": f"Outage {i}"} for i in range(12)])
        events = self._outbound()
        self.assertEqual(len(events), 12)
        for _round in range(self.backend.max_attempts):
            self._run_round()
        self.assertEqual(set(events.mapped("state")), {"dead"}, "every attempt failed")
        outage = self._causes()
        self.assertEqual(len(outage), 1, "one exception for the backend and its cause, not one per event")
        self.assertRecordValues(
            outage,
            [{"cause": "unavailable", "category": "outage", "kind": "technical", "state": "new", "event_count": 12}],
        )
        self.assertEqual(outage.event_ids, events)
        self.assertIn("cannot be reached", outage.name)
        self.assertIn("closes itself", outage.description)
        self.assertFalse(events.exception_ids, "no exception per event")
        # the system answers again: the next call closes the outage and brings the dead events back
        with local_http_server(lambda *a: (200, {}, {"ok": True})) as server:
            self.backend.api_url = server.url
            self.env["res.partner"].create({"name": "After the outage"})
            self.perform_jobs()
        self.assertEqual(outage.state, "resolved")
        self.assertIn("Closed by itself", outage.message_ids.mapped("body")[0])
        self.assertEqual(set(self._outbound().mapped("state")), {"done"}, "the affected events went through")
        self.assertEqual(len(server.calls), 13)

    def test_refused_credentials_are_one_exception_until_the_key_works(self):
        status = {"code": 401}

        def responder(method, path, headers, body):
            return status["code"], {}, {"error": "invalid token"} if status["code"] == 401 else {"ok": True}

        with local_http_server(responder) as server:
            self.backend.api_url = server.url
            self.env["res.partner"].create([{"name": "Auth 1"}, {"name": "Auth 2"}])
            events = self._outbound()
            self._run_round()
            outage = self._causes("auth_refused")
            self.assertEqual(len(outage), 1)
            self.assertIn("refuses our credentials", outage.name)
            self.assertEqual(outage.event_ids, events)
            self.assertEqual(set(events.mapped("state")), {"queued"}, "retried, slowly, until someone fixes the key")
            # an administrator fixes the key; Test connection proves it and closes the outage
            status["code"] = 200
            self.backend.action_test_connection()
            self.assertEqual(outage.state, "resolved")
            self.perform_jobs()
        self.assertEqual(set(events.mapped("state")), {"done"})
        self.assertIn("/ping", [call["path"] for call in server.calls])

    def test_sustained_429_waits_longer_and_longer_without_using_attempts(self):
        answer = {"status": 429}

        def responder(method, path, headers, body):
            if answer["status"] == 429:
                return 429, {"Retry-After": "2"}, {"error": "slow down"}
            return 200, {}, {"ok": True}

        with local_http_server(responder) as server:
            self.backend.api_url = server.url
            self.env["res.partner"].create({"name": "Throttled"})
            event = self._outbound()
            delays = []
            rounds = self.backend.max_attempts * 3  # far more than the attempts an error may use
            for _round in range(rounds):
                now = fields.Datetime.now()
                self._run_round()
                self.assertEqual(event.state, "queued", "a rate-limited event never goes dead")
                delays.append((event.next_retry_at - now).total_seconds())
            self.assertEqual(event.attempts, 0, "waiting for the rate limit used no attempt")
            self.assertEqual(event.deferrals, rounds)
            self.assertTrue(all(delay >= 1 for delay in delays), f"Retry-After (2 s) is the floor: {delays}")
            # backoff over every retry: delay k is at least half of base * 2^(k-1) (base 1 s here)
            for k, delay in enumerate(delays, start=1):
                self.assertGreaterEqual(delay, 2 ** (k - 1) / 2 - 1, f"retry {k}: {delays}")
            self.assertGreater(delays[-1], 60 * delays[0], f"the delay keeps growing: {delays}")
            outage = self._causes("rate_limited")
            self.assertEqual(len(outage), 1)
            self.assertIn("limiting our calls", outage.name)
            self.assertFalse(event.exception_ids)
            answer["status"] = 200
            self.perform_jobs()
        self.assertEqual(event.state, "done")
        self.assertEqual(outage.state, "resolved")
        self.assertEqual(len(server.calls), rounds + 1)

    def test_a_long_retry_after_is_honoured(self):
        with local_http_server(lambda *a: (429, {"Retry-After": "600"}, {"error": "later"})) as server:
            self.backend.api_url = server.url
            self.env["res.partner"].create({"name": "Patient"})
            event = self._outbound()
            before = fields.Datetime.now()
            self._run_round()
        self.assertGreaterEqual(event.next_retry_at, before + timedelta(seconds=599))
        self.assertEqual(len(server.calls), 1)

    def test_any_code_reports_and_clears_a_cause_of_its_own(self):
        """The general mechanism (monitoring reuses it): a cause of its own, reported and cleared."""
        Exception_ = self.env["integration.exception"]
        event, _created = self._ingest(self._event_payload([self._customer("cus_gen", name="General")]))
        first = Exception_._report_cause(self.backend, "backlog", event)
        again = Exception_._report_cause(self.backend, "backlog")
        self.assertEqual(first, again, "reported twice, one exception")
        self.assertIn("backlog", first.name)
        self.assertEqual(first.event_ids, event)
        self.assertEqual(Exception_._clear_causes(self.backend, ["backlog"]), first)
        self.assertEqual(first.state, "resolved")
        self.assertNotEqual(Exception_._report_cause(self.backend, "backlog"), first, "a new outage, a new exception")
