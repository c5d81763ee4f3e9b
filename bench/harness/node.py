"""A node of the suite, started with the README's run command.

:class:`Node` runs ``bash setup/run`` on a benchmark database: the edge
(nginx) on ``BENCH_HTTP_PORT`` (8169), the web, ingest and jobs Odoo
processes and the job runners on ports from ``BENCH_PORT_BASE`` (18500), all
under setup/run's supervisor, which restarts any process that exits. The
process counts and workers per role come from the command line
(:func:`add_node_args`). It finds its processes under that supervisor
(``/proc``), never touches a process it did not start, and stops the whole
node at the end.

:func:`template_db` keeps ``bench_template`` with the five addons and
``integration_bench_floor`` installed (``setup/run -i integration_bench_floor
--stop-after-init``, once, and again when the code changed); every run copies
it (:func:`clone_db`, ``CREATE DATABASE ... TEMPLATE``, seconds).
"""

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from env import BENCH, CACHE, REPO, RESULTS, log
from pg import PgCluster

# BENCH_TEMPLATE_DB: another name when several checkouts share the machine's
# benchmark cluster (each would rebuild the template for its own code)
TEMPLATE_DB = os.environ.get("BENCH_TEMPLATE_DB") or "bench_template"
RUNNER_LOCK = 2293787760715711918  # queue_job's PG_ADVISORY_LOCK_ID (jobrunner/runner.py)
ROLE_OFFSET = {"web": 100, "ingest": 200, "jobs": 300}  # setup/roles.py's port layout
EDGE_SETTINGS = {
    "edge_webhook_rate": "INTEGRATION_EDGE_WEBHOOK_RATE",
    "edge_webhook_burst": "INTEGRATION_EDGE_WEBHOOK_BURST",
    "edge_address_rate": "INTEGRATION_EDGE_ADDRESS_RATE",
    "edge_address_burst": "INTEGRATION_EDGE_ADDRESS_BURST",
    "edge_people_rate": "INTEGRATION_EDGE_PEOPLE_RATE",
    "edge_people_burst": "INTEGRATION_EDGE_PEOPLE_BURST",
    "edge_queue": "INTEGRATION_EDGE_QUEUE",
}


def add_node_args(parser, job_capacity=None):
    """The node's shape as flags (defaults: setup/run's)."""
    group = parser.add_argument_group("node (setup/run's settings)")
    group.add_argument("--workers", type=int, default=2, help="workers of each web/ingest/jobs process")
    group.add_argument("--ingest-processes", type=int, default=1)
    group.add_argument("--jobs-processes", type=int, default=1)
    group.add_argument("--runners", type=int, default=1, help="job runners (one active, the others on standby)")
    group.add_argument(
        "--job-capacity",
        type=int,
        default=job_capacity,
        help="queue_job channel capacity (default: the jobs workers; 0: no runner, jobs stay queued)",
    )
    for flag, variable in EDGE_SETTINGS.items():
        group.add_argument(f"--{flag.replace('_', '-')}", type=int, help=f"{variable} (default: setup/run's)")
    group.add_argument("--background-nice", type=int, help="INTEGRATION_BACKGROUND_NICE (default: setup/run's)")
    group.add_argument("--dbfilter", help="INTEGRATION_DBFILTER: measure Odoo with a dbfilter (as before)")
    group.add_argument("--keep-db", action="store_true")


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


def node_env(pg, db, settings=None):
    env = pg.env()
    env.update(INTEGRATION_DB=db, INTEGRATION_EXTRA_ADDONS=str(BENCH / "addons"), **(settings or {}))
    return env


