"""Shared machinery of the benchmarks: a private PostgreSQL cluster, an Odoo
started with the README's run command, signed events, load generation and
statistics.

How a benchmark runs
--------------------
1. :class:`PgCluster` makes sure a private PostgreSQL cluster answers (under
   ``$INTEGRATION_CACHE/bench-pg``, port ``BENCH_PGPORT`` 55439): the
   benchmarks may restart it or fill it with a million rows without
   disturbing anybody else's databases.
2. :func:`template_db` keeps a database ``bench_template`` with the five
   addons and ``integration_bench_floor`` installed (``setup/run ... -i
   integration_bench_floor --stop-after-init``, once, and again when the code
   changed); every run copies it (``CREATE DATABASE ... TEMPLATE``, seconds).
3. :class:`OdooServer` starts ``bash setup/run`` on that copy with the bench
   addons path, the workers and the job capacity asked for, waits until it
   answers, and stops its process group at the end. Nothing here touches a
   process it did not start.
"""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg2

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
CACHE = Path(
    os.environ.get("INTEGRATION_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "odoo-integration"
)
ODOO_VENV = Path(os.environ.get("INTEGRATION_VENV") or CACHE / "venv")
RESULTS = Path(os.environ.get("BENCH_RESULTS") or CACHE / "bench-results")
# as root the cluster belongs to 'postgres', who cannot enter /root: keep it in its home
PG_DIR = Path(
    os.environ.get("BENCH_PGDATA")
    or (Path("/var/lib/postgresql/odoo-integration-bench") if os.geteuid() == 0 else CACHE / "bench-pg")
)
PG_PORT = int(os.environ.get("BENCH_PGPORT") or 55439)
PG_HOST = "127.0.0.1"
TEMPLATE_DB = "bench_template"
ADDONS = "integration_base,integration_stripe,integration_crm,integration_helpdesk,integration_monitoring"
SECRET = "whsec_" + base64.b64encode(b"bench-secret-bench-secret-bench!").decode()
STRIPE_SECRET = "whsec_benchstripesecret0123456789abcdef"


def log(*args):
    print("[bench]", *args, file=sys.stderr, flush=True)


def odoo_source():
    path = CACHE / "odoo-source"
    if os.environ.get("ODOO_SOURCE"):
        return Path(os.environ["ODOO_SOURCE"])
    return Path(path.read_text().strip()) if path.exists() else CACHE / "odoo-19.0"


def addons_path():
    return f"{odoo_source()}/odoo/addons,{REPO},{BENCH / 'addons'}"


def machine_info():
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gib": mem, "load": os.getloadavg()}


# ----------------------------------------------------------------------
# PostgreSQL: a private cluster of the benchmarks
# ----------------------------------------------------------------------
class PgCluster:
    """The benchmarks' own PostgreSQL cluster (created on first use)."""

    def __init__(self, datadir=PG_DIR, port=PG_PORT):
        self.datadir = Path(datadir)
        self.port = port
        bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        self.bindir = bindirs[-1] if bindirs else None
        self.user = os.environ.get("PGUSER") or os.environ.get("USER") or "root"

    def _runas(self):
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def env(self):
        return dict(os.environ, PGHOST=PG_HOST, PGPORT=str(self.port), PGUSER=self.user)

    def ready(self):
        try:
            psycopg2.connect(host=PG_HOST, port=self.port, user=self.user, dbname="postgres", connect_timeout=2).close()
            return True
        except psycopg2.OperationalError:
            return False

    def ensure(self):
        if self.ready():
            return
        if not self.bindir:
            raise SystemExit("no PostgreSQL server binaries under /usr/lib/postgresql: apt-get install postgresql")
        runas = self._runas()
        if not (self.datadir / "PG_VERSION").exists():
            log(f"creating the benchmarks' PostgreSQL cluster in {self.datadir}")
            self.datadir.mkdir(parents=True, exist_ok=True)
            if runas:
                shutil.chown(self.datadir, "postgres")
            subprocess.run(
                [*runas, f"{self.bindir}/initdb", "-D", str(self.datadir), "-A", "trust", "-U", self.user],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            with open(self.datadir / "postgresql.conf", "a") as conf:
                conf.write("\nmax_connections = 200\nshared_buffers = 512MB\n")
        self.pg_ctl("start")

    def pg_ctl(self, action, timeout=60):
        cmd = [
            *self._runas(),
            f"{self.bindir}/pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.datadir / "server.log"),
            "-w",
            "-t",
            str(timeout),
            "-o",
            f"-k /tmp -h {PG_HOST} -p {self.port}",
            action,
        ]
        if action in ("restart", "stop"):
            cmd[-1:-1] = ["-m", "fast"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=timeout + 10)

    def connect(self, dbname="postgres", autocommit=True):
        conn = psycopg2.connect(host=PG_HOST, port=self.port, user=self.user, dbname=dbname, connect_timeout=5)
        conn.autocommit = autocommit
        return conn

    def query(self, dbname, sql, args=None):
        with contextlib.closing(self.connect(dbname)) as conn, conn.cursor() as cr:
            cr.execute(sql, args)
            return cr.fetchall() if cr.description else None

    def drop(self, dbname):
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cr:
            cr.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        shutil.rmtree(CACHE / "data" / "filestore" / dbname, ignore_errors=True)
        for suffix in (".stamp",):
            with contextlib.suppress(FileNotFoundError):
                (CACHE / f"{dbname}{suffix}").unlink()
        with contextlib.suppress(FileNotFoundError):
            (CACHE / f"odoo-{dbname}.conf").unlink()


def _code_stamp():
    """The stamp setup/run keeps of the addons' code (same pipeline)."""
    out = subprocess.run(
        "find integration_* -type f ! -path '*/tests/*' ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum "
        "| sha256sum | cut -d' ' -f1",
        shell=True,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _bench_addons_stamp():
    digest = hashlib.sha256()
    for path in sorted((BENCH / "addons").rglob("*")):
        if path.is_file() and path.suffix != ".pyc":
            digest.update(str(path.relative_to(BENCH)).encode() + path.read_bytes())
    return digest.hexdigest()


def _run_env(pg, db, http_port=0, gevent_port=0, workers=0, job_capacity=0):
    env = pg.env()
    env.update(
        INTEGRATION_DB=db,
        INTEGRATION_HTTP_PORT=str(http_port or free_port()),
        INTEGRATION_GEVENT_PORT=str(gevent_port or free_port()),
        INTEGRATION_WORKERS=str(workers),
        INTEGRATION_JOB_CAPACITY=str(job_capacity),
    )
    return env


def template_db(pg):
    """Make sure ``bench_template`` has the suite and the bench addon, up to date."""
    stamp_file = CACHE / f"{TEMPLATE_DB}.bench-stamp"
    want = f"{_code_stamp()} {_bench_addons_stamp()}"
    exists = pg.query("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE_DB,))
    if exists and stamp_file.exists() and stamp_file.read_text().strip() == want:
        return
    log(f"preparing {TEMPLATE_DB} (the suite + integration_bench_floor, from scratch: a few minutes)")
    # From scratch rather than updated: setup/run's own update step does not
    # know the bench addons path.
    pg.drop(TEMPLATE_DB)
    subprocess.run(
        [
            "bash",
            str(REPO / "setup/run"),
            f"--addons-path={addons_path()}",
            "-i",
            "integration_bench_floor",
            "--stop-after-init",
            "--workers=0",
            "--log-level=warn",
        ],
        env=_run_env(pg, TEMPLATE_DB),
        check=True,
        cwd=REPO,
        timeout=1800,
    )
    pg.query(TEMPLATE_DB, "UPDATE ir_config_parameter SET value = 'http://127.0.0.1' WHERE key = 'web.base.url'")
    stamp_file.write_text(want)


def clone_db(pg, name):
    """A fresh copy of the template (database, filestore, setup/run stamp)."""
    pg.drop(name)
    with contextlib.closing(pg.connect()) as conn, conn.cursor() as cr:
        cr.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    src = CACHE / "data" / "filestore" / TEMPLATE_DB
    if src.exists():
        shutil.copytree(src, CACHE / "data" / "filestore" / name)
    shutil.copy(CACHE / f"{TEMPLATE_DB}.stamp", CACHE / f"{name}.stamp")
    return name


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------
# Odoo, started with the README's run command
# ----------------------------------------------------------------------
class OdooServer:
    """``bash setup/run`` on a benchmark database, in its own process group."""

    def __init__(self, pg, db, workers=2, job_capacity=2, http_port=None, gevent_port=None, log_level=None):
        self.pg = pg
        self.db = db
        self.workers = workers
        self.job_capacity = job_capacity
        self.http_port = http_port or int(os.environ.get("BENCH_HTTP_PORT") or 8169)
        self.gevent_port = gevent_port or int(os.environ.get("BENCH_GEVENT_PORT") or 8172)
        self.log_level = log_level
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.logfile = RESULTS / f"odoo-{db}.log"
        self.proc = None
        self.url = f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout=180, fresh_log=True):
        if fresh_log:
            with contextlib.suppress(FileNotFoundError):
                self.logfile.unlink()
        args = ["bash", str(REPO / "setup/run"), f"--addons-path={addons_path()}", f"--logfile={self.logfile}"]
        if self.log_level:
            args.append(f"--log-level={self.log_level}")
        env = _run_env(self.pg, self.db, self.http_port, self.gevent_port, self.workers, self.job_capacity)
        self._stderr = open(RESULTS / f"odoo-{self.db}.stderr", "a")  # noqa: SIM115 -- the child's, for its lifetime
        log(f"starting Odoo on {self.url} (db {self.db}, {self.workers} workers, job capacity {self.job_capacity})")
        self.proc = subprocess.Popen(
            args,
            env=env,
            cwd=REPO,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"Odoo exited ({self.proc.returncode}): see {self.logfile}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/web/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            self.stop()
            raise SystemExit(f"Odoo did not answer within {timeout}s: see {self.logfile}")
        if self.job_capacity:
            self.wait_log(r"queue job runner ready for db", timeout=60)
        return self

    def wait_log(self, pattern, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError):
                if re.search(pattern, self.logfile.read_text(errors="replace")):
                    return True
            time.sleep(0.5)
        return False

    def stop(self, timeout=60):
        if not self.proc or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def supervise(self, stop, restarts):
        """Restart Odoo when its master process exits, as systemd would.

        Odoo's prefork master checks the registries at every turn of its loop
        and exits when PostgreSQL does not answer. Meant for a thread; each
        restart is appended to ``restarts``.
        """
        while not stop.is_set():
            if self.proc and self.proc.poll() is not None:
                code = self.proc.returncode
                deadline = time.monotonic() + 120
                while not self.pg.ready() and time.monotonic() < deadline:
                    time.sleep(0.5)
                log(f"Odoo's master exited ({code}): restarting it, as a supervisor would")
                restarts.append({"t": time.time(), "exit_code": code})
                self.start(fresh_log=False)
            stop.wait(0.5)

    # -- processes -------------------------------------------------------
    def children(self):
        """PIDs of the master's living child processes."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.proc.pid:
                    pids.append(int(stat.parent.name))
        return pids

    def http_workers(self):
        """Living HTTP worker PIDs (Odoo logs ``Worker WorkerHTTP (pid) alive``)."""
        text = self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
        logged = {int(pid) for pid in re.findall(r"Worker WorkerHTTP \((\d+)\) alive", text)}
        return sorted(logged & set(self.children()))

    @staticmethod
    def peak_rss_mib(pid):
        """Peak resident memory (VmHWM) of a process, MiB."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None

    def log_count(self, pattern):
        text = self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
        return len(re.findall(pattern, text))


# ----------------------------------------------------------------------
# JSON-RPC (admin) for setting things up and for interactive probes
# ----------------------------------------------------------------------


@contextmanager
def bench_session(name, args):
    """The private cluster, a fresh copy of the template database, Odoo on it.

    Yields ``(pg, db, server)`` with Odoo started (``args.workers``,
    ``args.job_capacity``); stops Odoo and drops the copy afterwards, unless
    ``args.keep_db``.
    """
    pg = PgCluster()
    pg.ensure()
    template_db(pg)
    db = clone_db(pg, f"bench_{name}")
    server = OdooServer(pg, db, workers=args.workers, job_capacity=args.job_capacity)
    try:
        with server:
            yield pg, db, server
    finally:
        if not args.keep_db:
            pg.drop(db)


class Rpc:
    def __init__(self, url, db, login="admin", password="admin"):
        self.url, self.db, self.password = url, db, password
        self.client = httpx.Client(timeout=120)
        self.uid = self._call("common", "login", db, login, password)

    def _call(self, service, method, *args):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"service": service, "method": method, "args": list(args)},
        }
        answer = self.client.post(f"{self.url}/jsonrpc", json=payload).json()
        if answer.get("error"):
            raise RuntimeError(json.dumps(answer["error"])[:2000])
        return answer["result"]

    def __call__(self, model, method, *args, **kwargs):
        return self._call("object", "execute_kw", self.db, self.uid, self.password, model, method, list(args), kwargs)


def connector_types(pg, db):
    rows = pg.query(
        db,
        """SELECT s.value FROM ir_model_fields_selection s JOIN ir_model_fields f ON f.id = s.field_id
                           WHERE f.model = 'integration.backend' AND f.name = 'connector_type'""",
    )
    return {row[0] for row in rows}


def pick_connector(pg, db, wanted="auto"):
    """'stripe' once integration_stripe provides it, else 'canonical'."""
    available = connector_types(pg, db)
    if wanted == "auto":
        return "stripe" if "stripe" in available else "canonical"
    if wanted not in available:
        raise SystemExit(f"connector type {wanted!r} is not available (have: {', '.join(sorted(available))})")
    return wanted


def create_backend(rpc, connector, name="Bench", **vals):
    values = {
        "name": name,
        "connector_type": connector,
        "webhook_secret": STRIPE_SECRET if connector == "stripe" else SECRET,
        "retry_base_seconds": 2,
    }
    if connector == "stripe":
        # the events' objects as sent: no Stripe API here to fetch them from
        values["stripe_fetch_objects"] = ""
    values.update(vals)
    backend_id = rpc("integration.backend", "create", values)
    reference = rpc("integration.backend", "read", [backend_id], ["reference"])[0]["reference"]
    return backend_id, reference


def peer_url(rpc):
    automation = rpc("base.automation", "search_read", [("trigger", "=", "on_webhook")], ["webhook_uuid"], limit=1)
    return f"/web/hook/{automation[0]['webhook_uuid']}"


# ----------------------------------------------------------------------
# Events: Stripe events or canonical messages, correctly signed
# ----------------------------------------------------------------------
def stripe_signature(secret, payload, timestamp=None):
    timestamp = int(timestamp if timestamp is not None else time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def standard_signature(secret, msg_id, payload, timestamp=None):
    timestamp = int(timestamp if timestamp is not None else time.time())
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + payload, hashlib.sha256).digest()
    return str(timestamp), "v1," + base64.b64encode(mac).decode()


class Event:
    """One delivery: its dedup id, its body and how to sign it."""

    __slots__ = ("event_id", "kind", "body", "connector", "key")

    def __init__(self, event_id, kind, body, connector, key=None):
        self.event_id, self.kind, self.body, self.connector, self.key = event_id, kind, body, connector, key

    def headers(self, secret=None, timestamp=None):
        headers = {"Content-Type": "application/json"}
        if self.connector == "stripe":
            headers["Stripe-Signature"] = stripe_signature(secret or STRIPE_SECRET, self.body, timestamp)
        else:
            ts, sig = standard_signature(secret or SECRET, self.event_id, self.body, timestamp)
            headers.update({"webhook-id": self.event_id, "webhook-timestamp": ts, "webhook-signature": sig})
        return headers


def _iso(when):
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Lifecycles:
    """Stripe subscription lifecycles: customer, subscription, invoice
    finalized, invoice paid -- as Stripe events or as canonical messages."""

    def __init__(self, connector, run_id=None, amount_cents=2000, currency="usd"):
        self.connector = connector
        self.run = run_id or uuid.uuid4().hex[:8]
        self.amount = amount_cents
        self.currency = currency
        self.base = datetime.now(UTC) - timedelta(hours=1)

    def ids(self, n):
        tag = f"{self.run}{n:07d}"
        return {
            "cus": f"cus_{tag}",
            "sub": f"sub_{tag}",
            "in": f"in_{tag}",
            "ch": f"ch_{tag}",
            "pi": f"pi_{tag}",
            "email": f"bench-{tag}@example.com",
            "name": f"Bench Customer {tag}",
        }

    def customer(self, n, step=0):
        return self.lifecycle(n)[0] if step == 0 else None

    def lifecycle(self, n):
        i = self.ids(n)
        when = [self.base + timedelta(seconds=n % 3000, milliseconds=k * 100) for k in range(4)]
        if self.connector == "stripe":
            return self._stripe(n, i, when)
        return self._canonical(n, i, when)

    # -- canonical (Standard Webhooks) ------------------------------------
    def _canonical(self, n, i, when):
        amount = f"{self.amount / 100:.2f}"
        cur = self.currency.upper()
        day = when[2].date().isoformat()
        messages = [
            ("customer", i["cus"], {"name": i["name"], "email": i["email"], "is_company": False}),
            (
                "subscription",
                i["sub"],
                {
                    "customer_ref": i["cus"],
                    "quantity": 1,
                    "status": "active",
                    "plan": {
                        "code": "pro",
                        "name": "Pro",
                        "amount": amount,
                        "currency": cur,
                        "interval": "month",
                        "interval_count": 1,
                    },
                    "current_period_start": _iso(when[1]),
                    "current_period_end": _iso(when[1] + timedelta(days=30)),
                },
            ),
            (
                "invoice",
                i["in"],
                {
                    "customer_ref": i["cus"],
                    "subscription_ref": i["sub"],
                    "number": f"BENCH-{self.run}-{n}",
                    "status": "open",
                    "currency": cur,
                    "date": day,
                    "total": amount,
                    "lines": [{"description": "Pro plan", "quantity": 1, "unit_amount": amount, "amount": amount}],
                },
            ),
            (
                "payment",
                i["ch"],
                {
                    "customer_ref": i["cus"],
                    "invoice_ref": i["in"],
                    "amount": amount,
                    "currency": cur,
                    "date": day,
                    "status": "succeeded",
                    "method": "card",
                },
            ),
        ]
        events = []
        for k, (type_, ext, data) in enumerate(messages):
            body = {
                "type": type_,
                "schema_version": "1.0",
                "source": "bench",
                "external_id": ext,
                "occurred_at": _iso(when[k]),
                "data": data,
            }
            event_id = f"msg_{self.run}_{n:07d}_{k}"
            events.append(Event(event_id, type_, json.dumps(body, separators=(",", ":")).encode(), "canonical", ext))
        return events

    # -- Stripe events ----------------------------------------------------
    def _stripe(self, n, i, when):
        ts = [int(w.timestamp()) for w in when]
        customer = {
            "id": i["cus"],
            "object": "customer",
            "name": i["name"],
            "email": i["email"],
            "created": ts[0],
            "currency": self.currency,
            "livemode": False,
            "metadata": {},
            "address": None,
            "phone": None,
            "preferred_locales": [],
            "tax_exempt": "none",
            "invoice_prefix": i["cus"][-8:].upper(),
        }
        price = {
            "id": "price_bench_pro",
            "object": "price",
            "currency": self.currency,
            "unit_amount": self.amount,
            "recurring": {"interval": "month", "interval_count": 1},
            "product": "prod_bench_pro",
            "nickname": "Pro",
            "type": "recurring",
            "active": True,
        }
        period = {"current_period_start": ts[1], "current_period_end": ts[1] + 30 * 86400}
        subscription = {
            "id": i["sub"],
            "object": "subscription",
            "customer": i["cus"],
            "status": "active",
            "created": ts[1],
            "start_date": ts[1],
            "cancel_at_period_end": False,
            "canceled_at": None,
            "trial_end": None,
            "currency": self.currency,
            "livemode": False,
            "metadata": {},
            "items": {
                "object": "list",
                "data": [
                    {"id": f"si_{i['sub'][4:]}", "object": "subscription_item", "price": price, "quantity": 1, **period}
                ],
            },
            "quantity": 1,
            "plan": {**price, "object": "plan", "amount": self.amount, "interval": "month", "interval_count": 1},
            **period,
        }
        line = {
            "id": f"il_{i['in'][3:]}",
            "object": "line_item",
            "amount": self.amount,
            "currency": self.currency,
            "description": "1 x Pro (at $20.00 / month)",
            "quantity": 1,
            "price": price,
            "proration": False,
            "period": {"start": ts[1], "end": ts[1] + 30 * 86400},
            "subscription": i["sub"],
            "tax_amounts": [],
            "discount_amounts": [],
        }
        invoice = {
            "id": i["in"],
            "object": "invoice",
            "customer": i["cus"],
            "subscription": i["sub"],
            "number": f"BENCH-{self.run}-{n}",
            "status": "open",
            "currency": self.currency,
            "created": ts[2],
            "status_transitions": {"finalized_at": ts[2], "paid_at": None},
            "due_date": None,
            "subtotal": self.amount,
            "tax": None,
            "total": self.amount,
            "amount_due": self.amount,
            "amount_paid": 0,
            "amount_remaining": self.amount,
            "collection_method": "charge_automatically",
            "livemode": False,
            "metadata": {},
            "lines": {"object": "list", "data": [line], "has_more": False},
            "charge": None,
            "payment_intent": i["pi"],
            "paid": False,
        }
        paid = dict(
            invoice,
            status="paid",
            paid=True,
            amount_paid=self.amount,
            amount_due=self.amount,
            amount_remaining=0,
            charge=i["ch"],
            status_transitions={"finalized_at": ts[2], "paid_at": ts[3]},
        )
        objects = [
            ("customer.created", customer),
            ("customer.subscription.created", subscription),
            ("invoice.finalized", invoice),
            ("invoice.paid", paid),
        ]
        events = []
        for k, (type_, obj) in enumerate(objects):
            event_id = f"evt_{self.run}{n:07d}{k}"
            body = {
                "id": event_id,
                "object": "event",
                "api_version": "2024-06-20",
                "created": ts[k],
                "type": type_,
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "data": {"object": obj},
            }
            events.append(
                Event(
                    event_id,
                    type_.split(".")[0] if k < 3 else "payment",
                    json.dumps(body, separators=(",", ":")).encode(),
                    "stripe",
                    obj["id"],
                )
            )
        return events


# ----------------------------------------------------------------------
# Load generation and statistics
# ----------------------------------------------------------------------
def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summarize(latencies_s):
    ms = [v * 1000 for v in latencies_s]
    return {
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
        "mean_ms": statistics.fmean(ms) if ms else None,
    }


class Tally:
    """Outcomes of a series of requests."""

    def __init__(self):
        self.latencies, self.statuses, self.errors = [], {}, {}
        self.ok = 0
        self.first = self.last = None

    def add(self, status, latency, error=None):
        now = time.monotonic()
        self.first = self.first or now
        self.last = now
        if error:
            self.errors[error] = self.errors.get(error, 0) + 1
            return
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(latency)
        if 200 <= status < 300:
            self.ok += 1

    @property
    def count(self):
        return sum(self.statuses.values()) + sum(self.errors.values())

    def count_range(self, low, high):
        return sum(n for status, n in self.statuses.items() if low <= status < high)

    def report(self, elapsed):
        return {
            "sent": self.count,
            "accepted": self.ok,
            "accepted_per_s": self.ok / elapsed if elapsed else 0,
            "4xx": self.count_range(400, 500),
            "5xx": self.count_range(500, 600),
            "errors": dict(self.errors),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            **summarize(self.latencies),
        }


async def post_one(client, url, body, headers, tally, timeout=30.0):
    start = time.monotonic()
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout)
        tally.add(response.status_code, time.monotonic() - start)
        return response.status_code
    except httpx.TimeoutException:
        tally.add(None, None, "timeout")
    except httpx.HTTPError as exc:
        tally.add(None, None, exc.__class__.__name__)
    return None


async def open_loop(client, url, requests_, rate, tally, max_in_flight=512, timeout=30.0):
    """Send ``requests_`` (iterable of (body, headers-callable)) at ``rate``/s,
    without waiting for answers (an open loop: a slow server does not slow
    the sender); at most ``max_in_flight`` outstanding (the rest counted as
    ``client_saturated``)."""
    start = time.monotonic()
    tasks = set()
    for k, (body, headers) in enumerate(requests_):
        due = start + k / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(tasks) >= max_in_flight:
            tally.add(None, None, "client_saturated")
            continue
        task = asyncio.create_task(post_one(client, url, body, headers(), tally, timeout))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=timeout + 5)
    return time.monotonic() - start


