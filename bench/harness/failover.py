"""Scale-out and job-runner failover on loopback: the roles on several
"nodes" of one machine, one PostgreSQL, behind the edge.

The node runs ``--ingest-processes`` (2) ingest and ``--jobs-processes`` (2)
jobs Odoo processes behind the edge's pools, and ``--runners`` (2) queue_job
job runners (one active by PostgreSQL advisory lock). ``--lifecycles``
Stripe subscription lifecycles are posted through the edge (each event until
acknowledged) while the runner drains them through the job gateway; when
``--kill-at`` of the events are done, the active runner is killed by PID
(SIGKILL) and kept down, as when its machine dies (``supervisorctl stop``
right after, so that setup/run's supervisor does not bring it back): the
standby must take the lock and drain the rest.

Verdict (exit 1 unless every line holds): the standby took over, every event
acknowledged and done, nothing lost, one row per event and one
partner/subscription/invoice/payment per lifecycle, and both ingest and both
jobs processes did work (the edge's access log and the jobs' worker PIDs).
"""

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

from env import CACHE, fmt, header, log, save_result
from events import Lifecycles
from load import post_until_acknowledged
from node import add_node_args, bench_session
from rpc import Rpc, create_backend, pick_connector


def done_count(pg, db, backend_id):
    return pg.query(
        db, "SELECT count(*) FROM integration_event WHERE backend_id = %s AND state = 'done'", (backend_id,)
    )[0][0]


def kill_active_runner(node, pg, db, backend_id, threshold, outcome):
    """When ``threshold`` events are done: SIGKILL the active runner, keep it down, time the takeover."""
    while done_count(pg, db, backend_id) < threshold:
        time.sleep(0.5)
    active = node.active_runner()
    if not active:
        outcome["error"] = "no active runner"
        return
    name, pid = active
    start = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    subprocess.run(
        [str(CACHE / "tools-venv/bin/supervisorctl"), "-c", str(node.run_dir / "supervisord.conf"), "stop", name],
        capture_output=True,
        timeout=60,
        check=False,
    )
    log(f"FAULT: SIGKILL active runner {name} (pid {pid}) at {threshold} events done; kept down")
    successor = None
    while time.monotonic() - start < 120:
        successor = node.active_runner()
        if successor and successor[1] != pid:
            break
        time.sleep(0.2)
    outcome.update(
        killed=name,
        pid=pid,
        done_at_kill=done_count(pg, db, backend_id),
        taken_over_by=successor[0] if successor else None,
        takeover_seconds=round(time.monotonic() - start, 1) if successor else None,
        t=start,
    )
    log(f"runner {outcome['taken_over_by']} holds the lock after {outcome['takeover_seconds']}s")


def work_shares(node, pg, db):
    """Webhook posts per ingest process (edge access log), jobs per jobs process (worker PIDs)."""
    access = (node.run_dir / "log" / "edge-access.log").read_text(errors="replace")
    ports = {node.base + 200 + k: f"ingest-{k}" for k in range(1, 10)}
    ports |= {node.base + 300 + k: f"jobs-{k}" for k in range(1, 10)}
    posts = Counter()
    runjobs = Counter()
    for line in access.splitlines():
        match = re.search(r"up=127\.0\.0\.1:(\d+)", line)
        if not match or int(match[1]) not in ports:
            continue
        if "/integration/webhook/" in line and '" 20' in line:
            posts[ports[int(match[1])]] += 1
        elif "/queue_job/runjob" in line:
            runjobs[ports[int(match[1])]] += 1
    return {"webhook_2xx_by_ingest": dict(posts), "runjob_by_jobs_process": dict(runjobs)}


