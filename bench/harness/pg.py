"""The benchmarks' own PostgreSQL cluster and their template database.

:class:`PgCluster` makes sure a private cluster answers (under
``/var/lib/postgresql/odoo-integration-bench`` as root, else under the cache;
port ``BENCH_PGPORT``, 55439): the benchmarks may restart it or fill it with
a million rows without disturbing anybody else's databases.
The databases on it are made by :mod:`node` (a template, copied per run).
"""

import contextlib
import os
import shutil
import socket
import subprocess
from pathlib import Path

import psycopg2
from env import CACHE, log

# as root the cluster belongs to 'postgres', who cannot enter /root: keep it in its home
PG_DIR = Path(
    os.environ.get("BENCH_PGDATA")
    or (Path("/var/lib/postgresql/odoo-integration-bench") if os.geteuid() == 0 else CACHE / "bench-pg")
)
PG_PORT = int(os.environ.get("BENCH_PGPORT") or 55439)
PG_HOST = "127.0.0.1"


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


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
