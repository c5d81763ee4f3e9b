from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged

from .common import TestConnectorMixin


@tagged("post_install", "-at_install")
class TestAccess(TestConnectorMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.finance = new_test_user(
            cls.env, "finance", groups="base.group_user,integration_base.group_integration_user"
        )
        cls.manager = new_test_user(
            cls.env, "intmanager", groups="base.group_user,integration_base.group_integration_manager"
        )
        cls.event, _created = cls._ingest(cls, cls._event_payload(fail="permanent"))

    def test_user_cannot_read_secrets_headers_or_payloads(self):
        backend = self.backend.with_user(self.finance)
        self.assertEqual(backend.name, "Test system", "reading the backend itself is allowed")
        for field in ("webhook_secret", "webhook_secret_previous", "api_key", "reference"):
            with self.subTest(field), self.assertRaises(AccessError):
                backend.read([field])
        event = self.event.with_user(self.finance)
        self.assertEqual(event.read(["state"])[0]["state"], "queued")
        for field in ("payload", "headers", "canonical", "error_traceback"):
            with self.subTest(field), self.assertRaises(AccessError):
                event.read([field])

    def test_manager_reads_payload_but_not_secrets(self):
        event = self.event.with_user(self.manager)
        self.assertIn('"fail"', event.payload)
        with self.assertRaises(AccessError):
            self.backend.with_user(self.manager).read(["webhook_secret"])

    def test_user_cannot_configure(self):
        with self.assertRaises(AccessError):
            self.backend.with_user(self.finance).write({"max_attempts": 1})
        with self.assertRaises(AccessError):
            self.env["integration.backend"].with_user(self.finance).create({"name": "x", "connector_type": "test"})
        with self.assertRaises(AccessError):
            self.env["integration.ownership.rule"].with_user(self.finance).create(
                {"canonical_type_id": self.env.ref("integration_base.canonical_type_customer").id}
            )
        self.backend.with_user(self.manager).write({"max_attempts": 4})

    def test_user_resolves_exceptions(self):
        self.perform_jobs()
        exc = self.event.exception_ids.with_user(self.finance)
        exc.action_take()
        exc.action_retry()
        self.assertEqual(exc.state, "in_progress")
        self.assertEqual(self.event.state, "queued")
        self.perform_jobs()
        self.assertEqual(self.event.state, "failed")
        self.assertEqual(exc.occurrences, 2)
        with self.assertRaises(UserError):
            exc.action_edit_payload("{}")

    def test_multi_company_isolation(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        other_backend = self._create_backend("test", name="Other company system", company_id=other_company.id)
        other_event, _created = self._ingest(self._event_payload(fail="permanent"), backend=other_backend)
        self.perform_jobs()
        self.finance.write({"company_ids": [(6, 0, self.env.company.ids)], "company_id": self.env.company.id})
        env = self.env(user=self.finance)
        backends = env["integration.backend"].search([])
        self.assertIn(self.backend, backends)
        self.assertNotIn(other_backend, backends)
        events = env["integration.event"].search([])
        self.assertIn(self.event, events)
        self.assertNotIn(other_event, events)
        self.assertFalse(env["integration.exception"].search([("backend_id", "=", other_backend.id)]))
        with self.assertRaises(AccessError):
            other_event.with_user(self.finance).read(["state"])
