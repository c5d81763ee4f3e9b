"""Checks of a running node from outside, through its edge (``setup/smoke``
runs them on a throwaway ``setup/run``; they work on any running node)::

    ~/.cache/odoo-integration/venv/bin/python tools/edge_check.py --url http://127.0.0.1:8069 \\
        --db integration --run-dir ~/.cache/odoo-integration/run-integration

Each check prints one line; the last line is ``N passed, N failed``.

* the web client in a real browser (headless Chromium, logged in): its bus
  opens ``/websocket`` through the edge (101 in the edge's log) and no Odoo
  log has a websocket error (or any ERROR / traceback);
* ``/queue_job/`` answers 404 from the edge, ``/websocket`` reaches the
  gevent port (Odoo's own 400 to a handshake without Origin, not nginx's);
* webhook bodies over the bound get 413, with Content-Length or chunked;
* forwarded headers: a client at 127.0.0.2 is 127.0.0.2 in Odoo's log
  (proxy_mode), not the edge's 127.0.0.1;
* throttling (when the node runs with small rates, as setup/smoke does): 429
  with Retry-After per webhook reference, then per client address;
* the ingest pool stopped (``supervisorctl stop``): webhooks get 503 with
  Retry-After, never 404 or a reset; people's pages still answer.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests
import websocket

RESULTS = []


def check(name):
    def wrap(func):
        def run(*args):
            try:
                detail = func(*args)
                RESULTS.append(True)
                print(f"PASS {name}{': ' + detail if detail else ''}", flush=True)
            except Exception as exc:
                RESULTS.append(False)
                print(f"FAIL {name}: {exc.__class__.__name__}: {exc}", flush=True)

        return run

    return wrap


def raw_request(url, data, source="127.0.0.1", timeout=15):
    """Send bytes as they are (chunked bodies, odd headers); return (status, headers, body)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout, source_address=(source, 0)) as sock:
        sock.sendall(data)
        chunks = []
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    answer = b"".join(chunks)
    if not answer:
        raise AssertionError("no answer (connection closed or reset)")
    head, _sep, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


