"""Holes found from outside, each replayed through real HTTP as the user concerned.

Each test is the regression test of one finding of issue 8 (the number in
its name): it failed on the code before the fix and passes after it.
"""

import json
from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from ..exceptions import PermanentError
from .common import local_http_server
from .common_rpc import RoleRpcMixin


@tagged("post_install", "-at_install")
class TestSecurityRpc(RoleRpcMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_roles()
        cls.backend_a = cls._create_backend("canonical", name="Billing A", company_id=cls.company_a.id)
        cls.backend_b = cls._create_backend("canonical", name="Billing B", company_id=cls.company_b.id)

    def _secrets(self, backend):
        backend.invalidate_recordset()
        return backend.sudo().read(["webhook_secret", "webhook_secret_previous"])[0]

    # ------------------------------------------------------------------
    # 1. rotating a webhook secret
    # ------------------------------------------------------------------
    def test_hole1_nobody_but_a_system_admin_rotates_webhook_secrets(self):
        model, method = "integration.backend", "action_rotate_webhook_secret"
        for role in ("public", "portal", "internal", "user", "manager"):
            for backend in (self.backend_a, self.backend_b):
                before = self._secrets(backend)
                with self.subTest(role=role, company=backend.company_id.name, via="json2"):
                    answer = self.json2(role, model, method, ids=backend.ids)
                    self.assertTrue(answer.refused, answer)
                    self.assertEqual(self._secrets(backend), before, "the secret must not change")
                with self.subTest(role=role, company=backend.company_id.name, via="call_kw"):
                    answer = self.call_kw(role, model, method, [backend.ids])
                    self.assertTrue(answer.refused, answer)
                    self.assertEqual(self._secrets(backend), before, "the secret must not change")
        # a system administrator rotates in their company, not in another one
        before = self._secrets(self.backend_b)
        self.assertTrue(self.json2("system", model, method, ids=self.backend_b.ids).refused)
        self.assertEqual(self._secrets(self.backend_b), before)
        before = self._secrets(self.backend_a)
        answer = self.call_kw("system", model, method, [self.backend_a.ids])
        self.assertTrue(answer.ok, answer)
        after = self._secrets(self.backend_a)
        self.assertEqual(after["webhook_secret_previous"], before["webhook_secret"])
        self.assertNotEqual(after["webhook_secret"], before["webhook_secret"])

    # ------------------------------------------------------------------
    # 3. changing where the credentials go
    # ------------------------------------------------------------------
    def test_hole3_a_manager_changing_the_api_url_clears_the_api_key(self):
        self.backend_a.sudo().write({"api_key": "sk_live_production_key", "api_url": "https://billing.example.com"})
        answer = self.json2(
            "manager",
            "integration.backend",
            "write",
            ids=self.backend_a.ids,
            vals={"api_url": "https://listener.example.net/steal"},
        )
        self.assertTrue(answer.ok, answer)
        self.backend_a.invalidate_recordset()
        self.assertEqual(self.backend_a.api_url, "https://listener.example.net/steal")
        self.assertFalse(self.backend_a.sudo().api_key, "the key must not follow the URL a manager chose")
        self.assertIn("cleared", self.backend_a.message_ids[:1].body or "", "the clearing is explained in the chatter")
        # a system administrator may move a backend and keep its key
        self.backend_a.sudo().api_key = "sk_live_production_key"
        answer = self.json2(
            "system",
            "integration.backend",
            "write",
            ids=self.backend_a.ids,
            vals={"api_url": "https://billing2.example.com"},
        )
        self.assertTrue(answer.ok, answer)
        self.backend_a.invalidate_recordset()
        self.assertEqual(self.backend_a.sudo().api_key, "sk_live_production_key")

    # ------------------------------------------------------------------
    # 4. SSRF through the API URL
    # ------------------------------------------------------------------
    def test_hole4_test_connection_is_no_port_scanner(self):
        self.env["ir.config_parameter"].sudo().set_param("integration_base.outbound_allowed_hosts", "")
        targets = (
            "http://127.0.0.1:5432",  # PostgreSQL
            "http://localhost:5432/",  # a name that resolves to loopback
            "http://169.254.169.254/latest/meta-data/",  # cloud metadata
            "http://10.0.0.1/",  # private network
            "http://[::1]:8069/",  # IPv6 loopback
            "ftp://example.com/",  # not HTTP
        )
        for url in targets:
            with self.subTest(url=url):
                answer = self.json2(
                    "manager",
                    "integration.backend",
                    "write",
                    ids=self.backend_a.ids,
                    vals={"api_url": url, "timeout": 2},
                )
                if answer.ok:  # refused when the test runs, not when it is saved: same for the person
                    answer = self.json2(
                        "manager", "integration.backend", "action_test_connection", ids=self.backend_a.ids
                    )
                self.assertFalse(answer.ok, answer)
                self.assertRegex(answer.message, r"(?i)not allowed|refused|only https? ")
                self.assertNotRegex(answer.message, r"(?i)connection refused|remote ?disconnected|timed out")

    def test_hole4_allow_list_lets_a_local_server_through(self):
        with local_http_server(lambda *a: (200, {}, {"ok": True})) as server:
            host_port = server.url.split("//")[1]
            self.env["ir.config_parameter"].sudo().set_param("integration_base.outbound_allowed_hosts", host_port)
            self.backend_a.api_url = server.url
            answer = self.json2("manager", "integration.backend", "action_test_connection", ids=self.backend_a.ids)
            self.assertTrue(answer.ok, answer)
            # the allow-list names a port: another port of the same host is still refused
            answer = self.json2(
                "manager",
                "integration.backend",
                "write",
                ids=self.backend_a.ids,
                vals={"api_url": "http://127.0.0.1:5432"},
            )
            self.assertFalse(answer.ok, answer)
            self.assertIn("not allowed", answer.message)
        self.assertEqual(len(server.calls), 1)

    def test_hole4_remote_error_bodies_are_short_and_sanitized(self):
        page = "<html><body><h1>Internal admin panel</h1><p>db password: hunter2</p>" + "x" * 5000 + "</body></html>"
        self.backend_a.outbound_type_ids = self.env.ref("integration_base.canonical_type_customer")
        with local_http_server(lambda *a: (400, {"Content-Type": "text/html"}, page.encode())) as server:
            self.backend_a.api_url = server.url
            self.env["res.partner"].create({"name": "Echo Co", "company_id": self.company_a.id})
            self.perform_jobs()
        event = self._events(self.backend_a, direction="out")
        self.assertEqual(event.state, "failed")
        exception = event.exception_ids
        for text in (event.error_message, exception.details):
            self.assertNotIn("hunter2", text)
            self.assertNotIn("admin panel", text)
            self.assertLess(len(text), 600)
        answer = self.json2("user", "integration.exception", "read", ids=exception.ids, fields=["details"])
        self.assertTrue(answer.ok, answer)
        self.assertNotIn("hunter2", json.dumps(answer.result))

    # ------------------------------------------------------------------
    # 7. smaller leaks
    # ------------------------------------------------------------------
    def test_hole7_read_only_users_cannot_test_connections(self):
        with local_http_server(lambda *a: (200, {}, {"ok": True})) as server:
            self.backend_a.api_url = server.url
            for role in ("public", "portal", "internal", "user"):
                with self.subTest(role=role):
                    answer = self.json2(role, "integration.backend", "action_test_connection", ids=self.backend_a.ids)
                    self.assertTrue(answer.refused, answer)
            self.assertFalse(server.calls, "no outbound call made for a refused caller")
            self.assertTrue(
                self.json2("manager", "integration.backend", "action_test_connection", ids=self.backend_a.ids).ok
            )
        self.assertEqual(len(server.calls), 1)

    def test_hole7_edited_payload_never_reaches_the_chatter(self):
        secret_value = "4111111111111111-customer-card"
        event, _created = self.env["integration.event"]._ingest(
            self.backend_a,
            {"external_id": "evt-edit-1", "event_type": "customer", "occurred_at": None},
            json.dumps({"type": "customer", "card": secret_value}),
        )
        exception = self.env["integration.exception"]._open_for_event(event, PermanentError("bad"))
        new_payload = json.dumps({"type": "customer", "card": secret_value + "-fixed", "external_id": "c1"})
        answer = self.call_kw("manager", "integration.exception", "action_edit_payload", [exception.ids, new_payload])
        self.assertTrue(answer.ok, answer)
        answer = self.json2(
            "user",
            "mail.message",
            "search_read",
            domain=[
                ("model", "in", ("integration.exception", "integration.event")),
                ("res_id", "in", (exception.id, event.id)),
            ],
            fields=["body"],
        )
        self.assertTrue(answer.ok, answer)
        self.assertTrue(answer.result, "the edit is audited")
        bodies = json.dumps(answer.result)
        self.assertNotIn(secret_value, bodies)
        self.assertIn("card", bodies, "the audit names what changed, not its value")
        # the previous version is kept for managers only
        self.assertTrue(
            self.json2("user", "integration.event", "read", ids=event.ids, fields=["payload_before_edit"]).refused
        )
        answer = self.json2("manager", "integration.event", "read", ids=event.ids, fields=["payload_before_edit"])
        self.assertIn(secret_value, answer.result[0]["payload_before_edit"])

    def test_refused_callers_cannot_flush_every_workers_caches(self):
        kind = self.env["integration.canonical.type"].search([("code", "=", "customer")])
        with patch.object(type(self.env.registry), "clear_cache") as clear_cache:
            for method, kwargs in (("write", {"vals": {"name": "X"}}), ("unlink", {})):
                for role in ("portal", "internal", "user"):
                    with self.subTest(method=method, role=role):
                        answer = self.json2(role, "integration.canonical.type", method, ids=kind.ids, **kwargs)
                        self.assertTrue(answer.refused, answer)
            clear_cache.assert_not_called()
            self.assertTrue(
                self.json2("manager", "integration.canonical.type", "write", ids=kind.ids, vals={"name": "Customer"}).ok
            )
            clear_cache.assert_called()