async def closed_loop(client, url, requests_, concurrency, tally, timeout=30.0, deadline=None):
    """``concurrency`` senders, each posting its next request when answered."""
    iterator = iter(requests_)
    start = time.monotonic()

    async def sender():
        for body, headers in iterator:
            if deadline and time.monotonic() > deadline:
                return
            await post_one(client, url, body, headers(), tally, timeout)

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return time.monotonic() - start


def new_client(max_connections=256):
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections), timeout=30.0
    )


# ----------------------------------------------------------------------
# Database observations
# ----------------------------------------------------------------------
def event_states(pg, db, backend_id=None, direction="in"):
    sql = "SELECT state, count(*) FROM integration_event WHERE direction = %s"
    args = [direction]
    if backend_id:
        sql += " AND backend_id = %s"
        args.append(backend_id)
    return dict(pg.query(db, sql + " GROUP BY state", args))


def job_states(pg, db, channel="root.integration"):
    return dict(pg.query(db, "SELECT state, count(*) FROM queue_job WHERE channel = %s GROUP BY state", (channel,)))


def wait_drained(pg, db, timeout, backend_ids=None, poll=1.0, on_poll=None):
    """Wait until no event is queued/processing and no job is pending.

    :return: seconds waited, or None on timeout
    """
    start = time.monotonic()
    where = "AND backend_id IN %s" if backend_ids else ""
    args = (tuple(backend_ids),) if backend_ids else ()
    while time.monotonic() - start < timeout:
        try:
            busy = pg.query(
                db,
                f"SELECT count(*) FROM integration_event WHERE state IN ('received', 'queued', 'processing') {where}",
                args,
            )[0][0]
            jobs = pg.query(
                db,
                "SELECT count(*) FROM queue_job WHERE state IN ('pending', 'enqueued', 'started', 'wait_dependencies')",
            )[0][0]
        except psycopg2.OperationalError:
            busy = jobs = 1
        if on_poll:
            on_poll(busy, jobs)
        if not busy and not jobs:
            return time.monotonic() - start
        time.sleep(poll)
    return None


