"""Burst and backlog, through the edge: ``--events`` signed events from
``--senders`` connections to one webhook reference, while the job runner
drains the backlog on the jobs processes and a person uses Odoo.

Each sender posts its next event as soon as the last one is acknowledged,
and retries a refused one as Stripe would: after the ``Retry-After`` of a 429
or 503, after a back-off on anything else (a timeout or a reset included).
The edge's throttles are setup/run's defaults (``--edge-*`` to change them).

Reported, with a verdict (exit 1 unless every line holds):

* no request left unanswered: a sender-side timeout or reset is a failure
  (429 and 503 with Retry-After are answers);
* 0 lost (every acknowledged event stored), 0 duplicated (one row per event,
  one partner per customer);
* a person's ``GET /web/login`` and JSON-RPC ``search_read`` (through the
  edge, every ``--probe-interval`` s): p50 while posting <= 2x idle, p95 <=
  300 ms;
* the backlog drains while posting goes on: events done per second while
  posting >= 50% of the rate after posting.
"""

import argparse
import asyncio
import contextlib
import sys
import threading
import time

import httpx
from env import fmt, header, log, save_result
from events import Lifecycles
from load import post_until_acknowledged, summarize
from node import add_node_args, bench_session
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
                with contextlib.suppress(TimeoutError):
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


class BacklogWatch:
    """Events done over time (a thread polling the database every second)."""

    def __init__(self, pg, db, backend_id):
        self.pg, self.db, self.backend_id = pg, db, backend_id
        self.samples = []  # (t, phase, done, pending)
        self.phase = "posting"
        self.stop = threading.Event()

    def poll(self):
        rows = self.pg.query(
            self.db,
            "SELECT state, count(*) FROM integration_event WHERE backend_id = %s GROUP BY state",
            (self.backend_id,),
        )
        states = dict(rows)
        pending = sum(v for k, v in states.items() if k in ("received", "queued", "processing"))
        return states.get("done", 0), pending

    def run(self):
        while not self.stop.is_set():
            with contextlib.suppress(Exception):
                done, pending = self.poll()
                self.samples.append((time.monotonic(), self.phase, done, pending))
            self.stop.wait(1.0)

    def rate(self, phase):
        rows = [s for s in self.samples if s[1] == phase]
        if len(rows) < 2 or rows[-1][0] == rows[0][0]:
            return None
        return (rows[-1][2] - rows[0][2]) / (rows[-1][0] - rows[0][0])


