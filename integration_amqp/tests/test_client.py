import socket
import time

from amqp import exceptions as amqp_exc

from odoo.tests import BaseCase, tagged

from odoo.addons.integration_base.exceptions import PermanentError, RetryableError

from .. import amqp_client
from .tcp_proxy import TcpProxy


@tagged("post_install", "-at_install")
class TestClient(BaseCase):
    def test_parse_url(self):
        self.assertEqual(
            amqp_client.parse_url("amqp://rabbit.internal/integration%2Fprod"),
            {"host": "rabbit.internal", "port": 5672, "virtual_host": "integration/prod", "ssl": False},
        )
        self.assertEqual(amqp_client.parse_url("amqps://10.0.0.5:5999")["port"], 5999)
        self.assertEqual(amqp_client.parse_url("amqp://127.0.0.1:5672/")["virtual_host"], "/")
        for url, reason in [
            ("http://rabbit/", "amqp:// or amqps://"),
            ("amqp://user:secret@rabbit/", "own fields"),
            ("amqp:///vhost", "no host"),
            ("amqp://rabbit:99999/", "invalid port"),
            ("amqp://rabbit/?heartbeat=1", "no query string"),
            ("", "amqp:// or amqps://"),
        ]:
            with self.assertRaisesRegex(ValueError, reason):
                amqp_client.parse_url(url)

    def test_errors_are_typed(self):
        settings = amqp_client.BrokerSettings(host="127.0.0.1", port=1, io_timeout=3)
        cases = [
            (ConnectionRefusedError(111, "refused"), RetryableError, "unreachable"),
            (TimeoutError("timed out"), RetryableError, "did not answer within 3 s"),
            (amqp_exc.MessageNacked(), RetryableError, "nack"),
            (amqp_exc.AccessRefused("no"), RetryableError, "refused access"),
            (amqp_exc.PreconditionFailed("inequivalent arg 'type'"), PermanentError, "inequivalent"),
            (ValueError("bug"), PermanentError, "unexpected ValueError"),
        ]
        for exc, kind, text in cases:
            error = amqp_client.broker_error(exc, settings, "publish")
            self.assertIsInstance(error, kind)
            self.assertIn(text, error.message)

    def test_nothing_listening_is_retryable(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        settings = amqp_client.BrokerSettings(host="127.0.0.1", port=port, connect_timeout=1)
        with self.assertRaisesRegex(RetryableError, "unreachable"):
            amqp_client.Publisher(settings, "unused").publish("a.b", b"{}", message_id="m1")

    def test_a_confirm_that_never_comes_times_out(self):
        with TcpProxy() as proxy:
            settings = amqp_client.BrokerSettings(host=proxy.host, port=proxy.port, io_timeout=1)
            publisher = amqp_client.Publisher(settings, "amq.topic")  # a built-in exchange: nothing to clean up
            publisher.publish("itest.nobody", b"{}", message_id="warm")
            proxy.mode = "blackhole"
            started = time.monotonic()
            with self.assertRaisesRegex(RetryableError, "did not answer within 1 s"):
                publisher.publish("itest.nobody", b"{}", message_id="lost")
            self.assertLess(time.monotonic() - started, 5, "bounded by io_timeout, not by heartbeats")
            self.assertIsNone(publisher.connection, "the connection is dropped, the next publish opens a new one")
            proxy.mode = "pass"
            publisher.publish("itest.nobody", b"{}", message_id="lost")
            publisher.close()

    def test_a_pooled_connection_closed_while_idle_is_replaced_at_once(self):
        with TcpProxy() as proxy:
            settings = amqp_client.BrokerSettings(host=proxy.host, port=proxy.port, io_timeout=2)
            publisher = amqp_client.Publisher(settings, "amq.topic")
            publisher.publish("itest.nobody", b"{}", message_id="m1")
            proxy.drop()  # the broker restarted while the worker was idle
            time.sleep(0.2)
            publisher.publish("itest.nobody", b"{}", message_id="m2")  # no error: reconnected once
            self.assertEqual(proxy.connections, 2)
            publisher.close()
