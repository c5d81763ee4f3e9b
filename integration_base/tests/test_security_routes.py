"""The webhook route under attack: oversized, chunked, nested, long, wrong method, no database.

Regression tests of issue 8's findings 2, 6 and 7 (route part), sent the way
an attacker or a broken sender does: raw sockets for chunked bodies, real
Standard Webhooks signatures for authentic-but-malformed requests.
"""

import json
import os
import secrets
import select
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import patch

import psycopg2
import requests
from standardwebhooks.webhooks import Webhook

from odoo.tests import BaseCase, HttpCase, tagged
from odoo.tests.common import TEST_CURSOR_COOKIE_NAME
from odoo.tools import config, mute_logger

from .common import IntegrationCaseMixin

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
ROUTE_LOGGER = "odoo.addons.integration_base.controllers.main"
MIB = 1024 * 1024


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RawResponse:
    def __init__(self, status, headers, body, sent):
        self.status, self.headers, self.body = status, headers, body
        #: request body bytes the server let us send before it answered
        self.sent = sent

    def __repr__(self):
        return f"<RawResponse {self.status} after {self.sent} bytes sent: {self.body[:200]!r}>"


def raw_request(port, method, path, headers, chunks, cookie=None, timeout=60):
    """Send a request over a plain socket, the body as given (chunked or not).

    Stops sending as soon as the server answers or closes, and returns what it
    answered and how much of the body it let through.
    """
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sent = 0
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        for chunk in chunks:
            readable, _w, _x = select.select([sock], [], [], 0)
            if readable:
                break  # the server answered before reading everything
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                part = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not part:
                break
            data += part
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep and b"content-length:" in head.lower():
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    finally:
        sock.close()
    head, _sep, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n") if head else ("", [])
    status = int(status_line.split()[1]) if len(status_line.split()) > 1 else 0
    headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
    return RawResponse(status, headers, body, sent)