async def burst(args, server, pg, db, url, events, backend_id):
    prober = Prober(server.url, db)
    async with httpx.AsyncClient(timeout=60) as client:
        await prober.login(client)
        for _ in range(args.idle_probes):
            await prober.probe_once(client)
            await asyncio.sleep(0.2)
    prober.phase = "posting"
    stop = asyncio.Event()
    probe_task = asyncio.create_task(prober.run(stop, args.probe_interval))
    watch = BacklogWatch(pg, db, backend_id)
    watcher = threading.Thread(target=watch.run, daemon=True)
    watcher.start()
    start = time.monotonic()
    acked, out = await post_until_acknowledged(
        url, events, args.senders, args.timeout, args.max_attempts, start + args.post_timeout
    )
    posted = time.monotonic() - start
    log(f"posted {len(acked)} acknowledged in {posted:.1f}s: {out['statuses']} unanswered {out['unanswered']}")
    prober.phase = watch.phase = "draining"
    drain_start = time.monotonic()
    backlog_at_post_end = watch.poll()[1]
    drained = None
    while time.monotonic() - drain_start < args.drain_timeout:
        if watch.poll()[1] == 0:
            drained = time.monotonic() - drain_start
            break
        await asyncio.sleep(1)
    await asyncio.sleep(2)  # a last sample of the drain
    watch.stop.set()
    watcher.join(5)
    stop.set()
    await probe_task
    curve = [(round(t - start, 1), phase, done, pending) for t, phase, done, pending in watch.samples]
    return acked, {
        "post": {
            "events": len(events),
            "seconds": posted,
            "acknowledged": len(acked),
            "acknowledged_per_s": len(acked) / posted if posted else None,
            "statuses": {str(k): v for k, v in sorted(out["statuses"].items())},
            "unanswered": out["unanswered"],
            "gave_up": out["gave_up"],
            **summarize(out["latencies"]),
        },
        "backlog_at_post_end": backlog_at_post_end,
        "drain_seconds": drained,
        "done_per_s": {"posting": watch.rate("posting"), "draining": watch.rate("draining")},
        "backlog_curve": curve[:: max(1, len(curve) // 40)],
        "interactive": prober.report(),
    }


def verdict(result):
    inter, post, rates = result["interactive"], result["post"], result["done_per_s"]
    idle, busy = inter.get("idle", {}), inter.get("posting", {})

    def ok_latency(kind):
        i, b = idle.get(kind, {}), busy.get(kind, {})
        return bool(i.get("p50_ms") and b.get("p50_ms")) and b["p50_ms"] <= 2 * i["p50_ms"] and b["p95_ms"] <= 300

    drain_ratio = rates["posting"] / rates["draining"] if rates["posting"] and rates["draining"] else None
    result["drain_ratio"] = drain_ratio
    return {
        "no request left unanswered (timeouts, resets)": not post["unanswered"],
        "every event acknowledged": post["acknowledged"] == post["events"] and not post["gave_up"],
        "0 lost (every acknowledged event stored)": result["lost"] == 0,
        "0 duplicated (one row per event, one partner per customer)": result["duplicates"] == 0,
        "every event done": set(result["event_states"]) <= {"done"},
        "/web/login while posting: p50 <= 2x idle, p95 <= 300 ms": ok_latency("login"),
        "search_read while posting: p50 <= 2x idle, p95 <= 300 ms": ok_latency("rpc"),
        "drain rate while posting >= 50% of the rate after": drain_ratio is not None and drain_ratio >= 0.5,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000, help="events to post (the full run: 10000)")
    parser.add_argument("--senders", type=int, default=32, help="concurrent connections posting")
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout of one post")
    parser.add_argument("--max-attempts", type=int, default=50, help="deliveries of one event before giving up")
    parser.add_argument("--post-timeout", type=float, default=1200, help="bound of the posting phase")
    parser.add_argument("--drain-timeout", type=float, default=1200)
    parser.add_argument("--probe-interval", type=float, default=1.0)
    parser.add_argument("--idle-probes", type=int, default=20)
    parser.add_argument("--connector", default="auto")
    add_node_args(parser)
    args = parser.parse_args()

    with bench_session("burst", args) as (pg, db, server):
        connector = pick_connector(pg, db, args.connector)
        rpc = Rpc(server.url, db)
        backend_id, reference = create_backend(rpc, connector)
        result = header("burst", args, server, connector)
        lifecycles = Lifecycles(connector)
        events = [lifecycles.lifecycle(k)[0] for k in range(args.events)]  # customer.created, each unique
        url = f"{server.url}/integration/webhook/{reference}"
        acked, measured = asyncio.run(burst(args, server, pg, db, url, events, backend_id))
        result.update(measured)
        stored = {
            r[0] for r in pg.query(db, "SELECT external_id FROM integration_event WHERE backend_id = %s", (backend_id,))
        }
        rows = pg.query(db, "SELECT count(*) FROM integration_event WHERE backend_id = %s", (backend_id,))[0][0]
        partners = pg.query(
            db,
            "SELECT count(*), count(DISTINCT email) FROM res_partner WHERE email LIKE %s",
            (f"bench-{lifecycles.run}%",),
        )[0]
        result["event_states"] = dict(
            pg.query(
                db, "SELECT state, count(*) FROM integration_event WHERE backend_id = %s GROUP BY state", (backend_id,)
            )
        )
        result["lost"] = len(acked - stored)
        result["duplicates"] = (rows - len(stored)) + (partners[0] - partners[1])
        result["partners"] = partners[0]
        result["restarts"] = server.restarts()
    result["checks"] = verdict(result)
    result["verdict"] = "PASS" if all(result["checks"].values()) else "FAIL"
    save_result("burst", result)
    post = result["post"]
    print(
        f"posted {post['events']} events in {fmt(post['seconds'])}s ({fmt(post['acknowledged_per_s'])}/s "
        f"acknowledged): answers {post['statuses']}, unanswered {post['unanswered']}; stored {len(stored)}, "
        f"lost {result['lost']}, duplicates {result['duplicates']}; p50/p99 {fmt(post['p50_ms'])}/"
        f"{fmt(post['p99_ms'])} ms"
    )
    rates = result["done_per_s"]
    print(
        f"backlog {result['backlog_at_post_end']} at the end of posting, drained in {fmt(result['drain_seconds'])}s; "
        f"done/s while posting {fmt(rates['posting'])}, after {fmt(rates['draining'])} "
        f"(x{fmt(result['drain_ratio'], 2)}); states {result['event_states']}"
    )
    for phase, row in result["interactive"].items():
        print(
            f"interactive {phase:9}: /web/login p50 {fmt(row['login']['p50_ms'])} p95 {fmt(row['login']['p95_ms'])} "
            f"max {fmt(row['login']['max_ms'])} ms | search_read p50 {fmt(row['rpc']['p50_ms'])} "
            f"p95 {fmt(row['rpc']['p95_ms'])} max {fmt(row['rpc']['max_ms'])} ms | errors {row['errors']}"
        )
    for check, ok in result["checks"].items():
        print(f"  [{'ok' if ok else 'FAIL'}] {check}")
    print(f"VERDICT: {result['verdict']}")
    return 0 if result["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
