"""Burst and backlog: post ``--events`` signed events as fast as
``--senders`` connections can, then let the job runner drain the backlog
with the configured channel capacity.

Reports how many were acknowledged (2xx), refused (4xx), failed (5xx) or
timed out (target: no 5xx, no timeout), the posting rate, how long the
backlog takes to drain, and Odoo's interactive latency while it does: a
``GET /web/login`` and a JSON-RPC ``search_read`` with a user session, probed
every ``--probe-interval`` seconds, compared with the same probes when idle.
"""

import argparse
import asyncio
import itertools
import sys
import time

import httpx
from env import fmt, header, log, save_result
from events import Lifecycles
from load import Tally, closed_loop, new_client, summarize
from node import add_node_args, bench_session
from profiler import Profiler
from rpc import Rpc, create_backend, pick_connector


class Prober:
    """Interactive requests of a person using Odoo, timed by phase."""

    def __init__(self, url, db):
        self.url, self.db = url, db
        self.samples = {}  # phase -> {"login": [...], "rpc": [...], "errors": n}
        self.phase = "idle"

    async def login(self, client):
        response = await client.post(
            f"{self.url}/web/session/authenticate",
            json={"jsonrpc": "2.0", "method": "call", "params": {"db": self.db, "login": "admin", "password": "admin"}},
        )
        response.raise_for_status()

    async def probe_once(self, client):
        bucket = self.samples.setdefault(self.phase, {"login": [], "rpc": [], "errors": 0})
        try:
            start = time.monotonic()
            response = await client.get(f"{self.url}/web/login", timeout=60)
            if response.status_code == 200:
                bucket["login"].append(time.monotonic() - start)
            else:
                bucket["errors"] += 1
            start = time.monotonic()
            response = await client.post(
                f"{self.url}/web/dataset/call_kw/res.partner/search_read",
                timeout=60,
                json={
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {
                        "model": "res.partner",
                        "method": "search_read",
                        "args": [[]],
                        "kwargs": {"fields": ["name", "email"], "limit": 20, "order": "id desc"},
                    },
                },
            )
            if response.status_code == 200 and "result" in response.json():
                bucket["rpc"].append(time.monotonic() - start)
            else:
                bucket["errors"] += 1
        except httpx.HTTPError:
            bucket["errors"] += 1

    async def run(self, stop, interval):
        async with httpx.AsyncClient(timeout=60) as client:
            await self.login(client)
            while not stop.is_set():
                await self.probe_once(client)
                with __import__("contextlib").suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)

    def report(self):
        return {
            phase: {
                "login": summarize(b["login"]) | {"n": len(b["login"])},
                "rpc": summarize(b["rpc"]) | {"n": len(b["rpc"])},
                "errors": b["errors"],
            }
            for phase, b in self.samples.items()
        }


def events_of(kind, lifecycles, n):
    if kind == "customers":
        for k in range(n):
            yield lifecycles.lifecycle(k)[0]
    else:
        yield from itertools.islice((e for k in itertools.count() for e in lifecycles.lifecycle(k)), n)


