"""Ingest benchmark: signed events to the webhook route at rising rates,
against two references measured in the same run on the same server:

* floor -- ``POST /integration_bench/floor``: one INSERT and return;
* peer  -- an automation rule with a webhook trigger (``/web/hook/<uuid>``)
  creating the partner synchronously, what an Odoo admin would set up.

Each rate step sends to the three targets in turn (open loop: requests leave
on schedule whatever the answers), then a closed loop with ``--concurrency``
senders measures each target's peak. By default the job runner is off
(``--job-capacity 0``) so that the route is measured alone; the stored
events stay queued.
"""

import argparse
import asyncio
import itertools
import json
import sys

from env import fmt, header, log, save_result
from events import Lifecycles
from load import Tally, closed_loop, new_client, open_loop
from node import add_node_args, bench_session
from profiler import Profiler
from rpc import Rpc, create_backend, peer_url, pick_connector

TARGETS = ("floor", "webhook", "peer")


def requests_for(target, lifecycles, counter):
    """Endless (body, headers) of customer-created events, each unique."""
    for n in counter:
        event = lifecycles.lifecycle(n)[0]
        if target == "webhook":
            yield event.body, event.headers
        else:
            yield event.body, lambda: {"Content-Type": "application/json"}


async def measure(args, server, urls, lifecycles):
    counter = itertools.count(1)
    results = {"steps": [], "peak": {}}
    async with new_client(max_connections=args.max_in_flight) as client:
        # warm up every worker's caches (registry, routing, templates)
        for target in TARGETS:
            tally = Tally()
            await closed_loop(
                client, urls[target], itertools.islice(requests_for(target, lifecycles, counter), 40), 4, tally
            )
            log(f"warm-up {target}: {tally.statuses} {tally.errors}")
        for rate in args.rates:
            for target in TARGETS:
                tally = Tally()
                count = int(rate * args.step_seconds)
                elapsed = await open_loop(
                    client,
                    urls[target],
                    itertools.islice(requests_for(target, lifecycles, counter), count),
                    rate,
                    tally,
                    max_in_flight=args.max_in_flight,
                    timeout=args.timeout,
                )
                row = {"target": target, "offered_per_s": rate, "seconds": elapsed, **tally.report(elapsed)}
                results["steps"].append(row)
                log(
                    f"{target:8} {rate:5}/s  accepted {row['accepted_per_s']:7.1f}/s  p50 {fmt(row['p50_ms'])} "
                    f"p95 {fmt(row['p95_ms'])} p99 {fmt(row['p99_ms'])} ms  4xx {row['4xx']} 5xx {row['5xx']} "
                    f"errors {row['errors']}"
                )
                await asyncio.sleep(args.pause)
        for target in TARGETS:
            tally = Tally()
            count = int(args.step_seconds * 2000)
            profile = args.profile and target == "webhook"
            pids = server.http_workers("ingest") if profile else []
            with Profiler(pids, f"ingest-{target}") if profile else _null() as prof:
                loop = asyncio.get_running_loop()
                elapsed = await closed_loop(
                    client,
                    urls[target],
                    itertools.islice(requests_for(target, lifecycles, counter), count),
                    args.concurrency,
                    tally,
                    timeout=args.timeout,
                    deadline=loop.time() + args.step_seconds,
                )
            row = {"target": target, "concurrency": args.concurrency, "seconds": elapsed, **tally.report(elapsed)}
            results["peak"][target] = row
            log(
                f"{target:8} peak ({args.concurrency} senders): {row['accepted_per_s']:7.1f}/s "
                f"p50 {fmt(row['p50_ms'])} p99 {fmt(row['p99_ms'])} ms 5xx {row['5xx']} errors {row['errors']}"
            )
            if profile:
                results["profile_webhook"] = prof.top(30)
            await asyncio.sleep(args.pause)
    return results


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def table(result):
    lines = [
        "| target | offered/s | accepted/s | p50 ms | p95 ms | p99 ms | 4xx | 5xx | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["steps"]:
        lines.append(
            f"| {row['target']} | {row['offered_per_s']} | {fmt(row['accepted_per_s'])} | {fmt(row['p50_ms'])} | "
            f"{fmt(row['p95_ms'])} | {fmt(row['p99_ms'])} | {row['4xx']} | {row['5xx']} | "
            f"{sum(row['errors'].values())} |"
        )
    for target, row in result["peak"].items():
        lines.append(
            f"| {target} (peak, {row['concurrency']} senders) | - | {fmt(row['accepted_per_s'])} | "
            f"{fmt(row['p50_ms'])} | {fmt(row['p95_ms'])} | {fmt(row['p99_ms'])} | {row['4xx']} | "
            f"{row['5xx']} | {sum(row['errors'].values())} |"
        )
    return "\n".join(lines)


def ratios(result):
    peak = result["peak"]
    low = {
        row["target"]: row
        for row in result["steps"]
        if row["offered_per_s"] == min(r["offered_per_s"] for r in result["steps"])
    }

    def div(a, b):
        return a / b if a and b else None

    return {
        "peak_webhook_over_floor": div(peak["webhook"]["accepted_per_s"], peak["floor"]["accepted_per_s"]),
        "peak_webhook_over_peer": div(peak["webhook"]["accepted_per_s"], peak["peer"]["accepted_per_s"]),
        "p50_webhook_over_floor": div(low["webhook"]["p50_ms"], low["floor"]["p50_ms"]),
        "p50_webhook_over_peer": div(low["webhook"]["p50_ms"], low["peer"]["p50_ms"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=[25, 50, 100, 200])
    parser.add_argument("--step-seconds", type=float, default=6.0, help="seconds per target and rate")
    parser.add_argument("--concurrency", type=int, default=8, help="senders of the closed-loop peak measure")
    parser.add_argument("--max-in-flight", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--pause", type=float, default=1.0)
    parser.add_argument("--connector", default="auto", help="stripe, canonical or auto (stripe when available)")
    parser.add_argument("--profile", action="store_true", help="py-spy the HTTP workers during the webhook peak")
    add_node_args(parser, job_capacity=0)
    args = parser.parse_args()

    with bench_session("ingest", args) as (pg, db, server):
        connector = pick_connector(pg, db, args.connector)
        rpc = Rpc(server.url, db)
        _backend_id, reference = create_backend(rpc, connector)
        urls = {
            "floor": f"{server.url}/integration_bench/floor",
            "webhook": f"{server.url}/integration/webhook/{reference}",
            "peer": f"{server.url}{peer_url(rpc)}",
        }
        log(f"connector {connector}; targets {json.dumps({k: v.rsplit('/', 1)[0] for k, v in urls.items()})}")
        result = header("ingest", args, server, connector)
        result.update(asyncio.run(measure(args, server, urls, Lifecycles(connector))))
        result["ratios"] = ratios(result)
        result["stored_events"] = pg.query(db, "SELECT count(*) FROM integration_event")[0][0]
        result["peer_partners"] = pg.query(db, "SELECT count(*) FROM res_partner WHERE email LIKE 'bench-%%'")[0][0]
        result["worker_peak_rss_mib"] = {pid: server.peak_rss_mib(pid) for pid in server.http_workers()}
    save_result("ingest", result)
    print(table(result))
    print("ratios:", json.dumps({k: fmt(v, 2) for k, v in result["ratios"].items()}))
    if result.get("profile_webhook"):
        print("webhook route, busiest frames (inclusive % of busy samples):")
        for frame, share in result["profile_webhook"]["inclusive"][:30]:
            print(f"  {share:5.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
