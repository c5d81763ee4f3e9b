"""End-to-end benchmark: N complete subscription lifecycles (customer,
subscription, invoice finalized, invoice paid) through the route, the jobs
and the appliers, with the job runner on.

Reports lifecycles/s and events/s from the first post to the last event
done, job latency percentiles (queue_job date_created -> date_done, whole
seconds as Odoo stores them) and execution times, checks that each lifecycle
made exactly one partner, subscription, invoice and payment, then does the
same ORM work directly in one script (``odoo shell``, one transaction per
lifecycle) on the same database: the ratio is the middleware's overhead.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time

from env import CACHE, ODOO_VENV, fmt, header, log, save_result
from events import Lifecycles
from load import Tally, new_client, percentile, post_one
from node import add_node_args, bench_session
from observe import wait_drained
from profiler import Profiler
from rpc import Rpc, create_backend, pick_connector


async def post_lifecycles(url, lifecycles, n, senders, tally):
    queue = asyncio.Queue()
    for k in range(n):
        queue.put_nowait(k)

    async def sender(client):
        while not queue.empty():
            k = queue.get_nowait()
            for event in lifecycles.lifecycle(k):
                for _attempt in range(5):  # a sender retries what was not acknowledged, as Stripe does
                    status = await post_one(client, url, event.body, event.headers(), tally)
                    if status and status < 300:
                        break
                    await asyncio.sleep(1)

    async with new_client(senders * 2) as client:
        await asyncio.gather(*(sender(client) for _ in range(senders)))


def run_direct(db, n, run_id):
    env = dict(os.environ, BENCH_DIRECT_N=str(n), BENCH_DIRECT_RUN=run_id)
    conf = CACHE / f"run-{db}" / "odoo-jobs-1.conf"
    with open(os.path.join(os.path.dirname(__file__), "direct_orm.py")) as script:
        out = subprocess.run(
            [
                str(ODOO_VENV / "bin/odoo"),
                "shell",
                "-c",
                str(conf),
                "-d",
                db,
                "--no-http",
                "--log-level=warn",
                "--logfile=",
                "--workers=0",
            ],
            stdin=script,
            capture_output=True,
            text=True,
            env=env,
            timeout=3600,
            check=False,
        )
    for line in out.stdout.splitlines():
        if line.startswith('{"direct"'):
            return json.loads(line)["direct"]
    raise RuntimeError(f"direct ORM script failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")


def check_records(pg, db, run_id, n):
    """Each lifecycle made exactly one of each record (counted by its keys)."""
    q = lambda sql, *a: pg.query(db, sql, a)[0][0]  # noqa: E731
    like = f"bench-{run_id}%"
    return {
        "partners": q("SELECT count(*) FROM res_partner WHERE email LIKE %s", like),
        "duplicate_partners": q(
            "SELECT count(*) FROM (SELECT email FROM res_partner WHERE email LIKE %s "
            "GROUP BY email HAVING count(*) > 1) d",
            like,
        ),
        "subscriptions": q(
            "SELECT count(*) FROM integration_subscription s JOIN res_partner p ON p.id = s.partner_id "
            "WHERE p.email LIKE %s",
            like,
        ),
        "invoices": q(
            "SELECT count(*) FROM account_move WHERE move_type = 'out_invoice' AND ref LIKE %s", f"BENCH-{run_id}-%"
        ),
        "invoices_paid": q(
            "SELECT count(*) FROM account_move WHERE move_type = 'out_invoice' AND ref LIKE %s "
            "AND payment_state IN ('paid', 'in_payment')",
            f"BENCH-{run_id}-%",
        ),
        "payments": q(
            "SELECT count(*) FROM account_payment ap JOIN res_partner p ON p.id = ap.partner_id WHERE p.email LIKE %s",
            like,
        ),
        "expected_each": n,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifecycles", type=int, default=100)
    parser.add_argument("--senders", type=int, default=4, help="lifecycles posted concurrently")
    parser.add_argument(
        "--retry-base", type=int, default=2, help="backend retry_base_seconds (default of a backend: 30)"
    )
    parser.add_argument("--drain-timeout", type=float, default=900)
    parser.add_argument("--connector", default="auto")
    parser.add_argument("--profile", action="store_true", help="py-spy the jobs workers")
    add_node_args(parser)
    args = parser.parse_args()

    with bench_session("e2e", args) as (pg, db, server):
        connector = pick_connector(pg, db, args.connector)
        rpc = Rpc(server.url, db)
        backend_id, reference = create_backend(rpc, connector, retry_base_seconds=args.retry_base)
        result = header("e2e", args, server, connector)
        lifecycles = Lifecycles(connector)
        url = f"{server.url}/integration/webhook/{reference}"
        tally = Tally()
        profiler = Profiler(server.http_workers("jobs"), "e2e") if args.profile else None
        if profiler:
            profiler.__enter__()
        start = time.monotonic()
        asyncio.run(post_lifecycles(url, lifecycles, args.lifecycles, args.senders, tally))
        posted = time.monotonic() - start
        log(f"posted {tally.count} events in {posted:.1f}s ({tally.statuses} {tally.errors}); waiting for the jobs")
        drained = wait_drained(pg, db, args.drain_timeout, [backend_id], poll=0.5)
        elapsed = time.monotonic() - start
        if profiler:
            profiler.__exit__(None, None, None)
            result["profile"] = profiler.top(40)
        events = args.lifecycles * 4
        jobs = pg.query(
            db,
            """SELECT EXTRACT(EPOCH FROM (date_done - date_created)), exec_time, retry
                               FROM queue_job WHERE channel = 'root.integration' AND state = 'done'""",
        )
        latency = [float(r[0]) for r in jobs]
        exec_ms = [float(r[1]) * 1000 for r in jobs if r[1] is not None]
        states = dict(
            pg.query(
                db,
                "SELECT state, count(*) FROM integration_event WHERE backend_id = %s GROUP BY state",
                (backend_id,),
            )
        )
        retried = pg.query(
            db, "SELECT count(*) FROM integration_event WHERE backend_id = %s AND attempts > 1", (backend_id,)
        )[0][0]
        result.update(
            lifecycles=args.lifecycles,
            events=events,
            post_seconds=posted,
            drained=drained is not None,
            seconds=elapsed,
            lifecycles_per_s=args.lifecycles / elapsed,
            events_per_s=events / elapsed,
            post=tally.report(posted),
            event_states=states,
            events_retried=retried,
            jobs=len(jobs),
            job_latency_s={f"p{q}": percentile(latency, q) for q in (50, 95, 99)} | {"max": max(latency or [0])},
            job_exec_ms={f"p{q}": percentile(exec_ms, q) for q in (50, 95, 99)},
            records=check_records(pg, db, lifecycles.run, args.lifecycles),
        )
        log("direct ORM baseline (odoo shell, same database)")
        direct = run_direct(db, args.lifecycles, lifecycles.run)
        result["direct"] = direct | {"lifecycles_per_s": direct["lifecycles"] / direct["seconds"]}
        result["overhead_ratio"] = elapsed / direct["seconds"]
        result["worker_peak_rss_mib"] = {pid: server.peak_rss_mib(pid) for pid in server.http_workers()}
    save_result("e2e", result)
    latency, exec_ms = result["job_latency_s"], result["job_exec_ms"]
    print(
        f"| e2e ({result['connector']}) | {args.lifecycles} lifecycles "
        f"| {fmt(result['lifecycles_per_s'], 2)} lifecycles/s | {fmt(result['events_per_s'], 1)} events/s "
        f"| job latency p50/p95/p99 {fmt(latency['p50'])}/{fmt(latency['p95'])}/{fmt(latency['p99'])} s "
        f"| exec p50/p95 {fmt(exec_ms['p50'], 0)}/{fmt(exec_ms['p95'], 0)} ms "
        f"| direct ORM {fmt(result['direct']['lifecycles_per_s'], 2)} lifecycles/s "
        f"| overhead x{fmt(result['overhead_ratio'], 2)} |"
    )
    print("event states:", result["event_states"], "retried:", result["events_retried"])
    print("records:", json.dumps(result["records"]))
    if result.get("profile"):
        print("jobs (HTTP workers), busiest frames (inclusive % of busy samples):")
        for frame, share in result["profile"]["inclusive"][:40]:
            print(f"  {share:5.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
