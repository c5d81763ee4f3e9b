"""Finding 3 of issue 8, HubSpot: a manager must not redirect the private app token."""

from odoo.tests import HttpCase, tagged

from odoo.addons.integration_base.tests.common import local_http_server
from odoo.addons.integration_base.tests.common_rpc import RoleRpcMixin

from .common import API_TOKEN, HubspotCaseMixin


@tagged("post_install", "-at_install")
class TestHubspotCredentials(HubspotCaseMixin, RoleRpcMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_roles()

    def test_hole3_manager_cannot_send_the_token_to_a_url_of_their_choice(self):
        with local_http_server(lambda *a: (200, {}, {"results": []})) as listener:
            answer = self.json2(
                "manager", "integration.backend", "write", ids=self.backend.ids, vals={"api_url": listener.url}
            )
            self.assertTrue(answer.ok, answer)
            self.json2("manager", "integration.backend", "action_test_connection", ids=self.backend.ids)
        for call in listener.calls:
            self.assertNotIn(API_TOKEN, str(call["headers"]), "the token reached the manager's listener")
        self.assertFalse(self.backend.sudo().api_key, "the token was cleared with the change of URL")

    def test_hole3_system_admin_moves_the_backend_with_its_token(self):
        with local_http_server(lambda *a: (200, {}, {"results": []})) as sandbox:
            answer = self.json2(
                "system", "integration.backend", "write", ids=self.backend.ids, vals={"api_url": sandbox.url}
            )
            self.assertTrue(answer.ok, answer)
            answer = self.json2("system", "integration.backend", "action_test_connection", ids=self.backend.ids)
            self.assertTrue(answer.ok, answer)
        self.assertEqual(sandbox.calls[0]["headers"]["Authorization"], f"Bearer {API_TOKEN}")
