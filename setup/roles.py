"""The node roles and the edge: every configuration ``setup/run`` starts, from
one set of settings (environment variables, README "Settings").

No Odoo import here: plain files rendered from the settings, so that a
production machine can render the same files (``roles.py nginx``).

Roles (each an Odoo process in prefork mode, on one database)
--------------------------------------------------------------
``web``     people: the web client, JSON-RPC, reports; its gevent port serves
            ``/websocket``;
``ingest``  webhook routes only (store and enqueue, answer fast), and the
            AMQP consumer of integration_amqp (a worker of its own);
``jobs``    queue_job's ``/queue_job/runjob`` calls and the crons;
``runner``  queue_job's job runner (one active per database, by PostgreSQL
            advisory lock: start one per node, the others wait), which
            dispatches the jobs to the ``jobs`` processes through the edge's
            job gateway (``[queue_job] host/port``).

The edge (nginx) is the only listener on the public port: ``/websocket`` to
the web processes' gevent ports, ``/integration/webhook/`` and ``/web/hook/``
to the ingest pool, everything else to the web pool, ``/queue_job/``
refused; a second listener on loopback (the job gateway) passes
``/queue_job/runjob`` to the jobs pool and nothing else.

Commands::

    roles.py render RUN_DIR      Odoo configs, nginx.conf, supervisord.conf (setup/run)
    roles.py odoo-conf ROLE      one Odoo config on stdout (setup/test: ROLE=test)
    roles.py nginx [--tls]       the edge's http-context file on stdout (production)
    roles.py summary             what setup/run starts, one line per process
    roles.py check-ports         fails when a port of this node is taken
"""

import argparse
import os
import secrets
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TEMPLATE = HERE / "edge" / "integration.conf.in"


def env(name, default):
    value = os.environ.get(name)
    return value if value not in (None, "") else str(default)


def env_int(name, default):
    return int(env(name, default))


class Settings:
    """The settings of a node (defaults fit 2 cores: README "Settings")."""

    def __init__(self):
        cache = Path(env("INTEGRATION_CACHE", Path(env("XDG_CACHE_HOME", Path.home() / ".cache")) / "odoo-integration"))
        self.cache = cache
        self.venv = Path(env("INTEGRATION_VENV", cache / "venv"))
        self.odoo_source = Path(env("ODOO_SOURCE", cache / "odoo-19.0"))
        self.db = env("INTEGRATION_DB", "integration")
        self.public_interface = env("INTEGRATION_HTTP_INTERFACE", "127.0.0.1")
        self.public_port = env_int("INTEGRATION_HTTP_PORT", 8069)
        self.base = env_int("INTEGRATION_PORT_BASE", 18000)
        self.workers = {
            "web": env_int("INTEGRATION_WEB_WORKERS", 2),
            "ingest": env_int("INTEGRATION_INGEST_WORKERS", 2),
            "jobs": env_int("INTEGRATION_JOBS_WORKERS", 2),
        }
        self.processes = {
            "web": env_int("INTEGRATION_WEB_PROCESSES", 1),
            "ingest": env_int("INTEGRATION_INGEST_PROCESSES", 1),
            "jobs": env_int("INTEGRATION_JOBS_PROCESSES", 1),
            "runner": env_int("INTEGRATION_RUNNERS", 1),
        }
        self.job_capacity = env_int("INTEGRATION_JOB_CAPACITY", self.workers["jobs"] * self.processes["jobs"])
        self.cron_threads = env_int("INTEGRATION_CRON_THREADS", 1)
        # people first: on a machine short of CPU the kernel serves the web
        # processes before the background roles (ingest, jobs, runner)
        self.nice = env_int("INTEGRATION_BACKGROUND_NICE", 10)
        self.extra_addons = env("INTEGRATION_EXTRA_ADDONS", "")
        # only to measure what it costs: a dbfilter makes Odoo list the
        # databases (a new PostgreSQL connection) on every request
        self.dbfilter = env("INTEGRATION_DBFILTER", "")
        self.pg = {
            "db_host": env("PGHOST", "127.0.0.1"),
            "db_port": env("PGPORT", 5432),
            "db_user": env("PGUSER", os.environ.get("USER") or "odoo"),
            "db_password": os.environ.get("PGPASSWORD") or "",
        }
        self.master_password = env("INTEGRATION_MASTER_PASSWORD", "admin")
        # the edge
        self.edge = {
            "webhook_rate": env_int("INTEGRATION_EDGE_WEBHOOK_RATE", 50),
            "webhook_burst": env_int("INTEGRATION_EDGE_WEBHOOK_BURST", 500),
            "address_rate": env_int("INTEGRATION_EDGE_ADDRESS_RATE", 100),
            "address_burst": env_int("INTEGRATION_EDGE_ADDRESS_BURST", 1000),
            "people_rate": env_int("INTEGRATION_EDGE_PEOPLE_RATE", 50),
            "people_burst": env_int("INTEGRATION_EDGE_PEOPLE_BURST", 500),
            "webhook_max_body": env("INTEGRATION_EDGE_WEBHOOK_MAX_BODY", "1m"),
            "people_max_body": env("INTEGRATION_EDGE_MAX_BODY", "128m"),
            "retry_after": env_int("INTEGRATION_EDGE_RETRY_AFTER", 5),
            "throttle_retry_after": env_int("INTEGRATION_EDGE_THROTTLE_RETRY_AFTER", 1),
            "queue": env_int("INTEGRATION_EDGE_QUEUE", 2),
            "workers": env("INTEGRATION_EDGE_WORKERS", "1"),
        }

    # -- ports -------------------------------------------------------------
    # web i: HTTP base+100+i, gevent base+150+i; ingest base+200+i / base+250+i;
    # jobs base+300+i / base+350+i; the edge's job gateway base+80.
    _OFFSET = {"web": 100, "ingest": 200, "jobs": 300}

    def http_port(self, role, index):
        return self.base + self._OFFSET[role] + index

    def gevent_port(self, role, index):
        return self.base + self._OFFSET[role] + 50 + index

    @property
    def gateway_port(self):
        return self.base + 80

    def addons_path(self, test=False):
        paths = [f"{self.odoo_source}/odoo/addons", str(REPO)]
        if test:
            paths.append(str(REPO / "tools" / "test_addons"))
        paths += [p for p in self.extra_addons.split(",") if p]
        return ",".join(paths)

    def instances(self, roles=("web", "ingest", "jobs", "runner")):
        """``(role, index, name)`` of every process of this node."""
        for role in roles:
            for index in range(1, self.processes[role] + 1):
                yield role, index, f"{role}-{index}"