def chunked(total, size=MIB):
    """``total`` bytes of body as HTTP/1.1 chunks of ``size`` (then the last chunk)."""
    block = b"a" * size
    for _index in range(total // size):
        yield f"{size:x}\r\n".encode() + block + b"\r\n"
    yield b"0\r\n\r\n"


@tagged("post_install", "-at_install")
class TestWebhookUnderAttack(IntegrationCaseMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._create_backend("canonical", name="Attacked", webhook_secret=SECRET)
        cls.url = f"/integration/webhook/{cls.backend.reference}"

    def _signed(self, body, msg_id=None):
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        now = datetime.now(UTC)
        return {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(SECRET).sign(msg_id, now, body if isinstance(body, str) else body.decode()),
        }

    def _raw(self, method, path, headers, chunks):
        self.env.flush_all()
        self.env.cr.clear()
        with self.allow_requests():
            cookie = f"{TEST_CURSOR_COOKIE_NAME}={self.opener.cookies.get(TEST_CURSOR_COOKIE_NAME)}"
            return raw_request(int(config["http_port"]), method, path, headers, chunks, cookie=cookie)

    def _stored(self):
        return self.env["integration.event"].search_count([("backend_id", "=", self.backend.id)])

    # ------------------------------------------------------------------
    # 2. bounded body reading
    # ------------------------------------------------------------------
    @mute_logger(ROUTE_LOGGER)
    def test_hole2_chunked_body_is_cut_at_the_limit(self):
        headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        for path in ("/integration/webhook/no-such-backend", self.url):
            with self.subTest(path=path):
                answer = self._raw("POST", path, headers, chunked(64 * MIB))
                self.assertEqual(answer.status, 413, answer)
                self.assertLess(answer.sent, 24 * MIB, "the server stopped reading near the limit")
        self.assertEqual(self._stored(), 0)

    @mute_logger(ROUTE_LOGGER)
    def test_hole2_chunked_form_body_is_cut_before_odoo_parses_it(self):
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"}
        answer = self._raw("POST", self.url, headers, chunked(64 * MIB))
        self.assertEqual(answer.status, 413, answer)
        self.assertLess(answer.sent, 24 * MIB)

    @mute_logger(ROUTE_LOGGER)
    def test_hole2_endless_chunk_size_line_is_refused(self):
        headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        answer = self._raw("POST", self.url, headers, (b"f" * MIB for _index in range(64)))
        self.assertIn(answer.status, (400, 413), answer)
        self.assertLess(answer.sent, 24 * MIB)

    def test_hole2_authentic_chunked_body_is_accepted(self):
        message = self._message("customer", "chunked-1", {"name": "Chunked Co"})
        body = json.dumps(message).encode()
        headers = dict(self._signed(body), **{"Transfer-Encoding": "chunked"})
        pieces = [body[:10], body[10:]]
        chunks = [f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in pieces] + [b"0\r\n\r\n"]
        answer = self._raw("POST", self.url, headers, chunks)
        self.assertEqual(answer.status, 202, answer)
        self.assertEqual(self._stored(), 1)

    # ------------------------------------------------------------------
    # 6. the database cannot be reached
    # ------------------------------------------------------------------
    def test_hole6_database_error_in_the_route_is_503(self):
        body = json.dumps(self._message("customer", "db-down-1", {"name": "Later Co"}))
        Event = type(self.env["integration.event"])
        error = psycopg2.OperationalError("server closed the connection unexpectedly")
        with patch.object(Event, "_ingest", side_effect=error), mute_logger(ROUTE_LOGGER, "odoo.http"):
            response = self.url_open(self.url, data=body.encode(), headers=self._signed(body))
        self.assertEqual(response.status_code, 503, response.text)
        self.assertTrue(response.headers.get("Retry-After", "").isdigit())

    # ------------------------------------------------------------------
    # 7. smaller leaks and 500s
    # ------------------------------------------------------------------
    def test_hole7_stored_headers_keep_only_harmless_ones(self):
        body = json.dumps(self._message("customer", "hdr-1", {"name": "Header Co"}))
        secret_headers = {
            "Private-Key": "pk-1",
            "X-Access-Key": "ak-2",
            "X-Password": "pw-3",
            "X-Session-Id": "sid-4",
            "X-Credentials": "cred-5",
            "X-Shopify-Hmac-Sha256": "hmac-6",
        }
        headers = dict(self._signed(body), **secret_headers, **{"User-Agent": "Sender/1.0"})
        response = self.url_open(self.url, data=body.encode(), headers=headers)
        self.assertEqual(response.status_code, 202, response.text)
        stored = json.loads(self.env["integration.event"].browse(response.json()["event_id"]).headers)
        for name, value in secret_headers.items():
            self.assertNotIn(value, stored.values(), name)
        self.assertEqual(stored["User-Agent"], "Sender/1.0")
        self.assertEqual(stored["Content-Type"], "application/json")

    @mute_logger(ROUTE_LOGGER)
    def test_hole7_deep_nesting_is_400(self):
        # 100: parsed, then refused; 100,000: the parser itself gives up (RecursionError, was a 500)
        for depth in (100, 100_000):
            with self.subTest(depth=depth):
                body = '{"type": "customer", "external_id": "deep", "data": ' + "[" * depth + "]" * depth + "}"
                response = self.url_open(self.url, data=body.encode(), headers=self._signed(body))
                self.assertEqual(response.status_code, 400, response.text[:300])
                self.assertIn("nested", response.json()["error"])
        self.assertEqual(self._stored(), 0)

    @mute_logger(ROUTE_LOGGER)
    def test_hole7_over_long_ids_are_400(self):
        body = json.dumps(self._message("customer", "long-1", {"name": "Long Co"}))
        response = self.url_open(
            self.url, data=body.encode(), headers=self._signed(body, msg_id=secrets.token_urlsafe(3000))
        )
        self.assertEqual(response.status_code, 400, response.text[:300])
        self.assertIn("255", response.json()["error"])
        self.assertEqual(self._stored(), 0)

    @mute_logger(ROUTE_LOGGER)
    def test_hole7_only_post_stores(self):
        body = json.dumps(self._message("customer", "options-1", {"name": "Options Co"}))
        for method in ("OPTIONS", "PUT", "PATCH", "DELETE", "GET"):
            with self.subTest(method=method):
                response = self.url_open(self.url, data=body.encode(), headers=self._signed(body), method=method)
                self.assertEqual(response.status_code, 405, response.text[:300])
        self.assertEqual(self._stored(), 0)


@tagged("post_install", "-at_install")
class TestNoDatabase(BaseCase):
    """Finding 6: Odoo started while PostgreSQL cannot be reached."""

    def test_hole6_unreachable_database_is_503_not_404(self):
        http_port, pg_port = free_port(), free_port()  # nothing listens on pg_port
        addons_path = config["addons_path"]
        if not isinstance(addons_path, str):
            addons_path = ",".join(addons_path)
        with tempfile.TemporaryDirectory() as tmp:
            logfile = Path(tmp) / "odoo.log"
            command = [
                sys.executable, "-m", "odoo", "server", f"--addons-path={addons_path}",
                "--db_host=127.0.0.1", f"--db_port={pg_port}", "--db-filter=.*",
                f"--http-port={http_port}", "--http-interface=127.0.0.1", "--workers=0", "--max-cron-threads=0",
                "--load=base,web,integration_base", f"--data-dir={tmp}", f"--logfile={logfile}",
            ]  # fmt: skip
            env = dict(os.environ, PGPORT=str(pg_port))
            server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                base = f"http://127.0.0.1:{http_port}"
                self._wait_for(base, server, logfile)
                answers = {
                    "webhook": requests.post(
                        f"{base}/integration/webhook/some-reference",
                        data=b"{}",
                        headers={"Content-Type": "application/json"},
                        timeout=10,
                    ),
                    "billing context": requests.get(
                        f"{base}/integration/helpdesk/some-reference/billing-context?email=a@example.com", timeout=10
                    ),
                    "metrics": requests.get(f"{base}/integration/metrics", timeout=10),
                    "health": requests.get(f"{base}/integration/health", timeout=10),
                }
            finally:
                server.terminate()
                server.wait(timeout=30)
        for name, response in answers.items():
            with self.subTest(route=name):
                self.assertEqual(response.status_code, 503, response.text[:300])
                self.assertTrue(response.headers.get("Retry-After", "").isdigit())

    def _wait_for(self, base, server, logfile):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                self.fail(f"Odoo exited: {logfile.read_text() if logfile.exists() else ''}")
            try:
                requests.get(f"{base}/web/webclient/version_info", timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.5)
        self.fail("Odoo did not start in 60 s")
