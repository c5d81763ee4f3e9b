"""Event backbone benchmark: RabbitMQ in and out, against the HTTP routes.

Odoo runs as ``bash setup/run`` starts it (2 HTTP workers, job capacity 2,
the AMQP consumer worker); RabbitMQ is the machine's (127.0.0.1:5672). Odoo
reaches it through a TCP proxy of this harness, which plays the broker's
faults on Odoo's connections only (the broker is shared: it is never
restarted). Every exchange and queue is named ``bench.<random>.*`` and
deleted at the end.

1. **consume**: N canonical customer messages published (signed, confirmed)
   to the AMQP backend's queue, vs the same N messages posted signed to the
   webhook route of a canonical backend by 4 senders: seconds until all are
   stored, and until all are applied (events done, partners made).
2. **publish**: N partner changes (RPC creates of 50) published by the
   outbox relay to the topic exchange (a bench queue bound with ``#``), vs
   the same N changes pushed by the canonical connector, one job per event,
   to a local HTTP endpoint: seconds until every outbound event is done.
3. **fault**: M inbound messages at a steady rate while Odoo changes
   partners (outbound); at 30% the broker "restarts" for Odoo (every
   connection dropped, new ones refused for ``--outage`` seconds); at 60% the
   consumer worker is killed (SIGKILL, by its PID; the master spawns it
   again). Verdict: every message stored and applied once, every outbound
   event published, nothing left on the queues.
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

import amqp
from env import REPO, fmt, header, log, save_result
from events import SECRET, standard_signature
from http_server import LocalHttpServer
from load import Tally, new_client, post_one
from node import add_node_args, bench_session
from observe import wait_drained
from rpc import Rpc, create_backend

sys.path.insert(0, str(REPO / "integration_amqp" / "tests"))
from tcp_proxy import TcpProxy

BROKER = (os.environ.get("BENCH_AMQP_HOST", "127.0.0.1"), int(os.environ.get("BENCH_AMQP_PORT", "5672")))


def _now():
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def customer(ref):
    return {
        "type": "customer",
        "schema_version": "1.0",
        "source": "bench",
        "external_id": ref,
        "occurred_at": _now(),
        "data": {"name": f"Bench {ref}", "email": f"{ref}@bench.example"},
    }


class Broker:
    """The harness's own connection (confirms on): produce, count, clean up."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.queues, self.exchanges = set(), set()
        self.conn = amqp.Connection(host=f"{BROKER[0]}:{BROKER[1]}", confirm_publish=True, connect_timeout=5)
        self.conn.connect()
        self.ch = self.conn.channel()

    def produce(self, queue, message_id, body):
        raw = json.dumps(body).encode()
        timestamp, signature = standard_signature(SECRET, message_id, raw)
        headers = {"webhook-id": message_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
        self.ch.basic_publish(
            amqp.Message(
                raw,
                content_type="application/json",
                delivery_mode=2,
                message_id=message_id,
                application_headers=headers,
            ),
            exchange="",
            routing_key=queue,
        )

    def sink(self, exchange):
        queue = f"{self.prefix}.sink"
        self.ch.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
        self.ch.queue_declare(queue, durable=True, auto_delete=False)
        self.ch.queue_bind(queue, exchange, routing_key="#")
        self.queues.add(queue)
        self.exchanges.add(exchange)
        return queue

    def count(self, queue):
        return self.ch.queue_declare(queue, passive=True).message_count

    def drain_ids(self, queue):
        ids = []
        while (message := self.ch.basic_get(queue, no_ack=True)) is not None:
            ids.append(message.properties.get("message_id"))
        return ids

    def close(self):
        for queue in self.queues:
            with contextlib.suppress(Exception):
                self.ch.queue_delete(queue)
        for exchange in self.exchanges:
            with contextlib.suppress(Exception):
                self.ch.exchange_delete(exchange)
        self.conn.close()


class HttpSink:
    """A local endpoint that accepts every push (the HTTP outbound's peer), served
    until the process ends."""

    def __init__(self):
        self.server = LocalHttpServer(lambda *_request: (200, {}, b"")).__enter__()
        self.url = f"{self.server.url}/events"

    @property
    def calls(self):
        return len(self.server.calls)


def count(pg, db, sql, args=()):
    return pg.query(db, sql, args)[0][0]


def wait_for(predicate, timeout, poll=0.2):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(poll)
    return None


def stored(pg, db, backend_id):
    return count(
        pg, db, "SELECT count(*) FROM integration_event WHERE backend_id = %s AND direction = 'in'", (backend_id,)
    )


# ----------------------------------------------------------------------
# 1. consume vs webhook
# ----------------------------------------------------------------------
def run_consume(pg, db, server, rpc, broker, amqp_id, queue, args):
    refs = [f"cus_amqp_{uuid.uuid4().hex[:12]}" for _ in range(args.events)]
    start = time.monotonic()
    for ref in refs:
        broker.produce(queue, f"msg-{ref}", customer(ref))
    published = time.monotonic() - start
    t_stored = wait_for(lambda: stored(pg, db, amqp_id) >= args.events, 600)
    t_applied = wait_drained(pg, db, 900, backend_ids=[amqp_id], poll=0.5)
    amqp_result = {
        "events": args.events,
        "publish_s": published,
        "stored_s": t_stored,
        "applied_s": t_applied,
        "states": dict(
            pg.query(
                db, "SELECT state, count(*) FROM integration_event WHERE backend_id = %s GROUP BY state", (amqp_id,)
            )
        ),
    }
    log(f"consume via AMQP: stored in {fmt(t_stored)} s, applied in {fmt(t_applied)} s")

    hook_id, reference = create_backend(rpc, "canonical", name="Bench webhook")
    url = f"{server.url}/integration/webhook/{reference}"
    refs = [f"cus_hook_{uuid.uuid4().hex[:12]}" for _ in range(args.events)]
    tally = Tally()

    async def post_all():
        queue_ = asyncio.Queue()
        for ref in refs:
            queue_.put_nowait(ref)

        async def sender(client):
            while not queue_.empty():
                ref = queue_.get_nowait()
                body = json.dumps(customer(ref)).encode()
                msg_id = f"msg-{ref}"
                ts, sig = standard_signature(SECRET, msg_id, body)
                headers = {
                    "Content-Type": "application/json",
                    "webhook-id": msg_id,
                    "webhook-timestamp": ts,
                    "webhook-signature": sig,
                }
                await post_one(client, url, body, headers, tally)

        async with new_client(8) as client:
            await asyncio.gather(*(sender(client) for _ in range(4)))

    start = time.monotonic()
    asyncio.run(post_all())
    t_hook_stored = time.monotonic() - start
    t_hook_applied = wait_drained(pg, db, 900, backend_ids=[hook_id], poll=0.5)
    hook_result = {
        "events": args.events,
        "stored_s": t_hook_stored,
        "applied_s": t_hook_applied + t_hook_stored if t_hook_applied is not None else None,
        "answers": tally.report(t_hook_stored),
    }
    log(f"consume via webhook: stored in {fmt(t_hook_stored)} s, applied in {fmt(hook_result['applied_s'])} s")
    return {"amqp": amqp_result, "webhook": hook_result}


# ----------------------------------------------------------------------
# 2. publish vs HTTP outbound
# ----------------------------------------------------------------------
def make_partners(rpc, n, tag, chunk=50):
    for first in range(0, n, chunk):
        rpc("res.partner", "create", [{"name": f"{tag} {k}"} for k in range(first, min(n, first + chunk))])


def outbound_done(pg, db, backend_id, n):
    return (
        count(
            pg,
            db,
            "SELECT count(*) FROM integration_event WHERE backend_id = %s AND direction = 'out' AND state = 'done'",
            (backend_id,),
        )
        >= n
    )


def run_publish(pg, db, rpc, broker, amqp_id, exchange, customer_type, args):
    sink = broker.sink(exchange)
    rpc("integration.backend", "write", [amqp_id], {"outbound_type_ids": [(6, 0, [customer_type])]})
    start = time.monotonic()
    make_partners(rpc, args.events, "amqp-out")
    t_committed = time.monotonic() - start
    t_done = wait_for(lambda: outbound_done(pg, db, amqp_id, args.events), 900, poll=0.5)
    t_done = t_done + t_committed if t_done is not None else None
    ids = broker.drain_ids(sink)
    rpc("integration.backend", "write", [amqp_id], {"outbound_type_ids": [(5, 0, 0)]})
    amqp_result = {
        "events": args.events,
        "changes_committed_s": t_committed,
        "published_s": t_done,
        "delivered": len(ids),
        "distinct": len(set(ids)),
    }
    log(f"publish via AMQP: {args.events} events published in {fmt(t_done)} s ({len(ids)} delivered)")

    http = HttpSink()
    # the sink listens on loopback: a destination a system administrator allows
    rpc("ir.config_parameter", "set_param", "integration_base.outbound_allowed_hosts", "127.0.0.1")
    hook_id, _reference = create_backend(
        rpc,
        "canonical",
        name="Bench HTTP out",
        api_url=http.url,
        rate_limit=0,
        outbound_type_ids=[(6, 0, [customer_type])],
    )
    start = time.monotonic()
    make_partners(rpc, args.events, "http-out")
    t_committed = time.monotonic() - start
    t_http = wait_for(lambda: outbound_done(pg, db, hook_id, args.events), 900, poll=0.5)
    t_http = t_http + t_committed if t_http is not None else None
    rpc("integration.backend", "write", [hook_id], {"outbound_type_ids": [(5, 0, 0)], "active": False})
    http.httpd.shutdown()
    log(f"publish via HTTP: {args.events} events sent in {fmt(t_http)} s ({http.calls} calls)")
    return {
        "amqp": amqp_result,
        "http": {"events": args.events, "changes_committed_s": t_committed, "published_s": t_http, "calls": http.calls},
    }


# ----------------------------------------------------------------------
# 3. fault run
# ----------------------------------------------------------------------
def consumer_pids(server):
    """The AMQP consumer workers of the ingest processes (setup/run loads integration_amqp there)."""
    masters = server.masters("ingest")
    text = server.log_text(list(masters))
    logged = [int(pid) for pid in re.findall(r"Worker WorkerAmqpConsumer \((\d+)\) alive", text)]
    alive = {child for pid in masters.values() for child in server.children(pid)}
    return [pid for pid in logged if pid in alive], logged


def run_fault(pg, db, server, rpc, broker, proxy, amqp_id, queue, exchange, customer_type, args):
    sink = broker.sink(exchange)
    broker.drain_ids(sink)
    rpc("integration.backend", "write", [amqp_id], {"outbound_type_ids": [(6, 0, [customer_type])]})
    partners = rpc("res.partner", "create", [{"name": f"fault-out {k}"} for k in range(args.fault_partners)])
    wait_drained(pg, db, 300, backend_ids=[amqp_id], poll=0.5)
    broker.drain_ids(sink)
    out_before = count(
        pg, db, "SELECT count(*) FROM integration_event WHERE backend_id = %s AND direction = 'out'", (amqp_id,)
    )
    in_before = stored(pg, db, amqp_id)
    refs = [f"cus_fault_{uuid.uuid4().hex[:12]}" for _ in range(args.fault_events)]
    faults, changes = [], 0
    start = time.monotonic()
    for k, ref in enumerate(refs):
        broker.produce(queue, f"msg-{ref}", customer(ref))
        if k % 10 == 0:  # Odoo-side changes, published meanwhile
            rpc("res.partner", "write", [partners[(k // 10) % len(partners)]], {"phone": f"+1 555 {k:06d}"})
            changes += 1
        if k == int(0.3 * len(refs)):
            dropped = proxy.drop()
            proxy.mode = "refuse"
            faults.append({"t": time.monotonic() - start, "fault": "broker restart", "connections_dropped": dropped})
            log(f"fault: broker restart for Odoo ({dropped} connections dropped, refused for {args.outage} s)")
            threading.Timer(args.outage, lambda: setattr(proxy, "mode", "pass")).start()
        if k == int(0.6 * len(refs)):
            alive, _logged = consumer_pids(server)
            for pid in alive:
                os.kill(pid, signal.SIGKILL)
            faults.append({"t": time.monotonic() - start, "fault": "consumer killed", "pids": alive})
            log(f"fault: consumer worker killed (SIGKILL {alive})")
        time.sleep(1.0 / args.fault_rate)
    posting = time.monotonic() - start
    t_stored = wait_for(lambda: stored(pg, db, amqp_id) - in_before >= len(refs), 600)
    drained = wait_drained(pg, db, 900, backend_ids=[amqp_id], poll=1.0)
    out_events = (
        count(pg, db, "SELECT count(*) FROM integration_event WHERE backend_id = %s AND direction = 'out'", (amqp_id,))
        - out_before
    )
    out_ids = broker.drain_ids(sink)
    in_ids = {
        row[0]
        for row in pg.query(
            db, "SELECT external_id FROM integration_event WHERE backend_id = %s AND direction = 'in'", (amqp_id,)
        )
    }
    partners_made = count(pg, db, "SELECT count(*) FROM res_partner WHERE email LIKE 'cus_fault_%%@bench.example'")
    distinct_partners = count(
        pg, db, "SELECT count(DISTINCT email) FROM res_partner WHERE email LIKE 'cus_fault_%%@bench.example'"
    )
    states = dict(
        pg.query(db, "SELECT state, count(*) FROM integration_event WHERE backend_id = %s GROUP BY state", (amqp_id,))
    )
    alive, logged = consumer_pids(server)
    checks = {
        "every message stored (none lost)": all(f"msg-{ref}" in in_ids for ref in refs),
        "stored once each (no extra rows)": stored(pg, db, amqp_id) - in_before == len(refs),
        "applied once each (one partner per message)": partners_made == distinct_partners == len(refs),
        "every event done": set(states) == {"done"},
        "inbound queue and dead letters empty": broker.count(queue) == 0 and broker.count(f"{queue}.dead") == 0,
        "every outbound event published": len(set(out_ids)) == out_events and out_events >= 1,
        "no outbound message delivered twice": len(out_ids) == len(set(out_ids)),
        "consumer worker respawned after the kill": len(logged) >= 2 and bool(alive),
    }
    verdict = "PASS" if all(checks.values()) else "FAIL"
    log(f"fault run: {verdict}")
    for name, ok in checks.items():
        log(f"  {'ok ' if ok else 'BAD'} {name}")
    return {
        "verdict": verdict,
        "checks": checks,
        "messages": len(refs),
        "posting_s": posting,
        "stored_s": t_stored,
        "drained_s": drained,
        "faults": faults,
        "outbound_changes": changes,
        "outbound_events": out_events,
        "outbound_delivered": len(out_ids),
        "outbound_distinct": len(set(out_ids)),
        "partners": partners_made,
        "states": states,
        "consumer_pids_logged": logged,
        "proxy_connections": proxy.connections,
    }


def render(result, machine):
    """The README's block of this benchmark (``bench/run table`` includes it)."""
    c, p, f = result["consume"], result["publish"], result["fault"]

    def rate(n, seconds):
        return fmt(n / seconds) if seconds else "-"

    ca, cw, pa, ph = c["amqp"], c["webhook"], p["amqp"], p["http"]
    lines = [
        f"**Event backbone** ({machine}; RabbitMQ 127.0.0.1:5672 through the harness's TCP proxy)",
        "",
        "| flow | events | stored in s | stored/s | applied (in) / published (out) in s | done/s | notes |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| in: AMQP queue -> inbox -> applied | {ca['events']} | {fmt(ca['stored_s'])} | "
        f"{rate(ca['events'], ca['stored_s'])} | {fmt(ca['applied_s'])} | {rate(ca['events'], ca['applied_s'])} | "
        f"published by the harness in {fmt(ca['publish_s'])} s; states {ca['states']} |",
        f"| in: webhook route (4 senders) -> applied | {cw['events']} | {fmt(cw['stored_s'])} | "
        f"{rate(cw['events'], cw['stored_s'])} | {fmt(cw['applied_s'])} | {rate(cw['events'], cw['applied_s'])} | "
        f"route p50 {fmt(cw['answers']['p50_ms'])} ms, p99 {fmt(cw['answers']['p99_ms'])} ms |",
        f"| out: outbox relay -> exchange | {pa['events']} | {fmt(pa['changes_committed_s'])} (changes) | - | "
        f"{fmt(pa['published_s'])} | {rate(pa['events'], pa['published_s'])} | "
        f"{pa['delivered']} delivered, {pa['distinct']} distinct |",
        f"| out: one job per event -> HTTP endpoint | {ph['events']} | {fmt(ph['changes_committed_s'])} (changes) | "
        f"- | {fmt(ph['published_s'])} | {rate(ph['events'], ph['published_s'])} | {ph['calls']} calls |",
        "",
        f"**Backbone fault run**: **{f['verdict']}** -- {f['messages']} inbound messages at a steady rate "
        f"({fmt(f['posting_s'])} s) and {f['outbound_changes']} partner changes published meanwhile; faults: "
        + "; ".join(
            f"{x['fault']} at {fmt(x['t'])} s" + (f" (PID {x['pids']})" if x.get("pids") else "") for x in f["faults"]
        )
        + f"; consumer worker PIDs seen {f['consumer_pids_logged']}; drained {fmt(f['drained_s'])} s after posting; "
        f"outbound {f['outbound_events']} events, {f['outbound_delivered']} delivered "
        f"({f['outbound_distinct']} distinct); partners {f['partners']}.",
        "",
        "| check | |",
        "|---|---|",
        *[f"| {name} | {'ok' if ok else '**FAILED**'} |" for name, ok in f["checks"].items()],
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500, help="messages per rate measure (default 500)")
    parser.add_argument("--fault-events", type=int, default=1000, help="inbound messages of the fault run")
    parser.add_argument("--fault-rate", type=float, default=40.0, help="messages/s of the fault run")
    parser.add_argument("--fault-partners", type=int, default=20, help="partners changed during the fault run")
    parser.add_argument("--outage", type=float, default=8.0, help="seconds the broker stays away")
    add_node_args(parser)
    args = parser.parse_args()
    prefix = f"bench.{uuid.uuid4().hex[:8]}"
    broker = Broker(prefix)
    proxy = TcpProxy(*BROKER).start()
    queue, exchange = f"{prefix}.inbox", f"{prefix}.events"
    broker.queues |= {queue, f"{queue}.dead"}
    broker.exchanges |= {f"{queue}.dlx", exchange}
    try:
        with bench_session("backbone", args) as (pg, db, server):
            rpc = Rpc(server.url, db)
            customer_type = rpc("integration.canonical.type", "search", [("code", "=", "customer")])[0]
            amqp_id, _ref = create_backend(
                rpc,
                "amqp",
                name="Bench bus",
                amqp_url=f"amqp://{proxy.url_netloc}/",
                amqp_username="guest",
                amqp_password="guest",
                amqp_exchange=exchange,
                amqp_queue=queue,
                amqp_consume=True,
                amqp_prefetch=100,
                amqp_batch_size=50,
                timeout=5.0,
            )
            if not wait_for(
                lambda: count(
                    pg,
                    db,
                    "SELECT count(*) FROM integration_backend WHERE id = %s AND amqp_consumer_state = 'connected'",
                    (amqp_id,),
                ),
                60,
            ):
                raise SystemExit(f"the consumer worker did not connect within 60 s: see {server.logfile('ingest-1')}")
            result = header("backbone", args, server, "amqp,canonical")
            result["consume"] = run_consume(pg, db, server, rpc, broker, amqp_id, queue, args)
            result["publish"] = run_publish(pg, db, rpc, broker, amqp_id, exchange, customer_type, args)
            result["fault"] = run_fault(
                pg, db, server, rpc, broker, proxy, amqp_id, queue, exchange, customer_type, args
            )
            save_result("backbone", result)
    finally:
        proxy.close()
        broker.close()
    return 0 if result["fault"]["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