# ----------------------------------------------------------------------
# Odoo configurations
# ----------------------------------------------------------------------
def odoo_conf(s, role, index=1, run_dir=None, db=None, http_port=None):
    """One Odoo configuration file of ``role`` (``test``: setup/test's)."""
    db = db or s.db
    options = {
        "addons_path": s.addons_path(test=role == "test"),
        "data_dir": s.cache / "data",
        **{k: v for k, v in s.pg.items() if v},
        # db_name without dbfilter: Odoo then never lists the databases
        # (a new PostgreSQL connection on every request otherwise)
        "db_name": db,
        **({"dbfilter": s.dbfilter} if s.dbfilter else {}),
        "list_db": "False",
        "admin_passwd": s.master_password,
        "limit_time_cpu": 600,
        "limit_time_real": 1200,
        # queue_job's runner is a process of its own (role runner), never a
        # thread or worker of an HTTP role; integration_base server-wide: its
        # public routes answer 503 (not 404) while PostgreSQL is away
        "server_wide_modules": "base,rpc,web,integration_base",
    }
    if role == "ingest" and (REPO / "integration_amqp").is_dir():
        # the AMQP consumer feeds the inbox, as the webhook routes do: a
        # worker of each ingest process (competing consumers)
        options["server_wide_modules"] = "base,rpc,web,integration_base,integration_amqp"
    if role == "test":
        del options["server_wide_modules"]  # Odoo's default (base,rpc,web): no runner, no consumer
        options.update(http_interface="127.0.0.1", http_port=http_port, workers=0, max_cron_threads=0)
    elif role == "runner":
        options.update(http_enable="False", http_interface="127.0.0.1", workers=0, max_cron_threads=0)
    else:
        options.update(
            proxy_mode="True",  # behind the edge: X-Forwarded-For/-Proto/-Host
            http_interface="127.0.0.1",
            http_port=s.http_port(role, index),
            gevent_port=s.gevent_port(role, index),
            workers=s.workers[role],
            max_cron_threads=s.cron_threads if role == "jobs" else 0,
        )
    if run_dir:
        options["logfile"] = Path(run_dir) / "log" / f"{role}-{index}.log"
    lines = ["[options]"] + [f"{k} = {v}" for k, v in options.items()]
    if role == "runner":
        capacity = s.job_capacity
        lines += [
            "",
            "[queue_job]",
            f"channels = root:{capacity},root.integration:{capacity}",
            # the runner asks the jobs pool through the edge's job gateway
            "scheme = http",
            "host = 127.0.0.1",
            f"port = {s.gateway_port}",
        ]
    else:
        # No runner in an HTTP role: once queue_job is imported at start-up
        # (a server-wide module importing it, e.g. integration_amqp), its
        # prefork hook spawns a runner worker unless the capacity is 0.
        lines += ["", "[queue_job]", "channels = root:0"]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------
