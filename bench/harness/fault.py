"""Fault run: traffic with redeliveries and out-of-order events while the
harness breaks things, then a verdict against the ground truth.

* ``--events`` unique events (whole subscription lifecycles), plus
  ``--duplicates`` of them redelivered, all shuffled; each is posted until
  acknowledged (2xx), as Stripe does, at most ``--post-attempts`` times;
* meanwhile, through the edge of a node with ``--runners`` (2) job runners:
  the ingest process behind the edge is killed whole (SIGKILL of its master
  and workers) at 20% of the posting, a jobs worker (preferably one running a
  job) at 30%, the active job runner at 45% (the standby takes over),
  PostgreSQL is restarted at 60%, and another jobs worker is killed a few
  seconds into the drain (``--kills``, ``--pg-restarts``, ``--upstream-kills``,
  ``--runner-kills``); setup/run's supervisor restarts what exits;
* outbound: a second backend subscribed to ``customer`` pushes every new
  partner to a local HTTP server that fails ``--fail-rate`` of the calls
  (503) and answers ``--timeout-rate`` of them after the client's timeout.

Verdict (exit status 0 only when every line holds):
zero lost events (every acknowledged event stored), zero unacknowledged,
zero duplicate partners/subscriptions/invoices/payments, every inbound and
outbound event done or failed with an exception, every failed job visible
as an exception, every retried item done, every outbound event delivered.
"""

import argparse
import asyncio
import contextlib
import json
import random
import sys
import threading
import time

import httpx
from env import header, log, save_result
from events import Lifecycles
from faults import FlakyServer, Saboteur
from node import add_node_args, bench_session
from observe import wait_drained
from rpc import Rpc, create_backend, pick_connector


async def post_all(url, deliveries, senders, max_attempts, progress, deadline):
    """Post each delivery until acknowledged; returns per-event outcomes."""
    acked, outcomes = set(), {"2xx": 0, "4xx": {}, "5xx": 0, "errors": {}, "unacknowledged": []}
    queue = asyncio.Queue()
    for item in deliveries:
        queue.put_nowait(item)

    async def sender(client):
        while not queue.empty() and time.monotonic() < deadline:
            event = queue.get_nowait()
            for attempt in range(max_attempts):
                try:
                    response = await client.post(url, content=event.body, headers=event.headers(), timeout=30)
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status = exc.__class__.__name__
                if isinstance(status, int) and 200 <= status < 300:
                    outcomes["2xx"] += 1
                    acked.add(event.event_id)
                    break
                retry_after = None
                if isinstance(status, int) and status in (429, 503):
                    with contextlib.suppress(TypeError, ValueError):
                        retry_after = float(response.headers.get("Retry-After"))
                if isinstance(status, int) and 400 <= status < 500:
                    # Stripe retries any non-2xx; every event here is valid, so a 4xx
                    # is either a bug or Odoo's 404 while the database is away
                    outcomes["4xx"][str(status)] = outcomes["4xx"].get(str(status), 0) + 1
                elif isinstance(status, int):
                    outcomes["5xx"] += 1
                else:
                    outcomes["errors"][status] = outcomes["errors"].get(status, 0) + 1
                await asyncio.sleep(retry_after or min(8.0, 0.25 * 2**attempt))
            else:
                outcomes["unacknowledged"].append(event.event_id)
            progress[0] += 1

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=senders)) as client:
        await asyncio.gather(*(sender(client) for _ in range(senders)))
    return acked, outcomes


