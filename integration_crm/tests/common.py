import json
import time
from pathlib import Path
from urllib.parse import urlsplit

from odoo.addons.integration_base.tests.common import IntegrationCaseMixin

from ..hubspot import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

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
        cls.backend = cls._create_backend(
            "hubspot", name="HubSpot CRM", webhook_secret=CLIENT_SECRET, api_key=API_TOKEN, max_attempts=3
        )

    @staticmethod
    def _signed_headers(url, body, secret=CLIENT_SECRET, timestamp_ms=None, method="POST"):
        timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        return {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, method, url, body, timestamp),
        }

    @staticmethod
    def crm_api(objects):
        """A responder serving HubSpot's CRM objects API.

        :param objects: ``{(object path, id): (status, JSON body)}``; other
            objects answer 404 as HubSpot does
        """

        def responder(method, path, headers, body):
            parts = urlsplit(path).path.strip("/").split("/")
            if method == "GET" and parts[:3] == ["crm", "v3", "objects"] and len(parts) == 5:
                status, answer = objects.get(
                    (parts[3], parts[4]), (404, {"status": "error", "category": "OBJECT_NOT_FOUND"})
                )
                return status, {}, answer
            return 400, {}, {"status": "error", "message": f"unexpected {method} {path}"}

        return responder
