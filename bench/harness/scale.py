"""Scale: does the cost of an event stay flat as the inbox grows?

On one server and database, for each size in ``--sizes`` (default 1,000 then
1,000,000), the inbox is filled with SQL up to that many stored events (done,
with a customer binding each, as after months of traffic), analyzed, and then:

* ingest: ``--events`` new events posted by ``--senders`` connections
  (accepted/s, latency), then as many redeliveries of stored events (the
  dedup path);
* processing: from the first post until the job runner applied them all;
* lookups: the dedup and binding queries the route and the appliers run,
  timed in PostgreSQL (EXPLAIN ANALYZE);
* the peak resident memory (VmHWM) of the HTTP workers.
"""

import argparse
import asyncio
import contextlib
import itertools
import sys
import time

from env import fmt, header, log, save_result
from events import Lifecycles
from load import Tally, closed_loop, new_client, percentile
from node import add_node_args, bench_session
from observe import wait_drained
from rpc import Rpc, create_backend, pick_connector

SEED_PAYLOAD = (
    '{"id":"evt_seed","object":"event","type":"customer.created","data":{"object":{"id":"cus_seed",'
    '"object":"customer","name":"Seeded Customer","email":"seed@example.com","metadata":{}}}}'
)


def seed(pg, db, backend_id, start, stop, batch=100_000):
    """Stored events ``start..stop-1`` (done) and one customer binding each."""
    company, partner = pg.query(
        db,
        "SELECT company_id, (SELECT partner_id FROM res_company LIMIT 1) FROM integration_backend WHERE id = %s",
        (backend_id,),
    )[0]
    for low in range(start, stop, batch):
        high = min(stop, low + batch)
        t0 = time.monotonic()
        with contextlib.closing(pg.connect(db, autocommit=False)) as conn, conn, conn.cursor() as cr:
            cr.execute(
                """INSERT INTO integration_event (backend_id, company_id, direction, source, event_type, external_id,
                       occurred_at, received_at, state, payload, headers, correlation_id, attempts, done_at,
                       create_uid, write_uid, create_date, write_date)
                   SELECT %s, %s, 'in', 'webhook', 'customer', 'seed_evt_' || g,
                          now() - interval '1 day' + g * interval '1 ms', now() - interval '1 day',
                          'done', %s, '{}', md5(g::text), 1, now() - interval '1 day', 1, 1, now(), now()
                     FROM generate_series(%s, %s) g""",
                (backend_id, company, SEED_PAYLOAD, low, high - 1),
            )
            cr.execute(
                """INSERT INTO integration_binding (backend_id, company_id, canonical_type, external_id, res_model,
                       res_id, source_ts, create_uid, write_uid, create_date, write_date)
                   SELECT %s, %s, 'customer', 'seed_cus_' || g, 'res.partner', %s, now() - interval '1 day',
                          1, 1, now(), now()
                     FROM generate_series(%s, %s) g""",
                (backend_id, company, partner, low, high - 1),
            )
        log(f"seeded {high:,} stored events ({time.monotonic() - t0:.1f}s for the last {high - low:,})")
    with contextlib.closing(pg.connect(db)) as conn, conn.cursor() as cr:
        cr.execute("VACUUM ANALYZE integration_event")
        cr.execute("VACUUM ANALYZE integration_binding")
        # write the seeded pages out now, not during the measure
        cr.execute("CHECKPOINT")


def explain_ms(pg, db, sql, args, repeat=5):
    times = []
    for _ in range(repeat):
        plan = pg.query(db, "EXPLAIN (ANALYZE, FORMAT JSON) " + sql, args)[0][0]
        times.append(plan[0]["Execution Time"])
    return min(times)


async def ingest(url, events, senders):
    tally = Tally()
    async with new_client(senders) as client:
        elapsed = await closed_loop(client, url, ((e.body, e.headers) for e in events), senders, tally)
    return tally.report(elapsed)