# The edge
# ----------------------------------------------------------------------
def _servers(s, role, port_of, max_conns=True):
    lines = []
    for _role, index, _name in s.instances((role,)):
        limit = f" max_conns={s.workers[role] * s.edge['queue']}" if max_conns else ""
        lines.append(f"    server 127.0.0.1:{port_of(role, index)}{limit};")
    return "\n".join(lines)


TLS_LISTEN = """    listen 443 ssl http2;
    ssl_certificate /etc/ssl/certs/odoo-integration.pem;
    ssl_certificate_key /etc/ssl/private/odoo-integration.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:integration_tls:10m;"""


def edge_conf(s, tls=False):
    """The edge's http-context file (include it in nginx's ``http {}``)."""
    values = {
        "WEB_SERVERS": _servers(s, "web", s.http_port, max_conns=False),
        "WEBSOCKET_SERVERS": _servers(s, "web", s.gevent_port, max_conns=False),
        "INGEST_SERVERS": _servers(s, "ingest", s.http_port),
        "JOBS_SERVERS": _servers(s, "jobs", s.http_port),
        "LISTEN": f"{s.public_interface}:{s.public_port}",
        "GATEWAY_LISTEN": f"127.0.0.1:{s.gateway_port}",
        "WEBHOOK_RATE": s.edge["webhook_rate"],
        "WEBHOOK_BURST": s.edge["webhook_burst"],
        "ADDRESS_RATE": s.edge["address_rate"],
        "ADDRESS_BURST": s.edge["address_burst"],
        "PEOPLE_RATE": s.edge["people_rate"],
        "PEOPLE_BURST": s.edge["people_burst"],
        "WEBHOOK_MAX_BODY": s.edge["webhook_max_body"],
        "PEOPLE_MAX_BODY": s.edge["people_max_body"],
        "RETRY_AFTER": s.edge["retry_after"],
        "THROTTLE_RETRY_AFTER": s.edge["throttle_retry_after"],
    }
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    if tls:
        # production: TLS on 443 here, plain HTTP only redirects
        text = text.replace(f"    listen {values['LISTEN']};", TLS_LISTEN)
        text += (
            "\n# plain HTTP: a redirect to HTTPS, nothing else\n"
            "server {\n    listen 80;\n    return 301 https://$host$request_uri;\n}\n"
        )
    return text


def nginx_main(s, run_dir):
    """nginx.conf of setup/run: its files under ``run_dir``, in the foreground."""
    run = Path(run_dir)
    temp = run / "nginx-temp"
    # started as root, nginx runs its workers as nobody, who cannot reach the
    # temporary files under the cache (a body over the buffer: 500): same user
    user = f"user {os.environ.get('USER') or 'root'};\n" if os.geteuid() == 0 else ""
    return f"""# generated by setup/roles.py for setup/run (README "The edge")
{user}worker_processes {s.edge["workers"]};
pid {run}/nginx.pid;
error_log {run}/log/edge-error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {run}/integration.conf;
    access_log {run}/log/edge-access.log integration_edge;
}}
"""


# ----------------------------------------------------------------------
# Processes (supervisord for setup/run; README shows the systemd units)
# ----------------------------------------------------------------------
def commands(s, run_dir, extra_args=()):
    """``{name: (command line, background)}`` of every process of this node."""
    run = Path(run_dir)
    odoo = s.venv / "bin" / "odoo"
    python = s.venv / "bin" / "python"
    extra = " ".join(extra_args)
    cmds = {"edge": (f"nginx -p {run} -c {run}/nginx.conf -g 'daemon off;'", False)}
    for role, _index, name in s.instances():
        conf = run / f"odoo-{name}.conf"
        if role == "runner":
            cmd = f"{python} {HERE / 'jobrunner.py'} -c {conf}"
        else:
            cmd = f"{odoo} -c {conf} {extra}".strip()
        cmds[name] = (cmd, role != "web")
    return cmds