def verify(pg, db, inbound_id, outbound_id, unique_ids, acked, run_id, lifecycles, flaky):
    q = lambda sql, *a: pg.query(db, sql, a)  # noqa: E731
    stored = {
        r[0]
        for r in q("SELECT external_id FROM integration_event WHERE backend_id = %s AND direction = 'in'", inbound_id)
    }
    like, ref_like = f"bench-{run_id}%", f"BENCH-{run_id}-%"
    dup = {
        "partners": q(
            "SELECT count(*) FROM (SELECT email FROM res_partner WHERE email LIKE %s GROUP BY email "
            "HAVING count(*) > 1) d",
            like,
        )[0][0],
        "subscriptions": q(
            "SELECT count(*) FROM (SELECT partner_id FROM integration_subscription s JOIN res_partner p "
            "ON p.id = s.partner_id WHERE p.email LIKE %s GROUP BY partner_id HAVING count(*) > 1) d",
            like,
        )[0][0],
        "invoices": q(
            "SELECT count(*) FROM (SELECT ref FROM account_move WHERE move_type = 'out_invoice' AND ref LIKE %s "
            "GROUP BY ref HAVING count(*) > 1) d",
            ref_like,
        )[0][0],
        "payments": q(
            "SELECT count(*) FROM (SELECT ap.partner_id FROM account_payment ap JOIN res_partner p "
            "ON p.id = ap.partner_id WHERE p.email LIKE %s AND ap.payment_type = 'inbound' "
            "GROUP BY ap.partner_id HAVING count(*) > 1) d",
            like,
        )[0][0],
    }
    counts = {
        "partners": q("SELECT count(*) FROM res_partner WHERE email LIKE %s", like)[0][0],
        "subscriptions": q(
            "SELECT count(*) FROM integration_subscription s JOIN res_partner p ON p.id = s.partner_id "
            "WHERE p.email LIKE %s",
            like,
        )[0][0],
        "invoices": q("SELECT count(*) FROM account_move WHERE move_type = 'out_invoice' AND ref LIKE %s", ref_like)[0][
            0
        ],
        "invoices_paid": q(
            "SELECT count(*) FROM account_move WHERE move_type = 'out_invoice' AND ref LIKE %s "
            "AND payment_state IN ('paid', 'in_payment')",
            ref_like,
        )[0][0],
        "payments": q(
            "SELECT count(*) FROM account_payment ap JOIN res_partner p ON p.id = ap.partner_id "
            "WHERE p.email LIKE %s AND ap.payment_type = 'inbound'",
            like,
        )[0][0],
        "expected_each": lifecycles,
    }
    states_in = dict(
        q("SELECT state, count(*) FROM integration_event WHERE backend_id = %s GROUP BY state", inbound_id)
    )
    states_out = dict(
        q("SELECT state, count(*) FROM integration_event WHERE backend_id = %s GROUP BY state", outbound_id)
    )
    failed_without_exception = q(
        """SELECT count(*) FROM integration_event e WHERE e.backend_id IN (%s, %s) AND e.state IN ('failed', 'dead')
           AND NOT EXISTS (SELECT 1 FROM integration_exception x WHERE x.event_id = e.id)""",
        inbound_id,
        outbound_id,
    )[0][0]
    retried_not_done = q(
        "SELECT count(*) FROM integration_event WHERE backend_id IN (%s, %s) AND attempts > 1 "
        "AND state NOT IN ('done', 'ignored')",
        inbound_id,
        outbound_id,
    )[0][0]
    retried = dict(
        q(
            "SELECT direction, count(*) FROM integration_event WHERE backend_id IN (%s, %s) AND attempts > 1 "
            "GROUP BY direction",
            inbound_id,
            outbound_id,
        )
    )
    failed_jobs = q("SELECT count(*) FROM queue_job WHERE state = 'failed'")[0][0]
    failed_jobs_without_exception = q(
        """SELECT count(*) FROM queue_job j WHERE j.state = 'failed' AND NOT EXISTS (
               SELECT 1 FROM integration_event_queue_job_rel r
                 JOIN integration_exception x ON x.event_id = r.integration_event_id
                WHERE r.queue_job_id = j.id)"""
    )[0][0]
    open_exceptions = dict(
        q(
            "SELECT category, count(*) FROM integration_exception WHERE state IN ('new', 'in_progress') "
            "GROUP BY category"
        )
    )
    out_keys = {
        r[0]
        for r in q("SELECT external_id FROM integration_event WHERE backend_id = %s AND state = 'done'", outbound_id)
    }
    delivered = {key for key, status in flaky.calls if status == 200}
    calls = {
        "total": len(flaky.calls),
        "503": sum(1 for _k, s in flaky.calls if s == 503),
        "timeout": sum(1 for _k, s in flaky.calls if s == "timeout"),
        "200": sum(1 for _k, s in flaky.calls if s == 200),
    }
    checks = {
        "no acknowledged event lost": len(acked - stored) == 0,
        "every event acknowledged": len(unique_ids - acked) == 0,
        "stored once each (no extra rows)": len(stored) == len(unique_ids) and stored == unique_ids,
        "no duplicate partner/subscription/invoice/payment": not any(dup.values()),
        "one of each record per lifecycle": all(
            counts[k] == lifecycles for k in ("partners", "subscriptions", "invoices", "payments", "invoices_paid")
        ),
        "every inbound event done": set(states_in) <= {"done", "ignored"},
        "every outbound event done": set(states_out) <= {"done", "ignored"},
        "every failed item has an exception": failed_without_exception == 0 and failed_jobs_without_exception == 0,
        "every retried item done": retried_not_done == 0,
        "every outbound event delivered (2xx seen by the target)": out_keys <= delivered,
        "one outbound event per partner": sum(states_out.values()) == counts["partners"],
    }
    return {
        "checks": checks,
        "lost": len(acked - stored),
        "unacknowledged": len(unique_ids - acked),
        "duplicates": dup,
        "counts": counts,
        "states_in": states_in,
        "states_out": states_out,
        "retried": retried,
        "retried_not_done": retried_not_done,
        "failed_without_exception": failed_without_exception,
        "failed_jobs": failed_jobs,
        "failed_jobs_without_exception": failed_jobs_without_exception,
        "open_exceptions": open_exceptions,
        "outbound_calls": calls,
        "outbound_keys_delivered_more_than_once": sum(
            1 for key in delivered if sum(1 for k, s in flaky.calls if k == key and s == 200) > 1
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000, help="unique events (the full run: 5000)")
    parser.add_argument("--duplicates", type=float, default=0.3, help="share of events delivered twice")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--post-attempts", type=int, default=12)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--pg-restarts", type=int, default=1)
    parser.add_argument("--upstream-kills", type=int, default=1, help="SIGKILL the ingest process behind the edge")
    parser.add_argument("--runner-kills", type=int, default=1, help="SIGKILL the active job runner")
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--timeout-rate", type=float, default=0.05)
    parser.add_argument("--outbound-timeout", type=float, default=2.0, help="backend timeout of the outbound calls")
    parser.add_argument("--max-attempts", type=int, default=12, help="backends' max_attempts")
    parser.add_argument("--drain-timeout", type=float, default=1500)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--connector", default="auto")
    add_node_args(parser)
    parser.set_defaults(runners=2)
    args = parser.parse_args()

    random.seed(args.seed)
    rng = random.Random(args.seed)
    flaky = FlakyServer(args.fail_rate, args.timeout_rate, args.outbound_timeout + 1.5, args.seed)
    with bench_session("fault", args) as (pg, db, server), flaky:
        connector = pick_connector(pg, db, args.connector)
        rpc = Rpc(server.url, db)
        inbound_id, reference = create_backend(
            rpc, connector, name="Fault inbound", retry_base_seconds=1, max_attempts=args.max_attempts
        )
        customer_type = rpc("integration.canonical.type", "search", [("code", "=", "customer")])
        # the flaky target listens on loopback: a destination a system administrator allows
        rpc("ir.config_parameter", "set_param", "integration_base.outbound_allowed_hosts", "127.0.0.1")
        outbound_id, _ref = create_backend(
            rpc,
            "canonical",
            name="Fault outbound (flaky target)",
            api_url=flaky.url,
            outbound_type_ids=[(6, 0, customer_type)],
            timeout=args.outbound_timeout,
            retry_base_seconds=1,
            max_attempts=args.max_attempts,
            circuit_cooldown=5,
            rate_limit=0,
        )
        result = header("fault", args, server, connector)
        lifecycles = Lifecycles(connector)
        n_life = max(1, args.events // 4)
        unique = [e for k in range(n_life) for e in lifecycles.lifecycle(k)]
        redelivered = rng.sample(unique, int(len(unique) * args.duplicates))
        deliveries = unique + redelivered
        rng.shuffle(deliveries)
        log(f"{len(unique)} unique events ({n_life} lifecycles) + {len(redelivered)} redeliveries, shuffled")
        saboteur = Saboteur(server, pg, db)
        progress = [0]
        total = len(deliveries)
        plan = []
        if args.upstream_kills >= 1:
            plan.append((0.2, "kill the ingest process (edge upstream)", saboteur.kill_upstream))
        if args.kills >= 1:
            plan.append((0.3, "kill worker #1", saboteur.kill_worker))
        if args.runner_kills >= 1:
            plan.append((0.45, "kill the active job runner", saboteur.kill_runner))
        if args.pg_restarts >= 1:
            plan.append((0.6, "restart PostgreSQL", saboteur.restart_pg))
        stop = threading.Event()

        def scheduler():
            for fraction, label, action in plan:
                while not stop.is_set() and progress[0] < fraction * total:
                    time.sleep(0.2)
                if stop.is_set():
                    return
                action(label)

        thread = threading.Thread(target=scheduler, daemon=True)
        thread.start()
        url = f"{server.url}/integration/webhook/{reference}"
        start = time.monotonic()
        acked, outcomes = asyncio.run(
            post_all(url, deliveries, args.senders, args.post_attempts, progress, deadline=start + args.drain_timeout)
        )
        stop.set()
        thread.join(5)
        posted = time.monotonic() - start
        log(
            f"posted in {posted:.0f}s: {outcomes['2xx']} acknowledged, 5xx {outcomes['5xx']}, "
            f"errors {outcomes['errors']}, 4xx {outcomes['4xx']}, unacknowledged {len(outcomes['unacknowledged'])}"
        )
        if args.kills >= 2:
            time.sleep(5)
            saboteur.kill_worker("kill worker #2 (draining)")
        for k in range(3, args.kills + 1):
            time.sleep(10)
            saboteur.kill_worker(f"kill worker #{k} (draining)")
        last = [0.0]

        def report(busy, jobs):
            if time.monotonic() - last[0] > 30:
                last[0] = time.monotonic()
                log(f"draining: {busy} events and {jobs} jobs to go")

        drained = wait_drained(pg, db, args.drain_timeout, [inbound_id, outbound_id], poll=2, on_poll=report)
        result.update(
            lifecycles=n_life,
            unique_events=len(unique),
            redeliveries=len(redelivered),
            post_seconds=posted,
            drained=drained is not None,
            total_seconds=time.monotonic() - start,
            post=outcomes | {"unacknowledged": len(outcomes["unacknowledged"])},
            faults=saboteur.actions,
            requeued_dead_jobs=server.log_count(r"Re-queued dead job"),
            odoo_master_restarts=server.restarts(),
        )
        unique_ids = {e.event_id for e in unique}
        result["verify"] = verify(pg, db, inbound_id, outbound_id, unique_ids, acked, lifecycles.run, n_life, flaky)
        result["verify"]["checks"]["backlog drained in time"] = drained is not None
    verdict = all(result["verify"]["checks"].values())
    result["verdict"] = "PASS" if verdict else "FAIL"
    save_result("fault", result)
    v = result["verify"]
    print(f"faults: {json.dumps([{k: a[k] for k in a if k != 't'} for a in result['faults']])}")
    print(
        f"posting: {result['post']['2xx']} acknowledged deliveries, {result['post']['5xx']} 5xx and "
        f"{sum(result['post']['errors'].values())} connection errors (retried by the sender), "
        f"{result['post']['unacknowledged']} never acknowledged, 4xx answers {result['post']['4xx']}; "
        f"{result['requeued_dead_jobs']} jobs re-queued after the kills; "
        f"{len(result['odoo_master_restarts'])} process(es) restarted by setup/run's supervisor: "
        f"{result['odoo_master_restarts']}"
    )
    print(f"records: {json.dumps(v['counts'])}; duplicates {json.dumps(v['duplicates'])}")
    print(
        f"inbound {v['states_in']}, outbound {v['states_out']}, retried {v['retried']}, "
        f"open exceptions {v['open_exceptions']}, outbound calls {v['outbound_calls']}"
    )
    for check, ok in v["checks"].items():
        print(f"  [{'ok' if ok else 'FAIL'}] {check}")
    print(
        f"VERDICT: {result['verdict']} ({len(unique_ids)} events, {result['redeliveries']} redeliveries, "
        f"{len(result['faults'])} faults, {result['total_seconds']:.0f}s)"
    )
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
