"""A local HubSpot CRM API for the tests, answering with HubSpot's documented shapes.

Served through integration_base's local HTTP server (a real socket)::

    api = HubspotApi()
    api.add("contacts", fixture("hubspot_contact_512.json"))
    with local_http_server(api) as server: ...

* ``POST /crm/v3/objects/{type}/batch/read``: ``200`` with ``status``,
  ``results``, ``startedAt``, ``completedAt``; ``207`` with ``numErrors``
  and ``errors`` (``OBJECT_NOT_FOUND``, ``context.ids``) when some ids are
  unknown;
* ``POST /crm/v4/associations/{from}/{to}/batch/read``: ``results`` of
  ``from``/``to`` (``toObjectId``, ``associationTypes`` with ``category``,
  ``typeId``, ``label``);
* ``GET /crm/v3/owners``, ``POST /crm/v3/objects/{type}/search``,
  ``POST /crm/v3/objects/{type}`` (201), ``PATCH /crm/v3/objects/{type}/{id}``
  (or ``/{email}?idProperty=email``),
  ``PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{to id}``;
* errors as ``{"status": "error", "message", "correlationId", "category"}``;
  ``script`` answers (e.g. a 429 with HubSpot's rate-limit headers) go first.
"""

import itertools
import json
import threading
from urllib.parse import parse_qs, unquote, urlsplit

NOW = "2026-03-02T10:00:00.000Z"
RATE_LIMITED = (
    429,
    {
        "Retry-After": "1",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": "190",
        "X-HubSpot-RateLimit-Remaining": "0",
    },
    {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "c6b9f1a0-8b3e-4b51-9d0e-0f6a3c2b1e11",
        "policyName": "TEN_SECONDLY_ROLLING",
    },
)


def error(status, category, message):
    return status, {}, {"status": "error", "message": message, "correlationId": "0d1e2f3a", "category": category}


class HubspotApi:
    def __init__(self):
        self.objects = {}  # (path, id) -> object
        self.associations = {}  # (from path, id, to path) -> [(to id, type id, label)]
        self.owners = []
        self.script = []  # answers served before anything else
        self.lock = threading.Lock()
        self._ids = itertools.count(90001)

    def add(self, path, obj):
        self.objects[(path, str(obj["id"]))] = obj
        return obj

    def link(self, from_path, from_id, to_path, to_id, type_id, label=None):
        self.associations.setdefault((from_path, str(from_id), to_path), []).append((str(to_id), type_id, label))

    def __call__(self, method, path, headers, body):
        with self.lock:
            if self.script:
                return self.script.pop(0)
        url = urlsplit(path)
        parts = url.path.strip("/").split("/")
        payload = json.loads(body) if body else {}
        if parts[:3] == ["crm", "v3", "objects"] and parts[-2:] == ["batch", "read"]:
            return self._batch_read(parts[3], payload)
        if parts[:3] == ["crm", "v4", "associations"] and parts[-2:] == ["batch", "read"]:
            return self._associations(parts[3], parts[4], payload)
        if parts[:3] == ["crm", "v3", "owners"]:
            return 200, {}, {"results": self.owners}
        if parts[:3] == ["crm", "v3", "objects"] and parts[-1] == "search":
            return self._search(parts[3], payload)
        if method == "POST" and parts[:3] == ["crm", "v3", "objects"] and len(parts) == 4:
            return self._create(parts[3], payload)
        if method == "PATCH" and parts[:3] == ["crm", "v3", "objects"] and len(parts) == 5:
            id_property = parse_qs(url.query).get("idProperty", [None])[0]
            return self._update(parts[3], unquote(parts[4]), payload, id_property)
        if method == "PUT" and parts[:3] == ["crm", "v4", "objects"] and "default" in parts:
            self.link(parts[3], parts[4], parts[7], parts[8], 279)
            return 200, {}, {"status": "COMPLETE", "results": [{"from": {"id": parts[4]}, "to": {"id": parts[8]}}]}
        if method == "GET" and parts[:3] == ["crm", "v3", "objects"] and len(parts) == 4:
            return 200, {}, {"results": []}
        return error(400, "VALIDATION_ERROR", f"unexpected {method} {path}")

    def _batch_read(self, kind, payload):
        ids = [str(item["id"]) for item in payload.get("inputs", [])]
        results = [self.objects[(kind, i)] for i in ids if (kind, i) in self.objects]
        missing = [i for i in ids if (kind, i) not in self.objects]
        answer = {"status": "COMPLETE", "results": results, "startedAt": NOW, "completedAt": NOW}
        if not missing:
            return 200, {}, answer
        answer.update(
            numErrors=1,
            errors=[
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {kind.upper()} objects, they may be deleted or not exist.",
                    "context": {"ids": missing},
                }
            ],
        )
        return 207, {}, answer

    def _associations(self, from_path, to_path, payload):
        results, missing = [], []
        for item in payload.get("inputs", []):
            links = self.associations.get((from_path, str(item["id"]), to_path))
            if not links:
                missing.append(str(item["id"]))
                continue
            results.append(
                {
                    "from": {"id": str(item["id"])},
                    "to": [
                        {
                            "toObjectId": int(to_id),
                            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": label}],
                        }
                        for to_id, type_id, label in links
                    ],
                }
            )
        answer = {"status": "COMPLETE", "results": results, "startedAt": NOW, "completedAt": NOW}
        if missing:
            answer["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    "message": "No associations found",
                    "context": {"fromObjectId": missing},
                }
            ]
            answer["numErrors"] = 1
        return (207 if missing else 200), {}, answer

    def _search(self, kind, payload):
        (condition,) = payload["filterGroups"][0]["filters"]
        found = [
            obj
            for (path, _id), obj in self.objects.items()
            if path == kind
            and str(obj["properties"].get(condition["propertyName"]) or "").lower() == condition["value"].lower()
        ]
        return 200, {}, {"total": len(found), "results": [{"id": obj["id"]} for obj in found[:1]]}

    def _create(self, kind, payload):
        obj = {
            "id": str(next(self._ids)),
            "properties": dict(payload.get("properties") or {}),
            "createdAt": NOW,
            "updatedAt": NOW,
            "archived": False,
        }
        self.add(kind, obj)
        for association in payload.get("associations") or ():
            kind_id = association["types"][0]["associationTypeId"]
            self.link(kind, obj["id"], "companies", association["to"]["id"], kind_id)
        return 201, {}, obj

    def _update(self, kind, object_id, payload, id_property=None):
        if id_property:  # a unique property identifies the object (contacts: email, case-insensitive)
            found = [
                obj
                for (path, _id), obj in self.objects.items()
                if path == kind and str(obj["properties"].get(id_property) or "").lower() == object_id.lower()
            ]
            object_id = found[0]["id"] if found else None
        obj = self.objects.get((kind, object_id))
        if obj is None:
            return error(404, "OBJECT_NOT_FOUND", f"resource not found: {kind} {object_id}")
        obj["properties"].update(payload.get("properties") or {})
        return 200, {}, obj

    def calls_to(self, server, fragment):
        """The calls ``server`` received whose path contains ``fragment``."""
        return [call for call in server.calls if fragment in call["path"]]