def supervisord_conf(s, run_dir, extra_args=()):
    run = Path(run_dir)
    password = secrets.token_hex(16)  # supervisorctl's, on a socket only this user can open
    out = [
        "; generated by setup/roles.py for setup/run: restarts any process that exits",
        "[supervisord]",
        "nodaemon = true",
        f"logfile = {run}/log/supervisord.log",
        f"pidfile = {run}/supervisord.pid",
        f"childlogdir = {run}/log",
        "loglevel = info",
        *([f"user = {os.environ.get('USER') or 'root'}"] if os.geteuid() == 0 else []),
        "",
        "[unix_http_server]",
        f"file = {run}/supervisor.sock",
        "chmod = 0700",
        "username = setup",
        f"password = {password}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl = unix://{run}/supervisor.sock",
        "username = setup",
        f"password = {password}",
    ]
    for name, (cmd, background) in commands(s, run, extra_args).items():
        if background and s.nice:
            cmd = f"nice -n {s.nice} {cmd}"
        out += [
            "",
            f"[program:{name}]",
            f"command = {cmd}",
            "autostart = true",
            # the prefork master exits when PostgreSQL restarts: start it again
            "autorestart = true",
            "startsecs = 3",
            "startretries = 100",
            "stopsignal = TERM",
            "stopwaitsecs = 20",
            "killasgroup = true",
            f"stdout_logfile = {run}/log/{name}.out",
            "stdout_logfile_maxbytes = 10MB",
            "redirect_stderr = true",
            f"priority = {10 if name == 'edge' else 20}",
        ]
    return "\n".join(out) + "\n"


def render(s, run_dir, extra_args=()):
    run = Path(run_dir)
    for sub in ("log", "nginx-temp"):
        (run / sub).mkdir(parents=True, exist_ok=True)
    for role, index, name in s.instances():
        (run / f"odoo-{name}.conf").write_text(odoo_conf(s, role, index, run))
    (run / "integration.conf").write_text(edge_conf(s))
    (run / "nginx.conf").write_text(nginx_main(s, run))
    conf = run / "supervisord.conf"
    conf.touch(mode=0o600)
    conf.chmod(0o600)
    conf.write_text(supervisord_conf(s, run, extra_args))


def ports(s):
    """``{port: what}`` of every listener of this node."""
    out = {s.public_port: "the edge (public)", s.gateway_port: "the edge's job gateway"}
    for role, index, name in s.instances(("web", "ingest", "jobs")):
        out[s.http_port(role, index)] = f"{name} HTTP"
        out[s.gevent_port(role, index)] = f"{name} gevent"
    return out


def busy_ports(s):
    """The ports of this node something already listens on."""
    busy = []
    for port, what in ports(s).items():
        interface = s.public_interface if port == s.public_port else "127.0.0.1"
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((interface, port))
            except OSError:
                busy.append(f"{port} ({what})")
    return busy


def summary(s):
    lines = [f"edge      {s.public_interface}:{s.public_port} (public), job gateway 127.0.0.1:{s.gateway_port}"]
    for role, index, name in s.instances():
        if role == "runner":
            lines.append(f"{name:10}queue_job runner, capacity {s.job_capacity}, via 127.0.0.1:{s.gateway_port}")
        else:
            lines.append(
                f"{name:10}{s.workers[role]} workers on 127.0.0.1:{s.http_port(role, index)}"
                f" (gevent {s.gevent_port(role, index)})"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("render")
    p.add_argument("run_dir")
    p.add_argument("odoo_args", nargs=argparse.REMAINDER)
    p = sub.add_parser("odoo-conf")
    p.add_argument("role", choices=("web", "ingest", "jobs", "runner", "test"))
    p.add_argument("--index", type=int, default=1)
    p.add_argument("--db")
    p.add_argument("--http-port", type=int)
    p = sub.add_parser("nginx")
    p.add_argument("--tls", action="store_true")
    sub.add_parser("summary")
    sub.add_parser("check-ports")
    args = parser.parse_args(argv)
    s = Settings()
    if args.command == "render":
        render(s, args.run_dir, args.odoo_args)
    elif args.command == "odoo-conf":
        sys.stdout.write(odoo_conf(s, args.role, args.index, db=args.db, http_port=args.http_port))
    elif args.command == "nginx":
        sys.stdout.write(edge_conf(s, tls=args.tls))
    elif args.command == "check-ports":
        busy = busy_ports(s)
        if busy:
            print("ports already in use: " + ", ".join(busy), file=sys.stderr)
            return 1
    else:
        print(summary(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
