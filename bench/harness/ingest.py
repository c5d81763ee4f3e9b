"""Ingest benchmark: signed events to the webhook route at rising rates,
against two references measured in the same run on the same server:

* floor -- ``POST /integration_bench/floor``: one INSERT and return;
* peer  -- an automation rule with a webhook trigger (``/web/hook/<uuid>``)
  creating the partner synchronously, what an Odoo admin would set up.

Each target is measured twice, through the edge (nginx, the public port)
and directly on the Odoo process behind it (webhook and peer: ingest-1;
floor: web-1), so that the edge's own cost shows. Each rate step sends to
every target and path in turn (open loop: requests leave on schedule
whatever the answers), then a closed loop with ``--concurrency`` senders
measures each one's peak, edge and direct alternating ``--rounds`` times
(the median round is kept: a shared machine's load drifts). The edge's throttles and connection caps are set
out of the way (``--edge-*`` flags; the burst run measures them): this is the
proxy's cost. By default the job runner is off (``--job-capacity 0``) so that
the route is measured alone; the stored events stay queued.
"""

import argparse
import asyncio
import itertools
import json
import sys

from env import fmt, header, log, save_result
from events import Lifecycles
from load import Tally, closed_loop, new_client, open_loop
from node import EDGE_SETTINGS, add_node_args, bench_session
from profiler import Profiler
from rpc import Rpc, create_backend, peer_url, pick_connector