def records(pg, db, run_id):
    like, ref_like = f"bench-{run_id}%", f"BENCH-{run_id}-%"
    q = lambda sql, *a: pg.query(db, sql, a)[0][0]  # noqa: E731
    return {
        "partners": q("SELECT count(DISTINCT email) FROM res_partner WHERE email LIKE %s", like),
        "partner_rows": q("SELECT count(*) FROM res_partner WHERE email LIKE %s", like),
        "subscriptions": q(
            "SELECT count(*) FROM integration_subscription s JOIN res_partner p ON p.id = s.partner_id "
            "WHERE p.email LIKE %s",
            like,
        ),
        "invoices": q("SELECT count(*) FROM account_move WHERE move_type = 'out_invoice' AND ref LIKE %s", ref_like),
        "payments": q(
            "SELECT count(*) FROM account_payment ap JOIN res_partner p ON p.id = ap.partner_id "
            "WHERE p.email LIKE %s AND ap.payment_type = 'inbound'",
            like,
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lifecycles", type=int, default=250, help="subscription lifecycles (4 events each)")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--kill-at", type=float, default=0.3, help="share of the events done when the runner dies")
    parser.add_argument("--drain-timeout", type=float, default=900)
    parser.add_argument("--connector", default="auto")
    add_node_args(parser)
    parser.set_defaults(ingest_processes=2, jobs_processes=2, runners=2)
    args = parser.parse_args()

    with bench_session("failover", args) as (pg, db, node):
        connector = pick_connector(pg, db, args.connector)
        rpc = Rpc(node.url, db)
        backend_id, reference = create_backend(rpc, connector, name="Failover", retry_base_seconds=1)
        result = header("failover", args, node, connector)
        lifecycles = Lifecycles(connector)
        events = [e for k in range(args.lifecycles) for e in lifecycles.lifecycle(k)]
        outcome = {}
        killer = threading.Thread(
            target=kill_active_runner,
            args=(node, pg, db, backend_id, int(len(events) * args.kill_at), outcome),
            daemon=True,
        )
        killer.start()
        start = time.monotonic()
        acked, posted = asyncio.run(
            post_until_acknowledged(
                f"{node.url}/integration/webhook/{reference}", events, args.senders, 30, 50, start + args.drain_timeout
            )
        )
        post_seconds = time.monotonic() - start
        log(f"posted {len(acked)} acknowledged in {post_seconds:.0f}s: {posted['statuses']}")
        deadline = time.monotonic() + args.drain_timeout
        while time.monotonic() < deadline and done_count(pg, db, backend_id) < len(events):
            time.sleep(1)
        killer.join(5)
        total = time.monotonic() - start
        states = dict(
            pg.query(
                db, "SELECT state, count(*) FROM integration_event WHERE backend_id = %s GROUP BY state", (backend_id,)
            )
        )
        stored = {
            r[0] for r in pg.query(db, "SELECT external_id FROM integration_event WHERE backend_id = %s", (backend_id,))
        }
        rows = sum(states.values())
        counts = records(pg, db, lifecycles.run)
        shares = work_shares(node, pg, db)
        after_kill = None
        if outcome.get("t"):
            after_kill = total - (outcome["t"] - start)
        result.update(
            events=len(events),
            lifecycles=args.lifecycles,
            post=posted | {"statuses": {str(k): v for k, v in posted["statuses"].items()}, "latencies": None},
            post_seconds=post_seconds,
            total_seconds=total,
            drain_after_kill_seconds=after_kill,
            failover=outcome | {"t": None},
            states=states,
            records=counts,
            shares=shares,
            requeued_dead_jobs=node.log_count(r"Re-queued dead job", names=[f"runner-{k}" for k in (1, 2)]),
            restarts=node.restarts(),
        )
        n = args.lifecycles
        result["checks"] = {
            "the standby runner took over": bool(outcome.get("taken_over_by"))
            and outcome["taken_over_by"] != outcome.get("killed"),
            "every event acknowledged": len(acked) == len(events),
            "every event done": states == {"done": len(events)},
            "0 lost (every acknowledged event stored)": not ({e.event_id for e in events} & acked) - stored,
            "one row per event": rows == len(stored) == len(events),
            "one partner, subscription, invoice, payment per lifecycle": counts["partner_rows"] == n
            and all(counts[k] == n for k in ("partners", "subscriptions", "invoices", "payments")),
            "both ingest processes took webhooks": len(shares["webhook_2xx_by_ingest"])
            >= min(2, args.ingest_processes),
            "both jobs processes ran jobs": len(shares["runjob_by_jobs_process"]) >= min(2, args.jobs_processes),
        }
    result["verdict"] = "PASS" if all(result["checks"].values()) else "FAIL"
    save_result("failover", result)
    f = result["failover"]
    print(
        f"{len(events)} events ({n} lifecycles) through the edge in {fmt(post_seconds)}s, all done after "
        f"{fmt(total)}s; runner {f.get('killed')} killed at {f.get('done_at_kill')} done, {f.get('taken_over_by')} "
        f"took over in {f.get('takeover_seconds')}s; drained {fmt(after_kill)}s after the kill"
    )
    print(f"states {states}; records {counts}; {shares}; re-queued dead jobs {result['requeued_dead_jobs']}")
    for check, ok in result["checks"].items():
        print(f"  [{'ok' if ok else 'FAIL'}] {check}")
    print(f"VERDICT: {result['verdict']}")
    return 0 if result["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
