"""A neutralized copy holds no helpdesk credential and accepts no production key."""

from odoo.modules.neutralize import neutralize_database
from odoo.tests import TransactionCase, tagged

from .common import ZendeskCaseMixin


@tagged("post_install", "-at_install")
class TestHelpdeskNeutralized(ZendeskCaseMixin, TransactionCase):
    def test_a_neutralized_copy_has_no_helpdesk_credential(self):
        self.backend.sudo().write(
            {
                "api_url": "https://acme.zendesk.com",
                "helpdesk_api_user": "agent@acme.example",
                "helpdesk_api_token": "production-zendesk-token",
                "helpdesk_api_key_previous": "production-old-billing-key",
            }
        )
        self.env.flush_all()
        neutralize_database(self.env.cr)
        self.env.invalidate_all()
        self.assertRecordValues(
            self.backend.sudo(),
            [{"api_key": False, "helpdesk_api_key_previous": False, "helpdesk_api_token": False, "api_url": False}],
        )
        self.assertFalse(self.backend._connector()._helpdesk_api_ready(self.backend))
