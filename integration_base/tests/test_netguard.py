"""Pure guards: destinations, bounded bodies, redaction, the access log (no ORM)."""

import io
import ipaddress
import logging
import socket
from unittest.mock import patch

from odoo.tests import BaseCase, tagged

from ..body import BodyTooLarge, MalformedBody, json_depth_exceeds, read_bounded
from ..logfilter import AccessLogFilter, redact_path
from ..netguard import (
    BlockedDestination,
    GuardedHTTPSConnection,
    GuardedSession,
    OutboundPolicy,
    guarded,
    parse_allow_list,
)
from ..redact import changed_paths, remote_excerpt, sanitize_text


class FakeResponse:
    def __init__(self, content, content_type):
        self.content = content
        self.headers = {"Content-Type": content_type}


@tagged("post_install", "-at_install")
class TestNetguard(BaseCase):
    def test_urls(self):
        stripe = OutboundPolicy(hosts=("api.stripe.com",))
        self.assertEqual(stripe.check_url("https://api.stripe.com/v1"), ("api.stripe.com", 443))
        refused = {
            "http://api.stripe.com": "only https",
            "https://evil.example.com": "not a host this connector talks to",
            "https://user:pw@api.stripe.com": "user name",
            "file:///etc/passwd": "not an http",
            "gopher://api.stripe.com": "not an http",
        }
        for url, reason in refused.items():
            with self.subTest(url=url), self.assertRaisesRegex(BlockedDestination, reason):
                stripe.check_url(url)
        anywhere = OutboundPolicy()
        for url in ("https://127.0.0.1/", "https://[::1]/", "https://169.254.169.254/", "https://[::ffff:10.0.0.1]/"):
            with self.subTest(url=url), self.assertRaisesRegex(BlockedDestination, "address"):
                anywhere.check_url(url)
        self.assertEqual(anywhere.check_url("https://hooks.example.com/x"), ("hooks.example.com", 443))

    def test_allow_list(self):
        entries = parse_allow_list("localhost:8420, 10.1.0.0/16 billing.internal [::1]:9000")
        policy = OutboundPolicy(hosts=("api.stripe.com",), allowed=entries)
        self.assertEqual(policy.check_url("http://localhost:8420/v1"), ("localhost", 8420))
        self.assertEqual(policy.check_url("http://billing.internal/"), ("billing.internal", 80))
        self.assertEqual(policy.check_url("http://10.1.2.3:8080/"), ("10.1.2.3", 8080))
        self.assertEqual(policy.check_url("http://[::1]:9000/"), ("::1", 9000))
        with self.assertRaises(BlockedDestination):
            policy.check_url("http://localhost:8421/")  # another port
        policy.check_address("billing.internal", 80, ipaddress.ip_address("10.9.9.9"))  # the name is allowed
        with self.assertRaises(BlockedDestination):
            policy.check_address("api.example.com", 443, ipaddress.ip_address("10.9.9.9"))

    def test_a_name_resolving_to_a_private_address_is_refused_at_connect(self):
        # what the connection of every guarded session does: resolve, check, connect to the checked address
        rebinding = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 443))]
        connection = GuardedHTTPSConnection("api.example.com", 443, timeout=2)
        with (
            guarded(OutboundPolicy()),
            patch("socket.getaddrinfo", return_value=rebinding),
            patch("urllib3.util.connection.create_connection") as connect,
            self.assertRaisesRegex(BlockedDestination, r"api\.example\.com \(169\.254\.169\.254\) is a link-local"),
        ):
            connection._new_conn()
        connect.assert_not_called()
        self.assertIsNone(GuardedSession().get_redirect_target(None), "redirects are never followed")

    def test_bounded_body(self):
        chunked = b"4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\n\r\n"
        from werkzeug.serving import DechunkedInput

        environ = {"wsgi.input": DechunkedInput(io.BytesIO(chunked)), "wsgi.input_terminated": True}
        self.assertEqual(read_bounded(environ, 7), b"abcdefg")
        self.assertEqual(read_bounded(environ, 7), b"abcdefg", "read once, then cached")
        with self.assertRaises(BodyTooLarge):
            read_bounded({"wsgi.input": DechunkedInput(io.BytesIO(chunked)), "wsgi.input_terminated": True}, 6)
        with self.assertRaises(MalformedBody):
            read_bounded({"wsgi.input": DechunkedInput(io.BytesIO(b"f" * 5000)), "wsgi.input_terminated": True}, 10)
        with self.assertRaises(BodyTooLarge):
            read_bounded({"wsgi.input": io.BytesIO(b"x" * 20), "CONTENT_LENGTH": "20"}, 10)
        self.assertEqual(read_bounded({"wsgi.input": io.BytesIO(b"xyz"), "CONTENT_LENGTH": "3"}, 10), b"xyz")

    def test_json_depth(self):
        self.assertFalse(json_depth_exceeds({"a": [{"b": [1, 2]}]}, 4))
        self.assertTrue(json_depth_exceeds({"a": [{"b": [[1]]}]}, 4))

    def test_redaction(self):
        self.assertEqual(
            sanitize_text("token sk_live_abcdefghij12\x00 and Bearer abcdefghijkl", secrets=["hunter22"]),
            "token *** and ***",
        )
        self.assertIn("not shown", remote_excerpt(FakeResponse(b"<html>secret</html>", "text/html")))
        self.assertEqual(remote_excerpt(FakeResponse(b'{"message": "bad"}', "application/json")), '{"message":"bad"}')
        self.assertLessEqual(len(remote_excerpt(FakeResponse(b"x" * 5000, "text/plain"))), 200)
        self.assertEqual(changed_paths({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}, "d": 4}), ["/b/c", "/d"])

    def test_access_log_keeps_a_prefix_of_the_reference(self):
        self.assertEqual(
            redact_path('"POST /integration/webhook/AbCdEfGhIjKlMnOp HTTP/1.1" 202 -'),
            '"POST /integration/webhook/AbCdEf… HTTP/1.1" 202 -',
        )
        self.assertEqual(
            redact_path("GET /integration/helpdesk/Secret123456/billing-context?email=jane@example.com HTTP/1.1"),
            "GET /integration/helpdesk/Secret…/billing-context?… HTTP/1.1",
        )
        record = logging.LogRecord(
            "werkzeug",
            logging.INFO,
            "",
            0,
            '%s - - "%s" %s',
            ("127.0.0.1", "POST /integration/webhook/AbCdEfGhIj HTTP/1.1", "202"),
            None,
        )
        AccessLogFilter().filter(record)
        self.assertNotIn("GhIj", record.getMessage())
        self.assertIn(AccessLogFilter, [type(item) for item in logging.getLogger("werkzeug").filters])
