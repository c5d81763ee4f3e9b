"""The README's benchmark table, from the latest JSON result of each benchmark.

``bash bench/run table`` prints it; ``--write README.md`` (relative to the
repository) replaces what
stands between the ``<!-- bench:begin -->`` and ``<!-- bench:end -->``
markers of that file.
"""

import argparse
import json
import re
import sys
from pathlib import Path

from env import REPO, RESULTS, fmt


def load(name):
    path = RESULTS / f"{name}-latest.json"
    return json.loads(path.read_text()) if path.exists() else None


def machine(result):
    m = result["machine"]
    return (
        f"{result['date'][:16].replace('T', ' ')} UTC, {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, "
        f"{result['workers']} HTTP workers, job capacity {result['job_capacity']}, connector {result['connector']}, "
        f"git {result.get('git') or '?'}"
    )


def render():
    out = []
    ingest = load("ingest")
    if ingest:
        out.append("<!-- bench:ingest -->")
        r = ingest["ratios"]
        out += [
            f"**Ingest** ({machine(ingest)}; job runner off, the route alone; each target through the edge "
            "and directly on the Odoo process behind it, the edge's throttles and caps out of the way)",
            "",
            "| target | path | offered/s | accepted/s | p50 ms | p95 ms | p99 ms | 4xx | 5xx | errors |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in ingest["steps"]:
            out.append(
                f"| {row['target']} | {row.get('path', 'direct')} | {row['offered_per_s']} | "
                f"{fmt(row['accepted_per_s'])} | {fmt(row['p50_ms'])} | {fmt(row['p95_ms'])} | {fmt(row['p99_ms'])} "
                f"| {row['4xx']} | {row['5xx']} | {sum(row['errors'].values())} |"
            )
        for row in ingest["peak"].values():
            out.append(
                f"| **{row['target']}, peak** ({row['concurrency']} senders"
                f"{', median of ' + str(row['rounds']) if row.get('rounds') else ''}) | "
                f"{row.get('path', 'direct')} | - | "
                f"**{fmt(row['accepted_per_s'])}** | {fmt(row['p50_ms'])} | {fmt(row['p95_ms'])} | "
                f"{fmt(row['p99_ms'])} | {row['4xx']} | {row['5xx']} | {sum(row['errors'].values())} |"
            )
        out += [
            "",
            f"Webhook route / floor: peak throughput x{fmt(r['peak_webhook_over_floor'], 2)}, "
            f"p50 at the lowest rate x{fmt(r['p50_webhook_over_floor'], 2)}. "
            f"Webhook route / automation-rule peer: peak throughput x{fmt(r['peak_webhook_over_peer'], 2)}, "
            f"p50 x{fmt(r['p50_webhook_over_peer'], 2)} (direct).",
        ]
        before = load("ingest-dbfilter")
        if before:
            peaks = ", ".join(
                f"{t} {fmt(before['peak'][f'{t} direct']['accepted_per_s'])} -> "
                f"{fmt(ingest['peak'][f'{t} direct']['accepted_per_s'])}/s"
                for t in ("webhook", "floor", "peer")
                if f"{t} direct" in before["peak"]
            )
            out.append(
                f"`db_name` without `dbfilter` (the configuration before, `--dbfilter '^db$'`, measured "
                f"{before['date'][:16].replace('T', ' ')} UTC, then now), peak directly on Odoo: {peaks}."
            )
        if "edge_cost_webhook" in r:
            costs = ", ".join(
                f"{t} {fmt(100 * r[f'edge_cost_{t}'], 1)}% (p50 {r[f'edge_p50_added_ms_{t}']:+.1f} ms)"
                for t in ("webhook", "floor", "peer")
                if r.get(f"edge_cost_{t}") is not None
            )
            verdict = "met" if max(r[f"edge_cost_{t}"] for t in ("webhook", "floor", "peer")) <= 0.10 else "NOT met"
            out.append(
                f"The edge's cost, peak throughput lost through it (p50 added at the lowest rate): {costs}; "
                f"target <= 10%: **{verdict}**."
            )
        out.append("")
    e2e = load("e2e")
    if e2e:
        out.append("<!-- bench:e2e -->")
        rec = e2e["records"]
        out += [
            f"**End to end** ({machine(e2e)})",
            "",
            "| lifecycles | lifecycles/s | events/s | job latency p50 / p95 / p99 s | job exec p50 / p95 ms "
            "| direct ORM lifecycles/s | middleware / direct time | records (each expected "
            f"{rec['expected_each']}) |",
            "|---:|---:|---:|---|---|---:|---:|---|",
            f"| {e2e['lifecycles']} | {fmt(e2e['lifecycles_per_s'], 2)} | {fmt(e2e['events_per_s'])} | "
            f"{fmt(e2e['job_latency_s']['p50'])} / {fmt(e2e['job_latency_s']['p95'])} / "
            f"{fmt(e2e['job_latency_s']['p99'])} | {fmt(e2e['job_exec_ms']['p50'], 0)} / "
            f"{fmt(e2e['job_exec_ms']['p95'], 0)} | {fmt(e2e['direct']['lifecycles_per_s'], 2)} | "
            f"x{fmt(e2e['overhead_ratio'], 2)} | partners {rec['partners']}, invoices {rec['invoices']} "
            f"({rec['invoices_paid']} paid), payments {rec['payments']}, duplicates {rec['duplicate_partners']} |",
            "",
            f"Events: {e2e['event_states']}, retried {e2e['events_retried']}.",
            "",
        ]
    burst = load("burst")
    if burst and "checks" in burst:
        out.append("<!-- bench:burst -->")
        p, rates = burst["post"], burst["done_per_s"]
        out += [
            f"**Burst and backlog, through the edge** ({machine(burst)}): **{burst['verdict']}**",
            "",
            "| events | senders | posted in s | acknowledged/s | answers | unanswered | lost | duplicated "
            "| 2xx p50 / p99 ms | backlog after posting | drained in s | done/s posting / after |",
            "|---:|---:|---:|---:|---|---|---:|---:|---|---:|---:|---|",
            f"| {p['events']} | {burst['args']['senders']} | {fmt(p['seconds'])} | {fmt(p['acknowledged_per_s'])} | "
            f"{p['statuses']} | {sum(p['unanswered'].values())} {p['unanswered'] or ''} | {burst['lost']} | "
            f"{burst['duplicates']} | {fmt(p['p50_ms'])} / {fmt(p['p99_ms'])} | {burst['backlog_at_post_end']} | "
            f"{fmt(burst['drain_seconds'])} | {fmt(rates['posting'])} / {fmt(rates['draining'])} "
            f"(x{fmt(burst['drain_ratio'], 2)}) |",
            "",
            "| Odoo for a person | /web/login p50 / p95 / max ms | search_read p50 / p95 / max ms |",
            "|---|---|---|",
        ]
        for phase, row in burst["interactive"].items():
            out.append(
                f"| {phase} | {fmt(row['login']['p50_ms'])} / {fmt(row['login']['p95_ms'])} / "
                f"{fmt(row['login']['max_ms'])} | {fmt(row['rpc']['p50_ms'])} / {fmt(row['rpc']['p95_ms'])} / "
                f"{fmt(row['rpc']['max_ms'])} |"
            )
        out += ["", "| check | |", "|---|---|"]
        out += [f"| {check} | {'ok' if ok else '**FAIL**'} |" for check, ok in burst["checks"].items()]
        out.append("")
    scale = load("scale")
    if scale:
        out.append("<!-- bench:scale -->")
        out += [
            f"**Scale** ({machine(scale)})",
            "",
            "| stored events | ingest/s | p50 / p99 ms | 5xx | post + apply s | job exec p50 ms | duplicate p50 ms "
            "| dedup lookup ms | binding lookup ms | worker peak RSS MiB |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in scale["sizes"].values():
            out.append(
                f"| {row['stored']:,} | {fmt(row['ingest']['accepted_per_s'])} | {fmt(row['ingest']['p50_ms'])} / "
                f"{fmt(row['ingest']['p99_ms'])} | {row['ingest']['5xx']} | {fmt(row['process_seconds'])} | "
                f"{fmt(row['job_exec_ms']['p50'], 0)} | {fmt(row['duplicates']['p50_ms'])} | "
                f"{fmt(row['lookup_ms']['dedup_conflict'], 3)} | {fmt(row['lookup_ms']['binding_find'], 3)} | "
                f"{fmt(row['worker_peak_rss_mib'], 0)} |"
            )
        out.append("")
    fault = load("fault")
    if fault:
        out.append("<!-- bench:fault -->")
        v = fault["verify"]
        out += [
            f"**Fault run** ({machine(fault)}): **{fault['verdict']}** -- {fault['unique_events']} events "
            f"({fault['lifecycles']} lifecycles) + {fault['redeliveries']} redeliveries, shuffled; faults: "
            + ", ".join(a["action"] for a in fault["faults"])
            + "; processes that exited and setup/run's supervisor restarted: "
            + (", ".join(f"{name} ({how})" for name, how in fault["odoo_master_restarts"]) or "none")
            + "; "
            f"outbound calls {v['outbound_calls']}; {fault['total_seconds']:.0f} s.",
            "",
            "| check | |",
            "|---|---|",
        ]
        out += [f"| {check} | {'ok' if ok else '**FAIL**'} |" for check, ok in v["checks"].items()]
        out += [
            "",
            f"Sender side: {fault['post']['2xx']} deliveries acknowledged, {fault['post']['5xx']} 5xx, "
            f"{sum(fault['post']['errors'].values())} connection errors, 4xx {fault['post']['4xx']} "
            f"(retried, as Stripe does); lost {v['lost']}, duplicates {v['duplicates']}, retried {v['retried']}, "
            f"jobs re-queued after the kills {fault['requeued_dead_jobs']}.",
            "",
        ]
    failover = load("failover")
    if failover:
        out.append("<!-- bench:failover -->")
        f, sh = failover["failover"], failover["shares"]
        out += [
            f"**Scale-out and job-runner failover** ({machine(failover)}): **{failover['verdict']}** -- "
            f"{failover['events']} events ({failover['lifecycles']} lifecycles) through the edge to "
            f"{failover['topology']['processes']['ingest']} ingest and {failover['topology']['processes']['jobs']} "
            f"jobs processes, {failover['topology']['processes']['runner']} job runners; the active runner "
            f"({f.get('killed')}) SIGKILLed at {f.get('done_at_kill')} events done and kept down: "
            f"{f.get('taken_over_by')} held the lock {f.get('takeover_seconds')} s later; everything done "
            f"{fmt(failover['drain_after_kill_seconds'])} s after the kill ({fmt(failover['total_seconds'])} s in "
            f"all); webhooks acknowledged per ingest process {sh['webhook_2xx_by_ingest']}, jobs run per jobs "
            f"process {sh['runjob_by_jobs_process']}; records {failover['records']}; dead jobs re-queued "
            f"{failover['requeued_dead_jobs']}.",
            "",
            "| check | |",
            "|---|---|",
        ]
        out += [f"| {check} | {'ok' if ok else '**FAIL**'} |" for check, ok in failover["checks"].items()]
        out.append("")
    bad = load("badinput")
    if bad:
        out.append("<!-- bench:badinput -->")
        statuses, public_2xx = {}, {}
        for row in bad["table"]:
            for status, n in row["statuses"].items():
                if status == "LocalProtocolError":
                    status = "not sent (header httpx refuses)"
                statuses[status] = statuses.get(status, 0) + n
                if row["family"] == "unauthentic" and status.startswith("2"):
                    public_2xx[row["route"]] = public_2xx.get(row["route"], 0) + n
        out += [
            f"**Bad input** ({machine(bad)}): **{bad['verdict']}** -- {bad['requests']} requests on "
            + ", ".join(f"`{r['path']}`" for r in bad["routes"])
            + f"; answers {dict(sorted(statuses.items()))} (2xx to unauthentic requests: {public_2xx}, "
            "public by design); correctly signed but malformed events stored, after their jobs: "
            f"{bad['stored']['by_state']}; no 5xx, no failed job.",
            "",
        ]
        hardening = bad.get("hardening")
        if hardening:
            chunked = {k: v for k, v in hardening.items() if k.startswith("chunked 64 MiB")}
            rss = hardening.get("ingest worker peak RSS MiB before/after the chunked cases")
            out += [
                "Hardening cases: chunked bodies of 64 MiB answered "
                + ", ".join(
                    f"{k.removeprefix('chunked 64 MiB, ')}: {v['status']} after {v['sent_mib']} MiB"
                    for k, v in chunked.items()
                )
                + (f"; ingest processes' peak RSS {fmt(rss[0])} -> {fmt(rss[1])} MiB" if rss else "")
                + f"; credential-changing RPCs {hardening.get('credential-changing RPCs')}"
                + f"; 25 forged requests from one address at the default limit: {hardening.get('throttle statuses')}.",
                "",
                "| check | |",
                "|---|---|",
            ]
            out += [f"| {check} | {'ok' if ok else '**FAIL**'} |" for check, ok in bad["checks"].items()]
            out.append("")
    backbone = load("backbone")
    if backbone:
        out.append("<!-- bench:backbone -->")
        from backbone import render as render_backbone

        out += [render_backbone(backbone, machine(backbone)), ""]
    return "\n".join(out)


ORDER = ("ingest", "e2e", "burst", "scale", "fault", "failover", "badinput", "backbone")


def sections(text):
    """``{name: text}`` of a block whose sections start with ``<!-- bench:NAME -->``."""
    parts = re.split(r"^<!-- bench:(\w+) -->\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def merge(old, new):
    """The new sections, and the old ones of benchmarks without a result here."""
    merged = sections(old) | sections(new)
    return "".join(f"<!-- bench:{name} -->\n{merged[name]}" for name in ORDER if name in merged).rstrip("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="file whose bench:begin/bench:end block is replaced")
    parser.add_argument("--only", help="comma-separated benchmarks to render (the others' sections are kept)")
    args = parser.parse_args()
    text = render()
    if args.only:
        wanted = args.only.split(",")
        text = "".join(f"<!-- bench:{n} -->\n{body}" for n, body in sections(text).items() if n in wanted)
    if args.write:
        if not args.write.is_absolute():
            args.write = REPO / args.write  # bench/run works in bench/harness
        content = args.write.read_text()
        match = re.search(r"(<!-- bench:begin -->\n)(.*?)(<!-- bench:end -->)", content, flags=re.S)
        if not match:
            raise SystemExit(f"no <!-- bench:begin --> ... <!-- bench:end --> block in {args.write}")
        text = merge(match[2], text)
        content = content[: match.start(2)] + text + "\n" + content[match.end(2) :]
        args.write.write_text(content)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
