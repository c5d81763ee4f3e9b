from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, tagged

from .common import AmqpCaseMixin


@tagged("post_install", "-at_install")
class TestBackend(AmqpCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._create_amqp_backend()

    def test_broker_url_is_checked(self):
        for url, reason in [
            ("http://127.0.0.1:5672/", "amqp:// or amqps://"),
            ("amqp://guest:guest@127.0.0.1/", "own fields"),
        ]:
            with self.assertRaisesRegex(ValidationError, reason):
                self.backend.amqp_url = url
        with self.assertRaisesRegex(ValidationError, "cannot exceed its prefetch"):
            self.backend.write({"amqp_prefetch": 10, "amqp_batch_size": 20})

    def test_broker_settings_are_for_system_administrators(self):
        manager = self.env["res.users"].create(
            {
                "name": "Integration manager",
                "login": "amqp-manager",
                "group_ids": [(6, 0, self.env.ref("integration_base.group_integration_manager").ids)],
            }
        )
        backend = self.backend.with_user(manager)
        self.assertTrue(backend.amqp_exchange, "the exchange and queue are the manager's")
        with self.assertRaises(AccessError):
            backend.read(["amqp_password"])
        fields = backend.fields_get()
        self.assertNotIn("amqp_url", fields, "where the broker is: system administrators only")
        self.assertNotIn("amqp_password", fields)

    def test_connection_test(self):
        result = self.backend.action_test_connection()
        self.assertIn("Connected to RabbitMQ", result["params"]["message"])
        self.proxy.mode = "refuse"
        self.addCleanup(setattr, self.proxy, "mode", "pass")
        with self.assertRaisesRegex(UserError, "Cannot reach the broker: .*unreachable"):
            self.backend.action_test_connection()