def job_latencies(pg, db, since=None):
    """(date_done - date_created) of the done jobs of the engine's channel, seconds."""
    rows = pg.query(
        db,
        """SELECT EXTRACT(EPOCH FROM (date_done - date_created)) FROM queue_job
                           WHERE state = 'done' AND channel = 'root.integration'""",
    )
    return [float(r[0]) for r in rows if r[0] is not None]


def save_result(name, result):
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    (RESULTS / f"{name}-latest.json").write_text(json.dumps(result, indent=1, default=str))
    log(f"results: {path}")
    return path


def header(name, args, server=None, connector=None):
    return {
        "benchmark": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "workers": getattr(server, "workers", None),
        "job_capacity": getattr(server, "job_capacity", None),
        "connector": connector,
        "args": vars(args),
        "git": os.environ.get("BENCH_GIT_REV")
        or subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
    }


def fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def rng(seed):
    return random.Random(seed)


# ----------------------------------------------------------------------
# Profiling (py-spy, sampling the Odoo workers from outside)
# ----------------------------------------------------------------------
class Profiler:
    """``py-spy record`` on some processes, collapsed stacks, while in the block."""

    def __init__(self, pids, name, rate=200):
        self.pids, self.name, self.rate = pids, name, rate
        self.procs, self.files = [], []

    def __enter__(self):
        pyspy = Path(sys.executable).parent / "py-spy"
        for pid in self.pids:
            out = RESULTS / f"profile-{self.name}-{pid}.txt"
            self.files.append(out)
            self.procs.append(
                subprocess.Popen(
                    [
                        str(pyspy),
                        "record",
                        "--pid",
                        str(pid),
                        "--format",
                        "raw",
                        "--rate",
                        str(self.rate),
                        "--output",
                        str(out),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def top(self, n=25, match=None):
        """Inclusive and self share of the samples per function, busiest first."""
        inclusive, leaf, total = {}, {}, 0
        for path in self.files:
            if not path.exists():
                continue
            for line in path.read_text(errors="replace").splitlines():
                stack, _sep, count = line.rpartition(" ")
                if not count.isdigit():
                    continue
                count = int(count)
                frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
                if any(
                    "select (selectors.py" in f or "accept (socket.py" in f or "sleep" in f.split(" ")[0]
                    for f in frames[-2:]
                ):
                    continue  # idle worker
                total += count
                for frame in set(frames):
                    inclusive[frame] = inclusive.get(frame, 0) + count
                leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
        rows = sorted(inclusive.items(), key=lambda kv: -kv[1])
        if match:
            rows = [(f, c) for f, c in rows if re.search(match, f)]
        return {
            "busy_samples": total,
            "inclusive": [(f, round(100 * c / total, 1)) for f, c in rows[:n]] if total else [],
            "self": [(f, round(100 * c / total, 1)) for f, c in sorted(leaf.items(), key=lambda kv: -kv[1])[:n]]
            if total
            else [],
        }
