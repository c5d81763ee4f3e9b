"""JSON-RPC as the admin, for setting things up: backends, the peer's URL."""

import json

import httpx
from events import SECRET, STRIPE_SECRET


class Rpc:
    def __init__(self, url, db, login="admin", password="admin"):
        self.url, self.db, self.password = url, db, password
        self.client = httpx.Client(timeout=120)
        self.uid = self._call("common", "login", db, login, password)

    def _call(self, service, method, *args):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"service": service, "method": method, "args": list(args)},
        }
        answer = self.client.post(f"{self.url}/jsonrpc", json=payload).json()
        if answer.get("error"):
            raise RuntimeError(json.dumps(answer["error"])[:2000])
        return answer["result"]

    def __call__(self, model, method, *args, **kwargs):
        return self._call("object", "execute_kw", self.db, self.uid, self.password, model, method, list(args), kwargs)


def connector_types(pg, db):
    rows = pg.query(
        db,
        """SELECT s.value FROM ir_model_fields_selection s JOIN ir_model_fields f ON f.id = s.field_id
                           WHERE f.model = 'integration.backend' AND f.name = 'connector_type'""",
    )
    return {row[0] for row in rows}


def pick_connector(pg, db, wanted="auto"):
    """'stripe' once integration_stripe provides it, else 'canonical'."""
    available = connector_types(pg, db)
    if wanted == "auto":
        return "stripe" if "stripe" in available else "canonical"
    if wanted not in available:
        raise SystemExit(f"connector type {wanted!r} is not available (have: {', '.join(sorted(available))})")
    return wanted


def create_backend(rpc, connector, name="Bench", **vals):
    values = {
        "name": name,
        "connector_type": connector,
        "webhook_secret": STRIPE_SECRET if connector == "stripe" else SECRET,
        "retry_base_seconds": 2,
    }
    if connector == "stripe":
        # the events' objects as sent: no Stripe API here to fetch them from
        values["stripe_fetch_objects"] = ""
    values.update(vals)
    backend_id = rpc("integration.backend", "create", values)
    reference = rpc("integration.backend", "read", [backend_id], ["reference"])[0]["reference"]
    return backend_id, reference


def peer_url(rpc):
    automation = rpc("base.automation", "search_read", [("trigger", "=", "on_webhook")], ["webhook_uuid"], limit=1)
    return f"/web/hook/{automation[0]['webhook_uuid']}"
