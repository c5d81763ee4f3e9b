"""Smoke check of a running suite (``bash setup/run``): one event end to end.

Creates a canonical backend through the web client's JSON-RPC, posts a signed
canonical customer to its webhook URL, then follows the event and its
queue job until the job runner has processed it::

    ~/.cache/odoo-integration/venv/bin/python tools/smoke.py [--url http://localhost:8069] [--db integration]

Prints each state change with its time, and exits non-zero if the event is
not done within the timeout.
"""

import argparse
import base64
import json
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime

import requests
from standardwebhooks.webhooks import Webhook


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8069")
    parser.add_argument("--db", default="integration")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()

    session = requests.Session()

    def rpc(path, params):
        answer = session.post(f"{args.url}{path}", json={"jsonrpc": "2.0", "params": params}, timeout=30).json()
        if answer.get("error"):
            sys.exit(f"{path}: {answer['error'].get('data', {}).get('message') or answer['error']}")
        return answer["result"]

    rpc("/web/session/authenticate", {"db": args.db, "login": args.login, "password": args.password})

    def call(model, method, *params, **kw):
        return rpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(params), "kwargs": kw},
        )

    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    backend_id = call(
        "integration.backend",
        "create",
        {"name": "Smoke check", "connector_type": "canonical", "webhook_secret": secret},
    )
    reference = call("integration.backend", "read", [backend_id], fields=["reference"])[0]["reference"]
    external_id = f"smoke-{uuid.uuid4().hex[:8]}"
    message = {
        "type": "customer",
        "schema_version": "1.0",
        "source": "smoke",
        "external_id": external_id,
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"name": f"Smoke {external_id}", "email": f"{external_id}@example.com"},
    }
    body = json.dumps(message)
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    started = time.monotonic()
    response = requests.post(
        f"{args.url}/integration/webhook/{reference}",
        data=body,
        timeout=10,
        headers={
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, now, body),
        },
    )
    print(f"{time.monotonic() - started:7.3f}s  POST webhook -> HTTP {response.status_code} {response.text}")
    response.raise_for_status()
    event_id = response.json()["event_id"]
    seen = None
    try:
        while time.monotonic() - started < args.timeout:
            event = call("integration.event", "read", [event_id], fields=["state", "job_ids", "record_ids"])[0]
            jobs = call("queue.job", "read", event["job_ids"], fields=["state"]) if event["job_ids"] else []
            status = (event["state"], tuple(job["state"] for job in jobs))
            if status != seen:
                print(f"{time.monotonic() - started:7.3f}s  event {event['state']:<10} job(s) {', '.join(status[1])}")
                seen = status
            if event["state"] in ("done", "failed", "dead", "ignored"):
                break
            time.sleep(0.2)
        partner = call("res.partner", "search_read", [("email", "=", f"{external_id}@example.com")], fields=["name"])
        print(f"partner created by the job: {partner}")
        return 0 if seen and seen[0] == "done" and partner else 1
    finally:
        call("integration.backend", "write", [backend_id], {"active": False})


if __name__ == "__main__":
    sys.exit(main())
