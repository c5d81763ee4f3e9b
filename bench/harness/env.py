"""Where the benchmarks live and what they write: paths, the machine, the
results (JSON under ``$INTEGRATION_CACHE/bench-results``), formatting."""

import contextlib
import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
CACHE = Path(
    os.environ.get("INTEGRATION_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "odoo-integration"
)
ODOO_VENV = Path(os.environ.get("INTEGRATION_VENV") or CACHE / "venv")
RESULTS = Path(os.environ.get("BENCH_RESULTS") or CACHE / "bench-results")
# the suite's local HTTP test server (integration_base/tests/http_server.py,
# standard library only): the peers of the benchmarks behave as the tests' do
sys.path.append(str(REPO / "integration_base" / "tests"))
ADDONS = "integration_base,integration_stripe,integration_crm,integration_helpdesk,integration_monitoring"


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
        "topology": server.topology() if server else None,
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