def template_db(pg):
    """Make sure ``bench_template`` has the suite and the bench addon, up to date."""
    stamp_file = CACHE / f"{TEMPLATE_DB}.bench-stamp"
    want = f"{_code_stamp()} {_bench_addons_stamp()}"
    exists = pg.query("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE_DB,))
    if exists and stamp_file.exists() and stamp_file.read_text().strip() == want:
        return
    log(f"preparing {TEMPLATE_DB} (the suite + integration_bench_floor, from scratch: a few minutes)")
    # From scratch rather than updated: setup/run's update step knows only the suite.
    pg.drop(TEMPLATE_DB)
    subprocess.run(
        ["bash", str(REPO / "setup/run"), "-i", "integration_bench_floor", "--stop-after-init", "--log-level=warn"],
        env=node_env(pg, TEMPLATE_DB),
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


def _processes():
    """``{pid: (ppid, cmdline)}`` of the machine's processes."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            out[int(stat.parent.name)] = (ppid, cmdline)
    return out


class Node:
    """``bash setup/run`` on a benchmark database, in its own session."""

    def __init__(self, pg, db, args, log_level=None):
        self.pg, self.db = pg, db
        self.http_port = int(os.environ.get("BENCH_HTTP_PORT") or 8169)
        self.base = int(os.environ.get("BENCH_PORT_BASE") or 18500)
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.run_dir = CACHE / f"run-{db}"
        self.log_level = log_level
        self.workers = args.workers
        jobs_workers = args.workers * args.jobs_processes
        self.job_capacity = jobs_workers if args.job_capacity is None else args.job_capacity
        self.processes = {
            "web": 1,
            "ingest": args.ingest_processes,
            "jobs": args.jobs_processes,
            "runner": args.runners if self.job_capacity else 0,
        }
        self.settings = {
            "INTEGRATION_HTTP_PORT": str(self.http_port),
            "INTEGRATION_PORT_BASE": str(self.base),
            "INTEGRATION_WEB_WORKERS": str(args.workers),
            "INTEGRATION_INGEST_WORKERS": str(args.workers),
            "INTEGRATION_JOBS_WORKERS": str(args.workers),
            "INTEGRATION_INGEST_PROCESSES": str(args.ingest_processes),
            "INTEGRATION_JOBS_PROCESSES": str(args.jobs_processes),
            "INTEGRATION_RUNNERS": str(self.processes["runner"]),
            "INTEGRATION_JOB_CAPACITY": str(self.job_capacity),
        }
        extra = {"background_nice": "INTEGRATION_BACKGROUND_NICE", "dbfilter": "INTEGRATION_DBFILTER"}
        for flag, variable in {**EDGE_SETTINGS, **extra}.items():
            if getattr(args, flag, None) is not None:
                self.settings[variable] = str(getattr(args, flag))
        self.proc = None

    def topology(self):
        return {"processes": self.processes, "workers": self.workers, "job_capacity": self.job_capacity} | {
            k: v
            for k, v in self.settings.items()
            if k.startswith(("INTEGRATION_EDGE", "INTEGRATION_BACKGROUND", "INTEGRATION_DBFILTER"))
        }

    def direct_url(self, role, index=1):
        """An Odoo process itself, bypassing the edge."""
        return f"http://127.0.0.1:{self.base + ROLE_OFFSET[role] + index}"

    # -- life --------------------------------------------------------------
    def start(self, timeout=300):
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(self.url, timeout=2)
            raise SystemExit(f"something already answers on {self.url}: set BENCH_HTTP_PORT / BENCH_PORT_BASE")
        shutil.rmtree(self.run_dir / "log", ignore_errors=True)
        args = ["bash", str(REPO / "setup/run")]
        if self.log_level:
            args.append(f"--log-level={self.log_level}")
        RESULTS.mkdir(parents=True, exist_ok=True)
        self._stderr = open(RESULTS / f"node-{self.db}.out", "w")  # noqa: SIM115 -- the child's, for its lifetime
        log(f"starting the node on {self.url} (db {self.db}): {self.topology()}")
        self.proc = subprocess.Popen(
            args,
            env=node_env(self.pg, self.db, self.settings),
            cwd=REPO,
            start_new_session=True,
            stdout=self._stderr,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"setup/run exited ({self.proc.returncode}): see {self._stderr.name}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/web/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            self.stop()
            raise SystemExit(f"the node did not answer within {timeout}s: see {self.run_dir / 'log'}")
        for role, count in self.processes.items():
            for index in range(1, count + 1):
                if role in ROLE_OFFSET:
                    self.wait_http(self.direct_url(role, index))
        if self.job_capacity:
            self.wait_log(r"queue job runner ready for db", names=["runner-1"], timeout=60)
        return self

    def wait_http(self, url, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/web/health", timeout=2).status_code == 200:
                    return True
            time.sleep(0.5)
        return False

    def stop(self, timeout=90):
        if not self.proc or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)  # supervisord: stops every process it started
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            for pid in self.all_pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- logs --------------------------------------------------------------
    def logfile(self, name):
        return self.run_dir / "log" / f"{name}.log"

    def log_text(self, names=None):
        paths = [self.logfile(n) for n in names] if names else sorted((self.run_dir / "log").glob("*-[0-9].log"))
        return "\n".join(p.read_text(errors="replace") for p in paths if p.exists())

    def wait_log(self, pattern, names=None, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.log_text(names)):
                return True
            time.sleep(0.5)
        return False

    def log_count(self, pattern, names=None):
        return len(re.findall(pattern, self.log_text(names)))

    def restarts(self):
        """Processes the supervisor saw exit and started again: ``[(name, how)]``."""
        path = self.run_dir / "log" / "supervisord.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return re.findall(r"exited: (\S+) \(([^)]*not expected)\)", text)

    # -- processes ---------------------------------------------------------
    def masters(self, role=None):
        """``{name: pid}`` of the processes the supervisor runs (Odoo masters, runners, the edge)."""
        if not self.proc:
            return {}
        procs, out = _processes(), {}
        for pid, (ppid, cmdline) in procs.items():
            if ppid != self.proc.pid:
                continue
            match = re.search(r"odoo-((web|ingest|jobs|runner)-\d+)\.conf", cmdline)
            name = match[1] if match else ("edge" if "nginx" in cmdline else None)
            if name and (role is None or name.startswith(f"{role}-") or name == role):
                out[name] = pid
        return out

    def all_pids(self):
        """Every process of the node below the supervisor."""
        procs = _processes()
        pids, frontier = set(), {self.proc.pid} if self.proc else set()
        while frontier:
            children = {pid for pid, (ppid, _c) in procs.items() if ppid in frontier}
            pids |= children
            frontier = children - frontier
        return sorted(pids)

    def children(self, pid):
        return [child for child, (ppid, _c) in _processes().items() if ppid == pid]

    def http_workers(self, role=None):
        """Living HTTP worker PIDs of a role (Odoo logs ``Worker WorkerHTTP (pid) alive``)."""
        names = list(self.masters(role))
        logged = {int(pid) for pid in re.findall(r"Worker WorkerHTTP \((\d+)\) alive", self.log_text(names))}
        alive = {child for pid in self.masters(role).values() for child in self.children(pid)}
        return sorted(logged & alive)

    def active_runner(self):
        """``(name, pid)`` of the runner holding queue_job's advisory lock, or None."""
        rows = self.pg.query(
            self.db,
            """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND a.datname = %s
                  AND l.classid = %s AND l.objid = %s""",
            (self.db, RUNNER_LOCK >> 32, RUNNER_LOCK & 0xFFFFFFFF),
        )
        runners = {pid: name for name, pid in self.masters("runner").items()}
        for (app,) in rows or ():
            match = re.search(r"(\d+)$", app or "")
            if match and int(match[1]) in runners:
                return runners[int(match[1])], int(match[1])
        return None

    @staticmethod
    def peak_rss_mib(pid):
        """Peak resident memory (VmHWM) of a process, MiB."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None


@contextmanager
def bench_session(name, args, log_level=None):
    """The private cluster, a fresh copy of the template database, a node on it.

    Yields ``(pg, db, node)`` with the node started; stops it and drops the
    copy afterwards, unless ``args.keep_db``.
    """
    # a benchmark stopped with SIGTERM (timeout, kill) stops its node too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    pg = PgCluster()
    pg.ensure()
    template_db(pg)
    # BENCH_DB_PREFIX: another prefix beside another checkout running the same benchmark
    db = clone_db(pg, f"{os.environ.get('BENCH_DB_PREFIX') or 'bench_'}{name}")
    node = Node(pg, db, args, log_level=log_level)
    try:
        with node:
            yield pg, db, node
    finally:
        if not args.keep_db:
            pg.drop(db)
