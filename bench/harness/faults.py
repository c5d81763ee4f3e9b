"""What the fault run breaks and the outbound target it pushes to.

:class:`FlakyServer` is a local HTTP server that fails some calls (503) and
times out on some; :class:`Saboteur` kills processes of the node (a jobs
worker, a whole ingest process, the active job runner) and restarts
PostgreSQL.
"""

import contextlib
import os
import random
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
from env import log


class FlakyServer:
    """The outbound target: fails some calls, times out on some."""

    def __init__(self, fail_rate, timeout_rate, delay, seed):
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.calls = []  # (idempotency key, status)
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                key = self.headers.get("Idempotency-Key") or self.headers.get("webhook-id") or ""
                with flaky.lock:
                    roll = flaky.rng.random()
                if roll < timeout_rate:
                    status = "timeout"
                    time.sleep(delay)
                elif roll < timeout_rate + fail_rate:
                    status = 503
                else:
                    status = 200
                with flaky.lock:
                    flaky.calls.append((key, status))
                try:
                    code = 200 if status == "timeout" else status
                    body = b'{"ok": true}' if code == 200 else b'{"error": "flaky"}'
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class Saboteur:
    """Breaks the node on a schedule, logging what it did. Kills only
    processes of the node this benchmark started (found under its supervisor)."""

    def __init__(self, node, pg, db):
        self.node, self.pg, self.db = node, pg, db
        self.actions = []

    def _done(self, label, **what):
        self.actions.append({"t": time.time(), "action": label, **what})
        log(f"FAULT {label}: {what}")

    def kill_worker(self, label):
        """SIGKILL a jobs process's HTTP worker, preferably one running a job."""
        workers = self.node.http_workers("jobs")
        busy = []
        with contextlib.suppress(psycopg2.Error):  # the database may be restarting
            busy = [r[0] for r in self.pg.query(self.db, "SELECT worker_pid FROM queue_job WHERE state = 'started'")]
        candidates = [pid for pid in workers if pid in busy] or workers
        if not candidates:
            return self._done(label, result="no worker found")
        pid = random.choice(candidates)
        os.kill(pid, signal.SIGKILL)
        return self._done(label, pid=pid, was_running_a_job=pid in busy)

    def kill_upstream(self, label, role="ingest"):
        """SIGKILL an Odoo process of the edge's pool, master and workers at once."""
        masters = self.node.masters(role)
        if not masters:
            return self._done(label, result=f"no {role} process found")
        name, pid = sorted(masters.items())[0]
        pids = [pid, *self.node.children(pid)]
        for victim in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        return self._done(label, process=name, pids=pids)

    def kill_runner(self, label):
        """SIGKILL the active job runner; time until a runner holds the lock again."""
        active = self.node.active_runner()
        if not active:
            return self._done(label, result="no active runner found")
        name, pid = active
        start = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        successor = None
        while time.monotonic() - start < 120:
            with contextlib.suppress(psycopg2.Error):
                successor = self.node.active_runner()
            if successor and successor[1] != pid:
                break
            time.sleep(0.2)
        return self._done(
            label,
            killed=name,
            pid=pid,
            taken_over_by=successor and successor[0],
            takeover_seconds=round(time.monotonic() - start, 1) if successor else None,
        )

    def restart_pg(self, label):
        start = time.monotonic()
        self.pg.pg_ctl("restart")
        return self._done(label, seconds=round(time.monotonic() - start, 2))