class Node:
    def __init__(self, args):
        self.url = args.url.rstrip("/")
        self.db = args.db
        self.run_dir = Path(args.run_dir)
        self.supervisorctl = args.supervisorctl
        self.session = requests.Session()

    def login(self):
        answer = self.session.post(
            f"{self.url}/web/session/authenticate",
            json={"jsonrpc": "2.0", "params": {"db": self.db, "login": "admin", "password": "admin"}},
            timeout=60,
        ).json()
        if answer.get("error"):
            raise RuntimeError(answer["error"])
        return self.session.cookies["session_id"]

    def ctl(self, *args):
        return subprocess.run(
            [self.supervisorctl, "-c", str(self.run_dir / "supervisord.conf"), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        ).stdout

    def log(self, name):
        path = self.run_dir / "log" / name
        return path.read_text(errors="replace") if path.exists() else ""

    def gevent_ports(self):
        conf = (self.run_dir / "integration.conf").read_text()
        block = re.search(r"upstream integration_websocket \{(.*?)\}", conf, flags=re.S)[1]
        return {int(port) for port in re.findall(r"server [\d.]+:(\d+)", block)}

    def websocket_connections(self):
        """Established connections to a web process's gevent port (only websockets stay open)."""
        out = subprocess.run(["ss", "-Htn", "state", "established"], capture_output=True, text=True, check=False)
        ports = self.gevent_ports()
        return [
            line
            for line in out.stdout.splitlines()
            if any(re.search(rf"127\.0\.0\.1:{port}(\s|$)", line) for port in ports)
        ]

    def odoo_logs(self):
        return {p.name: p.read_text(errors="replace") for p in (self.run_dir / "log").glob("*-[0-9].log")}


# ----------------------------------------------------------------------
# A person: the web client in headless Chromium
# ----------------------------------------------------------------------
class Browser:
    """Headless Chromium driven through the DevTools protocol."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="edge-check-chromium-")
        binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if not binary:
            raise RuntimeError("no chromium found (setup/install installs it)")
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        targets = requests.get(f"http://127.0.0.1:{port}/json", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result")

    def close(self):
        with contextlib.suppress(Exception):
            self.ws.close()
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        if self.proc.poll() is None:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


@check("a person's web client opens /websocket through the edge, no websocket error in the logs")
def check_browser(node):
    session_id = node.login()
    access_before = len(node.log("edge-access.log").splitlines())
    browser = Browser()
    try:
        browser.send("Network.enable")
        browser.send("Network.setCookie", name="session_id", value=session_id, url=node.url)
        browser.send("Page.enable")
        browser.send("Page.navigate", url=f"{node.url}/odoo")
        # the web client loads (a fresh database builds its asset bundles
        # first), then its bus worker opens /websocket: the edge then holds
        # a connection to a gevent port
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not node.websocket_connections():
            time.sleep(1)
        connected = bool(node.websocket_connections())
        time.sleep(3)  # let the bus subscribe: errors would show now
        where = "document.title + ' at ' + location.pathname"
        title = browser.send("Runtime.evaluate", expression=where)["result"].get("value")
    finally:
        browser.close()
    # nginx logs a websocket when it closes: the browser is gone now
    deadline = time.monotonic() + 30
    upgraded = []
    while time.monotonic() < deadline and not upgraded:
        lines = node.log("edge-access.log").splitlines()[access_before:]
        upgraded = [line for line in lines if '"GET /websocket' in line and '" 101 ' in line]
        time.sleep(1)
    if not upgraded:
        raise AssertionError(
            f"no 101 for /websocket in edge-access.log (page {title!r}, websocket connection seen: {connected}); "
            f"last lines: {lines[-3:]}"
        )
    failed = [line for line in lines if re.search(r'" 5\d\d ', line)]
    if failed:
        raise AssertionError(f"{len(failed)} page requests failed at the edge: {failed[0][:300]}")
    for name, text in node.odoo_logs().items():
        if "Couldn't bind the websocket" in text:
            raise AssertionError(f"{name}: Couldn't bind the websocket")
        bad = [line for line in text.splitlines() if re.search(r" (ERROR|CRITICAL) |Traceback", line)]
        if bad:
            raise AssertionError(f"{name}: {bad[0][:300]}")
    return f"page {title!r}, {upgraded[0].split(' up=')[1]}"


# ----------------------------------------------------------------------
# Routing and bounds
# ----------------------------------------------------------------------
@check("/queue_job/ is refused by the edge (404), the job runner's route never public")
def check_queue_job(node):
    for path in ("/queue_job/runjob?job_uuid=x", "/queue_job/session", "/queue_job/"):
        response = requests.get(f"{node.url}{path}", timeout=10)
        assert response.status_code == 404, f"{path}: {response.status_code}"
        assert "nginx" in response.headers.get("Server", ""), f"{path}: answered by {response.headers.get('Server')}"


@check("/websocket reaches Odoo's gevent port")
def check_websocket_route(node):
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    host = urlsplit(node.url).netloc
    request = (
        f"GET /websocket HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        f"Origin: {node.url}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    ).encode()
    deadline = time.monotonic() + 60  # the gevent process starts after the HTTP workers
    while True:
        status, _headers, body = raw_request(node.url, request, timeout=5)
        if status != 503 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert status == 101, f"{status} {body[:200]!r}"
    return "101 Switching Protocols"


def webhook_url(node, reference="edge-check-unknown"):
    return f"{node.url}/integration/webhook/{reference}"


@check("a webhook body over the bound gets 413 (Content-Length and chunked)")
def check_body_bound(node):
    big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    response = requests.post(webhook_url(node), data=big, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413, f"Content-Length: {response.status_code}"
    host = urlsplit(node.url).netloc
    chunk = b" " * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(40)) + b"0\r\n\r\n"
    head = (
        f"POST /integration/webhook/edge-check-unknown HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        status, _h, _b = raw_request(node.url, head + body)
    assert status == 413, f"chunked: {status}"
    return "2 MiB both ways"


@check("forwarded headers: Odoo sees the client's address, not the edge's (proxy_mode)")
def check_forwarded(node):
    marker = f"/web/login?edge_check={uuid.uuid4().hex}"
    host = urlsplit(node.url).netloc
    status, _h, _b = raw_request(
        node.url, f"GET {marker} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode(), source="127.0.0.2"
    )
    assert status == 200, status
    time.sleep(1)
    lines = [line for text in node.odoo_logs().values() for line in text.splitlines() if marker in line]
    assert lines, "the request is not in the web process's log"
    assert "127.0.0.2" in lines[0], lines[0]
    return "127.0.0.2 in Odoo's log"


@check("throttling: 429 with Retry-After per webhook reference, then per client address")
def check_throttle(node, ref_burst, address_burst):
    def post(reference):
        return requests.post(webhook_url(node, reference), data=b"{}", headers={"Content-Type": "application/json"})

    answers = [post("edge-check-throttled") for _ in range(ref_burst + 5)]
    throttled = [r for r in answers if r.status_code == 429]
    assert throttled, f"no 429 after {len(answers)} posts to one reference: {[r.status_code for r in answers]}"
    assert all(r.headers.get("Retry-After") for r in throttled), "429 without Retry-After"
    time.sleep(3)
    answers = [post(f"edge-check-{k}") for k in range(address_burst + 5)]
    throttled = [r for r in answers if r.status_code == 429]
    assert throttled, f"no 429 after {len(answers)} posts from one address"
    return f"Retry-After: {throttled[0].headers['Retry-After']}"


@check("ingest pool down: webhooks get 503 with Retry-After (not 404, no reset); people still served")
def check_pool_down(node):
    names = re.findall(r"^(ingest-\d+)", node.ctl("status"), flags=re.M)
    assert names, "no ingest process under supervisord"
    node.ctl("stop", *names)
    try:
        response = requests.post(webhook_url(node), data=b"{}", headers={"Content-Type": "application/json"})
        assert response.status_code == 503, f"{response.status_code} {response.text[:200]}"
        assert response.headers.get("Retry-After"), "503 without Retry-After"
        assert requests.get(f"{node.url}/web/login", timeout=30).status_code == 200, "the web pool went down too"
    finally:
        node.ctl("start", *names)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = requests.post(webhook_url(node), data=b"{}", headers={"Content-Type": "application/json"})
        if status.status_code == 404:  # Odoo again: unknown reference
            return f"503, Retry-After {response.headers['Retry-After']}; back after a restart"
        time.sleep(1)
    raise AssertionError("the ingest pool did not come back")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", default="integration")
    cache = Path(os.environ.get("INTEGRATION_CACHE") or Path.home() / ".cache/odoo-integration")
    parser.add_argument("--run-dir", default=str(cache / "run-integration"))
    parser.add_argument("--supervisorctl", default=str(cache / "tools-venv/bin/supervisorctl"))
    parser.add_argument(
        "--throttle",
        nargs=2,
        type=int,
        metavar=("REF_BURST", "ADDRESS_BURST"),
        help="check the throttles (the node's webhook and address bursts; keep them small)",
    )
    parser.add_argument("--no-stop", action="store_true", help="skip the check that stops the ingest pool")
    args = parser.parse_args()
    node = Node(args)
    check_queue_job(node)
    check_websocket_route(node)
    check_body_bound(node)
    check_forwarded(node)
    check_browser(node)
    if args.throttle:
        time.sleep(2)
        check_throttle(node, *args.throttle)
        time.sleep(4)  # let the buckets fill again
    if not args.no_stop:
        check_pool_down(node)
    passed = sum(RESULTS)
    print(f"{passed} passed, {len(RESULTS) - passed} failed")
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
