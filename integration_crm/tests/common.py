import json
import time
from pathlib import Path

from odoo import Command

from odoo.addons.integration_base.tests.common import IntegrationCaseMixin

from ..hubspot import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from ..snapshots import SNAPSHOTS
from .hubspot_api import HubspotApi

DATA = Path(__file__).parent / "data"
CLIENT_SECRET = "3a7e12c4-5f9b-4d8e-a1b2-c3d4e5f6a7b8"
API_TOKEN = "pat-eu1-4f1e9a7c-0000-4bde-9a55-hubspot-test"


def fixture(name):
    return json.loads((DATA / name).read_text())


class HubspotCaseMixin(IntegrationCaseMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        # whoever runs the test configures integrations (the accounting tests' user too)
        groups = ("integration_base.group_integration_manager", "base.group_system", "sales_team.group_sale_manager")
        cls.env.user.sudo().group_ids = [Command.link(cls.env.ref(group).id) for group in groups]
        cls.backend = cls._create_backend(
            "hubspot", name="HubSpot CRM", webhook_secret=CLIENT_SECRET, api_key=API_TOKEN, max_attempts=3
        )
        SNAPSHOTS.clear()

    @staticmethod
    def _signed_headers(url, body, secret=CLIENT_SECRET, timestamp_ms=None, method="POST"):
        timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        return {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, method, url, body, timestamp),
        }

    @staticmethod
    def hubspot_api(*objects):
        """A local HubSpot CRM API serving ``(path, object)`` pairs (``tests/hubspot_api.py``)."""
        api = HubspotApi()
        for path, obj in objects:
            api.add(path, obj)
        return api

    def _ingest_items(self, items):
        """What the webhook route does with HubSpot items once verified: store each once, enqueue."""
        connector = self.backend._connector()
        events = self.env["integration.event"]
        for item in items:
            identity = connector._webhook_identity(self.backend, item, {})
            events |= self.env["integration.event"]._ingest(self.backend, identity, json.dumps(item, sort_keys=True))[0]
        return events

    def _bound(self, kind, object_id):
        canonical_type = "crm_deal" if kind == "deal" else "customer"
        return self.env["integration.binding"]._find_record(self.backend, canonical_type, f"{kind}:{object_id}")

    def _events_of(self, backend, event_type):
        return self._events(backend).filtered(lambda event: event.event_type == event_type)