async def burst(args, server, pg, db, url, lifecycles, backend_id):
    prober = Prober(server.url, db)
    stop = asyncio.Event()
    result = {}
    # idle reference
    async with httpx.AsyncClient(timeout=60) as client:
        await prober.login(client)
        for _ in range(args.idle_probes):
            await prober.probe_once(client)
            await asyncio.sleep(0.2)
    prober.phase = "posting"
    probe_task = asyncio.create_task(prober.run(stop, args.probe_interval))
    tally = Tally()
    requests_ = ((e.body, e.headers) for e in events_of(args.kind, lifecycles, args.events))
    start = time.monotonic()
    async with new_client(args.senders) as client:
        posted = await closed_loop(
            client,
            url,
            requests_,
            args.senders,
            tally,
            timeout=args.timeout,
            deadline=time.monotonic() + args.post_timeout,
        )
    result["post"] = tally.report(posted) | {"seconds": posted}
    log(f"posted {tally.count} in {posted:.1f}s: {tally.statuses} {tally.errors}")
    prober.phase = "draining"
    drain_start = time.monotonic()
    backlog = []

    def poll():
        deadline = time.monotonic() + args.drain_timeout
        while time.monotonic() < deadline:
            rows = pg.query(
                db, "SELECT state, count(*) FROM integration_event WHERE backend_id = %s GROUP BY state", (backend_id,)
            )
            states = dict(rows)
            pending = sum(v for k, v in states.items() if k in ("received", "queued", "processing"))
            jobs = pg.query(db, "SELECT count(*) FROM queue_job WHERE state IN ('pending','enqueued','started')")[0][0]
            backlog.append((round(time.monotonic() - drain_start, 1), pending))
            if not pending and not jobs:
                return time.monotonic() - drain_start
            time.sleep(1)
        return None

    profiler = Profiler(server.http_workers("jobs"), "burst") if args.profile else None
    if profiler:
        profiler.__enter__()
    drained = await asyncio.to_thread(poll)
    if profiler:
        profiler.__exit__(None, None, None)
        result["profile"] = profiler.top(40)
    stop.set()
    await probe_task
    result.update(
        drain_seconds=drained,
        drained=drained is not None,
        total_seconds=time.monotonic() - start,
        backlog_at_post_end=backlog[0][1] if backlog else None,
        backlog_curve=backlog[:: max(1, len(backlog) // 30)],
        interactive=prober.report(),
    )
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000, help="events to post (the full run: 10000)")
    parser.add_argument("--kind", choices=("customers", "lifecycles"), default="customers")
    parser.add_argument("--senders", type=int, default=32, help="concurrent connections posting")
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout of one post")
    parser.add_argument("--post-timeout", type=float, default=600, help="bound of the posting phase")
    parser.add_argument("--drain-timeout", type=float, default=1200)
    parser.add_argument("--probe-interval", type=float, default=1.0)
    parser.add_argument("--idle-probes", type=int, default=20)
    parser.add_argument("--connector", default="auto")
    parser.add_argument("--profile", action="store_true", help="py-spy the HTTP workers during the drain")
    add_node_args(parser)
    args = parser.parse_args()

    with bench_session("burst", args) as (pg, db, server):
        connector = pick_connector(pg, db, args.connector)
        rpc = Rpc(server.url, db)
        backend_id, reference = create_backend(rpc, connector)
        result = header("burst", args, server, connector)
        url = f"{server.url}/integration/webhook/{reference}"
        result.update(asyncio.run(burst(args, server, pg, db, url, Lifecycles(connector), backend_id)))
        result["event_states"] = dict(
            pg.query(
                db,
                "SELECT state, count(*) FROM integration_event WHERE backend_id = %s GROUP BY state",
                (backend_id,),
            )
        )
        result["stored"] = sum(result["event_states"].values())
        result["worker_peak_rss_mib"] = {pid: server.peak_rss_mib(pid) for pid in server.http_workers()}
    save_result("burst", result)
    post = result["post"]
    print(
        f"posted {post['sent']} in {fmt(post['seconds'])}s ({fmt(post['accepted_per_s'])}/s acknowledged): "
        f"2xx {post['accepted']}, 4xx {post['4xx']}, 5xx {post['5xx']}, errors {post['errors']}; "
        f"stored {result['stored']}; p50/p99 {fmt(post['p50_ms'])}/{fmt(post['p99_ms'])} ms"
    )
    print(
        f"backlog {result['backlog_at_post_end']} at the end of posting, drained in {fmt(result['drain_seconds'])}s "
        f"(job capacity {args.job_capacity}); states {result['event_states']}"
    )
    for phase, row in result["interactive"].items():
        print(
            f"interactive {phase:9}: /web/login p50 {fmt(row['login']['p50_ms'])} p95 {fmt(row['login']['p95_ms'])} "
            f"max {fmt(row['login']['max_ms'])} ms | search_read p50 {fmt(row['rpc']['p50_ms'])} "
            f"p95 {fmt(row['rpc']['p95_ms'])} max {fmt(row['rpc']['max_ms'])} ms | errors {row['errors']}"
        )
    if result.get("profile"):
        for frame, share in result["profile"]["inclusive"][:40]:
            print(f"  {share:5.1f}%  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
