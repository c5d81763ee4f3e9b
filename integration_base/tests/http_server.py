"""A real HTTP server on 127.0.0.1 for tests and benchmarks (no Odoo here).

The suite's tests import it through ``tests/common.py``; ``bench/`` imports
this file on its own (it needs nothing but the standard library), so that
the peers the tests and the benchmarks talk to behave the same.

``responder(method, path, headers, body)`` returns ``(status, headers,
body)``; a ``dict`` or ``list`` body is sent as JSON. ``calls`` records every
request (``method``, ``path``, ``headers``, ``body``). A responder may sleep
to simulate a slow peer: a client that gives up is not an error.
"""

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalHttpServer:
    """A threaded HTTP server answering with a scripted responder; a context manager."""

    def __init__(self, responder, host="127.0.0.1", port=0):
        self.responder = responder
        self.calls = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                call = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                with server.lock:
                    server.calls.append(call)
                status, headers, payload = server.responder(self.command, self.path, self.headers, body)
                if isinstance(payload, dict | list):
                    payload = json.dumps(payload).encode()
                    headers = dict({"Content-Type": "application/json"}, **(headers or {}))
                try:
                    self.send_response(status)
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload or b"")))
                    self.end_headers()
                    self.wfile.write(payload or b"")
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up (timeout tests): nothing to answer

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def json_calls(self):
        return [json.loads(call["body"]) for call in self.calls if call["body"]]


@contextmanager
def local_http_server(responder):
    with LocalHttpServer(responder) as server:
        yield server
