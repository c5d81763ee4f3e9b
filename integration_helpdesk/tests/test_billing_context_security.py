"""Finding 7 of issue 8, billing-context API: one key, no rotation, guessing not throttled."""

from unittest.mock import patch

from odoo.tests import HttpCase, tagged
from odoo.tools import config, mute_logger

from odoo.addons.integration_base.tests.common_rpc import RoleRpcMixin

from .common import ZendeskCaseMixin

CONTROLLER_LOGGER = "odoo.addons.integration_helpdesk.controllers.main"
ATTACKER, HELPDESK = "203.0.113.66", "198.51.100.7"


@tagged("post_install", "-at_install")
class TestBillingContextSecurity(ZendeskCaseMixin, RoleRpcMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_roles()
        cls.env["res.partner"].create({"name": "Known Customer", "email": "known@example.com"})

    def _get(self, token, address=HELPDESK):
        # behind a proxy (the edge): the client address comes from X-Forwarded-For
        headers = {
            "Authorization": f"Bearer {token}",
            "X-Forwarded-For": address,
            "X-Forwarded-Host": "odoo.example.com",
        }
        return self.url_open(
            f"/integration/helpdesk/{self.backend.reference}/billing-context",
            params={"email": "known@example.com"},
            headers=headers,
        )

    @mute_logger(CONTROLLER_LOGGER)
    def test_hole7_guessing_tokens_is_throttled_per_address(self):
        key = self.backend.sudo().api_key
        with patch.dict(config.options, proxy_mode=True):
            statuses = [self._get(f"guess-{index}", address=ATTACKER).status_code for index in range(300)]
            self.assertEqual(statuses[:20], [401] * 20, "the first failures are answered")
            self.assertEqual(set(statuses[20:]), {429}, "then the address is throttled")
            throttled = self._get(key, address=ATTACKER)
            self.assertEqual(throttled.status_code, 429, "even the right key, from the throttled address")
            self.assertTrue(throttled.headers["Retry-After"].isdigit())
            self.assertEqual(self._get(key).status_code, 200, "the helpdesk's own address is not slowed down")
        failures = self.env["integration.counter"]._get("auth_failures", backend=self.backend, label="billing_context")
        self.assertEqual(failures, 20, "failed authentications are counted per backend")

    @mute_logger(CONTROLLER_LOGGER)
    def test_billing_context_key_rotates_with_a_previous_key(self):
        old = self.backend.sudo().api_key
        refused = self.json2("manager", "integration.backend", "action_rotate_helpdesk_api_key", ids=self.backend.ids)
        self.assertTrue(refused.refused, refused)
        answer = self.json2("system", "integration.backend", "action_rotate_helpdesk_api_key", ids=self.backend.ids)
        self.assertTrue(answer.ok, answer)
        self.backend.invalidate_recordset()
        new = self.backend.sudo().api_key
        self.assertNotEqual(new, old)
        self.assertEqual(self.backend.sudo().helpdesk_api_key_previous, old)
        self.assertEqual(self._get(new).status_code, 200)
        self.assertEqual(self._get(old).status_code, 200, "the helpdesk has time to switch")
        self.backend.sudo().helpdesk_api_key_previous = False
        self.assertEqual(self._get(old).status_code, 401)

    def test_hole3_the_helpdesk_api_token_does_not_follow_a_managers_url(self):
        self.backend.sudo().write({"api_url": "https://acme.zendesk.com", "helpdesk_api_token": "zd-agent-token-123"})
        answer = self.json2(
            "manager",
            "integration.backend",
            "write",
            ids=self.backend.ids,
            vals={"api_url": "https://evil.zendesk.com"},
        )
        self.assertTrue(answer.ok, answer)
        backend = self.backend.sudo()
        backend.invalidate_recordset()
        self.assertFalse(backend.helpdesk_api_token, "the token sent to the helpdesk's API was cleared")
        self.assertTrue(backend.api_key, "the billing-context key is never sent anywhere: it stays")
