"""What the fault run breaks and the outbound target it pushes to.

:class:`FlakyServer` is the suite's local HTTP test server answering so that
some calls fail (503) and some time out; :class:`Saboteur` kills processes of the node (a jobs
worker, a whole ingest process, the active job runner) and restarts
PostgreSQL.
"""

import contextlib
import os
import random
import signal
import threading
import time

import psycopg2
from env import log
from http_server import LocalHttpServer


class FlakyServer:
    """The outbound target: fails some calls, times out on some.

    ``calls`` lists ``(idempotency key, status)``; ``status`` is 200, 503 or
    ``"timeout"`` (answered 200 after the client gave up).
    """

    def __init__(self, fail_rate, timeout_rate, delay, seed):
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.calls = []

        def respond(_method, _path, headers, _body):
            key = headers.get("Idempotency-Key") or headers.get("webhook-id") or ""
            with self.lock:
                roll = self.rng.random()
            if roll < timeout_rate:
                status = "timeout"
                time.sleep(delay)
            elif roll < timeout_rate + fail_rate:
                status = 503
            else:
                status = 200
            with self.lock:
                self.calls.append((key, status))
            return (200, {}, {"ok": True}) if status in (200, "timeout") else (503, {}, {"error": "flaky"})

        self.server = LocalHttpServer(respond)
        self.url = f"{self.server.url}/hook"

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)


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