def measure(args, pg, db, server, url, backend_id, lifecycles, size, offset):
    row = {"stored": pg.query(db, "SELECT count(*) FROM integration_event")[0][0]}
    fresh = [lifecycles.lifecycle(offset + k)[0] for k in range(args.events)]
    log(f"{size:,} stored: posting {args.events} new events")
    jobs_before = pg.query(db, "SELECT coalesce(max(id), 0) FROM queue_job")[0][0]
    t0 = time.monotonic()
    row["ingest"] = asyncio.run(ingest(url, fresh, args.senders))
    drained = wait_drained(pg, db, args.drain_timeout, [backend_id], poll=0.5)
    # from the first post to the last event applied (the runner works during the posting too)
    row["process_seconds"] = time.monotonic() - t0 if drained is not None else None
    exec_ms = [
        float(r[0]) * 1000
        for r in pg.query(db, "SELECT exec_time FROM queue_job WHERE id > %s AND state = 'done'", (jobs_before,))
        if r[0] is not None
    ]
    row["job_exec_ms"] = {"p50": percentile(exec_ms, 50), "p95": percentile(exec_ms, 95), "n": len(exec_ms)}
    # redeliveries of stored events: the dedup path
    redelivered = fresh[: args.events // 2]
    row["duplicates"] = asyncio.run(ingest(url, redelivered, args.senders))
    # the lookups, in PostgreSQL
    row["lookup_ms"] = {
        "dedup_conflict": explain_ms(
            pg,
            db,
            "SELECT id FROM integration_event WHERE backend_id = %s AND direction = 'in' AND external_id = %s",
            (backend_id, f"seed_evt_{size // 2}"),
        ),
        "binding_find": explain_ms(
            pg,
            db,
            "SELECT id FROM integration_binding WHERE backend_id = %s AND canonical_type = "
            "'customer' AND external_id = %s",
            (backend_id, f"seed_cus_{size // 2}"),
        ),
        "queued_scan": explain_ms(
            pg,
            db,
            "SELECT id FROM integration_event WHERE state IN ('queued', 'failed', 'dead') AND next_retry_at < now()",
            (),
        ),
    }
    row["worker_peak_rss_mib"] = max((server.peak_rss_mib(p) or 0) for p in server.http_workers("ingest"))
    log(
        f"{size:,} stored: ingest {fmt(row['ingest']['accepted_per_s'])}/s p50 {fmt(row['ingest']['p50_ms'])} ms, "
        f"processing {fmt(row['process_seconds'])}s, duplicates p50 {fmt(row['duplicates']['p50_ms'])} ms, "
        f"lookups {row['lookup_ms']}"
    )
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 1_000_000])
    parser.add_argument("--events", type=int, default=400, help="new events posted and processed at each size")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--drain-timeout", type=float, default=900)
    parser.add_argument("--connector", default="auto")
    add_node_args(parser)
    args = parser.parse_args()

    rows = {}
    with bench_session("scale", args) as (pg, db, server):
        connector = pick_connector(pg, db, args.connector)
        rpc = Rpc(server.url, db)
        backend_id, reference = create_backend(rpc, connector)
        result = header("scale", args, server, connector)
        url = f"{server.url}/integration/webhook/{reference}"
        lifecycles = Lifecycles(connector)
        # warm-up outside the measure
        asyncio.run(ingest(url, [lifecycles.lifecycle(10**6 + k)[0] for k in range(50)], 4))
        wait_drained(pg, db, 300, [backend_id])
        seeded, offset = 0, itertools.count(0, args.events)
        for size in sorted(args.sizes):
            stored = pg.query(db, "SELECT count(*) FROM integration_event")[0][0]
            if size > stored:
                seed(pg, db, backend_id, seeded, seeded + size - stored)
                seeded += size - stored
            rows[size] = measure(args, pg, db, server, url, backend_id, lifecycles, size, next(offset))
        result["sizes"] = rows
        result["table_size_mb"] = pg.query(db, "SELECT pg_total_relation_size('integration_event') / 1048576")[0][0]
    save_result("scale", result)
    print(
        "| stored events | ingest/s | p50 ms | p99 ms | 5xx | processing s | job exec p50 ms | duplicate p50 ms "
        "| dedup lookup ms | binding lookup ms | worker peak RSS MiB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows.values():
        print(
            f"| {row['stored']:,} | {fmt(row['ingest']['accepted_per_s'])} | {fmt(row['ingest']['p50_ms'])} | "
            f"{fmt(row['ingest']['p99_ms'])} | {row['ingest']['5xx']} | {fmt(row['process_seconds'])} | "
            f"{fmt(row['job_exec_ms']['p50'], 0)} | {fmt(row['duplicates']['p50_ms'])} | "
            f"{fmt(row['lookup_ms']['dedup_conflict'], 3)} | {fmt(row['lookup_ms']['binding_find'], 3)} | "
            f"{fmt(row['worker_peak_rss_mib'], 0)} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
