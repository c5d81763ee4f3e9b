import json
from datetime import UTC, datetime
from pathlib import Path

from odoo import Command

from odoo.addons.integration_base.tests.common import IntegrationCaseMixin

from ..zendesk import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

DATA = Path(__file__).parent / "data"
SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
OLD_SECRET = "b2xkX3NpZ25pbmdfc2VjcmV0X2JlaW5nX3JvdGF0ZWQ="


def fixture(name):
    return json.loads((DATA / name).read_text())


def zendesk_timestamp(moment=None):
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZendeskCaseMixin(IntegrationCaseMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        # accounting test classes run as their own user: make it configure integrations
        cls.env.user.sudo().group_ids = [
            Command.link(cls.env.ref("base.group_system").id),
            Command.link(cls.env.ref("integration_base.group_integration_manager").id),
        ]
        cls.backend = cls._create_backend(
            "zendesk", name="Zendesk support", webhook_secret=SECRET, api_key="zd-billing-context-key-4f1e9a7c"
        )

    @staticmethod
    def _signed_headers(body, secret=SECRET, timestamp=None):
        timestamp = timestamp or zendesk_timestamp()
        return {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
