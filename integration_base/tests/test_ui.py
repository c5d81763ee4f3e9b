import json
import uuid

from odoo.tests import HttpCase, new_test_user, tagged

from .common import IntegrationCaseMixin


@tagged("post_install", "-at_install")
class TestExceptionUi(IntegrationCaseMixin, HttpCase):
    def test_finance_user_ignores_an_exception_from_the_board(self):
        new_test_user(self.env, "finance_ui", groups="base.group_user,integration_base.group_integration_user")
        backend = self._create_backend("canonical", name="UI billing")
        message = self._message("customer", "cus_ui", {"name": "UI Customer", "email": "not-an-email"})
        event, _created = self.env["integration.event"]._ingest(
            backend,
            {"external_id": uuid.uuid4().hex, "event_type": "customer", "occurred_at": None},
            json.dumps(message),
        )
        self.perform_jobs()
        exc = event.exception_ids
        self.assertEqual(exc.state, "new")
        self.start_tour("/odoo", "integration_exception_ignore", login="finance_ui")
        self.assertRecordValues(exc, [{"state": "ignored", "ignore_reason": "Test message sent by mistake"}])
        self.assertEqual(event.state, "ignored")
        self.assertEqual(exc.resolved_uid.login, "finance_ui")
