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


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8069")
    parser.add_argument("--db", default="integration")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--timeout", type=float, default=60)
    return parser.parse_args()


class Client:
    """The web client's JSON-RPC (XML-RPC is deprecated in 19), logged in."""

    def __init__(self, url, db, login, password):
        self.url = url
        self.session = requests.Session()
        self.rpc("/web/session/authenticate", {"db": db, "login": login, "password": password})

    def rpc(self, path, params):
        answer = self.session.post(f"{self.url}{path}", json={"jsonrpc": "2.0", "params": params}, timeout=30).json()
        if answer.get("error"):
            sys.exit(f"{path}: {answer['error'].get('data', {}).get('message') or answer['error']}")
        return answer["result"]

    def call(self, model, method, *params, **kw):
        return self.rpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(params), "kwargs": kw},
        )


def _post_customer(url, reference, secret, external_id):
    """POST one signed canonical customer to the webhook route, as a sender would."""
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
    return requests.post(
        f"{url}/integration/webhook/{reference}",
        data=body,
        timeout=10,
        headers={
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, now, body),
        },
    )


def _follow(client, event_id, started, timeout):
    """Print the event's and its jobs' states as they change; the last state seen."""
    seen = None
    while time.monotonic() - started < timeout:
        event = client.call("integration.event", "read", [event_id], fields=["state", "job_ids", "record_ids"])[0]
        jobs = client.call("queue.job", "read", event["job_ids"], fields=["state"]) if event["job_ids"] else []
        status = (event["state"], tuple(job["state"] for job in jobs))
        if status != seen:
            print(f"{time.monotonic() - started:7.3f}s  event {event['state']:<10} job(s) {', '.join(status[1])}")
            seen = status
        if event["state"] in ("done", "failed", "dead", "ignored"):
            break
        time.sleep(0.2)
    return seen[0] if seen else None


def main():
    args = _arguments()
    client = Client(args.url, args.db, args.login, args.password)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    backend_id = client.call(
        "integration.backend",
        "create",
        {"name": "Smoke check", "connector_type": "canonical", "webhook_secret": secret},
    )
    reference = client.call("integration.backend", "read", [backend_id], fields=["reference"])[0]["reference"]
    external_id = f"smoke-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    response = _post_customer(args.url, reference, secret, external_id)
    print(f"{time.monotonic() - started:7.3f}s  POST webhook -> HTTP {response.status_code} {response.text}")
    response.raise_for_status()
    try:
        state = _follow(client, response.json()["event_id"], started, args.timeout)
        partner = client.call(
            "res.partner", "search_read", [("email", "=", f"{external_id}@example.com")], fields=["name"]
        )
        print(f"partner created by the job: {partner}")
        return 0 if state == "done" and partner else 1
    finally:
        client.call("integration.backend", "write", [backend_id], {"active": False})


if __name__ == "__main__":
    sys.exit(main())
