import json
import time

from odoo.addons.integration_base.tests.common import IntegrationCaseMixin, new_id

from ..models.integration_connector_test import sign

SECRET = "test-secret-current"
OLD_SECRET = "test-secret-previous"


class TestConnectorMixin(IntegrationCaseMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.backend = cls._create_backend("test", name="Test system", webhook_secret=SECRET, max_attempts=3)

    @staticmethod
    def _event_payload(messages=(), type_="thing.updated", event_id=None, created=None, **extra):
        payload = {
            "id": event_id or new_id(),
            "type": type_,
            "created": created or int(time.time()),
            "messages": list(messages),
        }
        payload.update(extra)
        return payload

    @staticmethod
    def _body(payload):
        return json.dumps(payload).encode()

    @staticmethod
    def _signature(body, secret=SECRET, timestamp=None):
        return sign(secret, body, timestamp)

    def _ingest(self, payload, backend=None):
        """What the route does after its checks: store once, enqueue."""
        backend = backend or self.backend
        connector = backend._connector()
        identity = connector._webhook_identity(backend, payload, {})
        return self.env["integration.event"]._ingest(backend, identity, json.dumps(payload), headers={})

    def _customer(self, external_id, name="Acme", occurred_at=None, **data):
        return self._message("customer", external_id, dict({"name": name}, **data), occurred_at=occurred_at)
