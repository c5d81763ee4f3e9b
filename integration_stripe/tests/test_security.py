"""Finding 3 of issue 8, Stripe: ``api_url`` (the SDK's api_base) decides where the secret key goes."""

from odoo.tests import HttpCase, tagged

from odoo.addons.integration_base.tests.common import local_http_server
from odoo.addons.integration_base.tests.common_rpc import RoleRpcMixin

from .common import API_KEY, StripeCaseMixin

BALANCE = {"object": "balance", "livemode": False, "available": [], "pending": []}


@tagged("post_install", "-at_install")
class TestStripeCredentials(StripeCaseMixin, RoleRpcMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_roles()
        cls.backend = cls._create_stripe_backend()

    def test_hole3_manager_cannot_send_the_secret_key_to_a_url_of_their_choice(self):
        with local_http_server(lambda *a: (200, {}, BALANCE)) as listener:
            answer = self.json2(
                "manager", "integration.backend", "write", ids=self.backend.ids, vals={"api_url": listener.url}
            )
            self.assertTrue(answer.ok, answer)
            self.json2("manager", "integration.backend", "action_test_connection", ids=self.backend.ids)
        for call in listener.calls:
            self.assertNotIn(API_KEY, str(call["headers"]), "the secret key reached the manager's listener")
        self.assertFalse(self.backend.sudo().api_key, "the key was cleared with the change of URL")

    def test_hole3_changing_the_connector_type_is_a_change_of_destination_too(self):
        answer = self.json2(
            "manager", "integration.backend", "write", ids=self.backend.ids, vals={"connector_type": "canonical"}
        )
        self.assertTrue(answer.ok, answer)
        self.assertFalse(self.backend.sudo().api_key)