TARGETS = ("floor", "webhook", "peer")
PATHS = ("edge", "direct")
ROLE = {"floor": "web", "webhook": "ingest", "peer": "ingest"}
OUT_OF_THE_WAY = 1_000_000  # the edge's rates and caps while measuring its cost


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
        for target, path in itertools.product(TARGETS, PATHS):
            tally = Tally()
            await closed_loop(
                client, urls[target, path], itertools.islice(requests_for(target, lifecycles, counter), 40), 4, tally
            )
            log(f"warm-up {target} {path}: {tally.statuses} {tally.errors}")
        for rate in args.rates:
            for target, path in itertools.product(TARGETS, PATHS):
                tally = Tally()
                count = int(rate * args.step_seconds)
                elapsed = await open_loop(
                    client,
                    urls[target, path],
                    itertools.islice(requests_for(target, lifecycles, counter), count),
                    rate,
                    tally,
                    max_in_flight=args.max_in_flight,
                    timeout=args.timeout,
                )
                row = {"target": target, "path": path, "offered_per_s": rate, "seconds": elapsed}
                row.update(tally.report(elapsed))
                results["steps"].append(row)
                log(
                    f"{target:8} {path:6} {rate:5}/s  accepted {row['accepted_per_s']:7.1f}/s  "
                    f"p50 {fmt(row['p50_ms'])} "
                    f"p95 {fmt(row['p95_ms'])} p99 {fmt(row['p99_ms'])} ms  4xx {row['4xx']} 5xx {row['5xx']} "
                    f"errors {row['errors']}"
                )
                await asyncio.sleep(args.pause)
        # the peaks: edge and direct alternate, --rounds times, and each
        # keeps its median round (a shared machine's load drifts)
        rounds = {}
        for round_, target, path in itertools.product(range(args.rounds), TARGETS, PATHS):
            tally = Tally()
            count = int(args.step_seconds * 2000)
            profile = args.profile and target == "webhook" and path == "direct" and round_ == 0
            pids = server.http_workers("ingest") if profile else []
            with Profiler(pids, f"ingest-{target}") if profile else _null() as prof:
                loop = asyncio.get_running_loop()
                elapsed = await closed_loop(
                    client,
                    urls[target, path],
                    itertools.islice(requests_for(target, lifecycles, counter), count),
                    args.concurrency,
                    tally,
                    timeout=args.timeout,
                    deadline=loop.time() + args.step_seconds,
                )
            row = {"target": target, "path": path, "concurrency": args.concurrency, "seconds": elapsed}
            row.update(tally.report(elapsed))
            rounds.setdefault(f"{target} {path}", []).append(row)
            log(
                f"{target:8} {path:6} peak ({args.concurrency} senders, round {round_ + 1}): "
                f"{row['accepted_per_s']:7.1f}/s p50 {fmt(row['p50_ms'])} p99 {fmt(row['p99_ms'])} ms "
                f"5xx {row['5xx']} errors {row['errors']}"
            )
            if profile:
                results["profile_webhook"] = prof.top(30)
            await asyncio.sleep(args.pause)
        for key, rows in rounds.items():
            ordered = sorted(rows, key=lambda r: r["accepted_per_s"])
            results["peak"][key] = ordered[len(ordered) // 2] | {
                "rounds": [round(r["accepted_per_s"], 1) for r in rows]
            }
    return results


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def table(result):
    lines = [
        "| target | path | offered/s | accepted/s | p50 ms | p95 ms | p99 ms | 4xx | 5xx | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["steps"]:
        lines.append(
            f"| {row['target']} | {row['path']} | {row['offered_per_s']} | {fmt(row['accepted_per_s'])} | "
            f"{fmt(row['p50_ms'])} | "
            f"{fmt(row['p95_ms'])} | {fmt(row['p99_ms'])} | {row['4xx']} | {row['5xx']} | "
            f"{sum(row['errors'].values())} |"
        )
    for row in result["peak"].values():
        lines.append(
            f"| {row['target']} (peak, {row['concurrency']} senders) | {row['path']} | - | "
            f"{fmt(row['accepted_per_s'])} | "
            f"{fmt(row['p50_ms'])} | {fmt(row['p95_ms'])} | {fmt(row['p99_ms'])} | {row['4xx']} | "
            f"{row['5xx']} | {sum(row['errors'].values())} |"
        )
    return "\n".join(lines)


def ratios(result):
    """Webhook vs floor and peer (direct), and what the edge costs each target."""
    peak = result["peak"]
    lowest = min(r["offered_per_s"] for r in result["steps"])
    low = {(r["target"], r["path"]): r for r in result["steps"] if r["offered_per_s"] == lowest}

    def div(a, b):
        return a / b if a and b else None

    def rate(target, path):
        return peak[f"{target} {path}"]["accepted_per_s"]

    out = {
        "peak_webhook_over_floor": div(rate("webhook", "direct"), rate("floor", "direct")),
        "peak_webhook_over_peer": div(rate("webhook", "direct"), rate("peer", "direct")),
        "p50_webhook_over_floor": div(low["webhook", "direct"]["p50_ms"], low["floor", "direct"]["p50_ms"]),
        "p50_webhook_over_peer": div(low["webhook", "direct"]["p50_ms"], low["peer", "direct"]["p50_ms"]),
    }
    for target in TARGETS:
        edge_over_direct = div(rate(target, "edge"), rate(target, "direct"))
        out[f"edge_cost_{target}"] = 1 - edge_over_direct if edge_over_direct is not None else None
        out[f"edge_p50_added_ms_{target}"] = (low[target, "edge"]["p50_ms"] or 0) - (
            low[target, "direct"]["p50_ms"] or 0
        )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=[25, 50, 100, 200])
    parser.add_argument("--step-seconds", type=float, default=6.0, help="seconds per target and rate")
    parser.add_argument("--concurrency", type=int, default=8, help="senders of the closed-loop peak measure")
    parser.add_argument("--rounds", type=int, default=3, help="peak measures per target and path (median kept)")
    parser.add_argument("--max-in-flight", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--pause", type=float, default=1.0)
    parser.add_argument("--connector", default="auto", help="stripe, canonical or auto (stripe when available)")
    parser.add_argument("--profile", action="store_true", help="py-spy the HTTP workers during the webhook peak")
    add_node_args(parser, job_capacity=0)
    parser.set_defaults(**{flag: OUT_OF_THE_WAY for flag in EDGE_SETTINGS if flag != "edge_queue"}, edge_queue=64)
    args = parser.parse_args()

    with bench_session("ingest", args) as (pg, db, server):
        connector = pick_connector(pg, db, args.connector)
        rpc = Rpc(server.url, db)
        _backend_id, reference = create_backend(rpc, connector)
        paths = {
            "floor": "/integration_bench/floor",
            "webhook": f"/integration/webhook/{reference}",
            "peer": peer_url(rpc),
        }
        urls = {}
        for target, path in itertools.product(TARGETS, PATHS):
            base = server.url if path == "edge" else server.direct_url(ROLE[target])
            urls[target, path] = base + paths[target]
        log(f"connector {connector}; targets {json.dumps({f'{t} {p}': u for (t, p), u in urls.items()})}")
        result = header("ingest", args, server, connector)
        result.update(asyncio.run(measure(args, server, urls, Lifecycles(connector))))
        result["ratios"] = ratios(result)
        result["stored_events"] = pg.query(db, "SELECT count(*) FROM integration_event")[0][0]
        result["peer_partners"] = pg.query(db, "SELECT count(*) FROM res_partner WHERE email LIKE 'bench-%%'")[0][0]
        result["worker_peak_rss_mib"] = {pid: server.peak_rss_mib(pid) for pid in server.http_workers("ingest")}
    # --dbfilter measures the configuration as it was (a database listing per request)
    save_result("ingest-dbfilter" if args.dbfilter else "ingest", result)
    print(table(result))
    print("ratios:", json.dumps({k: fmt(v, 2) for k, v in result["ratios"].items()}))
    if result.get("profile_webhook"):
        print("webhook route, busiest frames (inclusive % of busy samples):")
        for frame, share in result["profile_webhook"]["inclusive"][:30]:
            print(f"  {share:5.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
