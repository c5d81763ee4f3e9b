"""The HubSpot CRM API as the connector uses it (no ORM here).

Reads are batched: ``POST /crm/v3/objects/{type}/batch/read`` (100 ids a
call) for objects and ``POST /crm/v4/associations/{from}/{to}/batch/read``
for their associations, so that a webhook batch of a hundred events costs a
few calls instead of a hundred GETs.

Every call goes through integration_base's :func:`http_client.send`
(mandatory timeout, errors mapped onto the retryable/permanent hierarchy,
redacted logs) under the backend's rate limit: HubSpot allows a private app
190 requests per 10 seconds, i.e. ``rate`` calls a second with a burst of ten
seconds' worth (:data:`BURST_SECONDS`). A 429 answer raises
:class:`RateLimited` with HubSpot's ``Retry-After`` (or its rate-limit
interval header when there is none), and blocks the backend's calls in this
process until then: the other jobs of a batch wait instead of hitting the
limit in turn.
"""

import threading
import time
from urllib.parse import quote

from odoo.addons.integration_base.exceptions import PermanentError, RateLimited, Throttled
from odoo.addons.integration_base.http_client import send

BATCH_SIZE = 100
BURST_SECONDS = 10
INTERVAL_HEADER = "X-HubSpot-RateLimit-Interval-Milliseconds"
#: association type ids of a primary company (contact -> company, deal -> company)
PRIMARY_TYPE_IDS = frozenset({1, 5})
#: association type ids Odoo creates: contact -> company (primary)
CONTACT_TO_COMPANY_PRIMARY = 1

_blocked_until = {}
_blocked_lock = threading.Lock()


def _block(key, seconds):
    with _blocked_lock:
        _blocked_until[key] = max(_blocked_until.get(key, 0), time.monotonic() + seconds)


def _blocked_for(key):
    with _blocked_lock:
        return max(0.0, _blocked_until.get(key, 0) - time.monotonic())


def _chunks(values, size=BATCH_SIZE):
    values = list(dict.fromkeys(values))
    return [values[start : start + size] for start in range(0, len(values), size)]


class HubspotClient:
    """One backend's view of the CRM API.

    :param rate: calls per second (the burst is :data:`BURST_SECONDS` of them);
        falsy: no limit
    :param key: what the rate limit and the 429 block are counted on (the backend's id)
    :param scope: what makes ``key`` unique in the process (the database)
    """

    def __init__(self, base_url, token, timeout, rate=None, key=None, scope=None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.rate = rate
        self.key = key
        self.block_key = (scope, key or self.base_url)

    # ------------------------------------------------------------------
    # One call
    # ------------------------------------------------------------------
    def call(self, method, path, json=None, idempotency_key=None):
        """One request; :return: the response (2xx). :raise IntegrationError: see ``send``."""
        wait = _blocked_for(self.block_key)
        if wait:
            raise Throttled(f"HubSpot rate limit: calls paused for {wait:.1f}s after a 429", retry_after=wait)
        try:
            return send(
                method,
                f"{self.base_url}{path}",
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                json=json,
                idempotency_key=idempotency_key,
                rate=self.rate,
                rate_key=self.key,
                burst=self.rate * BURST_SECONDS if self.rate else None,
            )
        except Throttled:
            raise  # our own bucket: no call was made
        except RateLimited as exc:
            if exc.response is not None:  # HubSpot's 429
                exc.retry_after = exc.retry_after or self._interval(exc.response)
                _block(self.block_key, exc.retry_after)
            raise

    @staticmethod
    def _interval(response):
        try:
            return int(response.headers.get(INTERVAL_HEADER)) / 1000
        except (TypeError, ValueError):
            return BURST_SECONDS

    @staticmethod
    def json(response, what):
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(f"HubSpot answered {what} with something else than JSON") from exc

    @staticmethod
    def _check_errors(body, what, tolerated=("OBJECT_NOT_FOUND",)):
        """A 207 answer: missing objects are expected (deleted since), other errors are not."""
        for error in body.get("errors") or ():
            if error.get("category") not in tolerated:
                raise PermanentError(
                    f"HubSpot {what}: {error.get('category')}: {error.get('message')}",
                    hint="Check the private app's scopes (see the CRM readme), then retry.",
                )

    # ------------------------------------------------------------------
    # Reads
    # ------------------------------------------------------------------
    def batch_read(self, path, ids, properties):
        """``{id: object}`` of the objects HubSpot has among ``ids`` (the others were deleted)."""
        found = {}
        for chunk in _chunks(ids):
            body = {"properties": list(properties), "propertiesWithHistory": [], "inputs": [{"id": i} for i in chunk]}
            what = f"POST /crm/v3/objects/{path}/batch/read"
            answer = self.json(self.call("POST", f"/crm/v3/objects/{path}/batch/read", json=body), what)
            self._check_errors(answer, what)
            for obj in answer.get("results") or ():
                found[str(obj["id"])] = obj
        return found

    def batch_associations(self, from_path, to_path, ids):
        """``{id: [associated ids, the primary one first]}`` for ``ids`` (v4 associations)."""
        found = {}
        for chunk in _chunks(ids):
            path = f"/crm/v4/associations/{from_path}/{to_path}/batch/read"
            what = f"POST {path}"
            answer = self.json(self.call("POST", path, json={"inputs": [{"id": i} for i in chunk]}), what)
            self._check_errors(answer, what, tolerated=("OBJECT_NOT_FOUND", "NO_ASSOCIATIONS_FOUND"))
            for result in answer.get("results") or ():
                links = sorted(
                    result.get("to") or (),
                    key=lambda link: (
                        not any(
                            kind.get("typeId") in PRIMARY_TYPE_IDS or (kind.get("label") or "").lower() == "primary"
                            for kind in link.get("associationTypes") or ()
                        )
                    ),
                )
                found[str(result["from"]["id"])] = [str(link["toObjectId"]) for link in links]
        return found

    def owners(self, pages=10):
        """``{owner id: e-mail}`` of the account's owners (the salespeople)."""
        owners, after = {}, None
        for _page in range(pages):
            path = "/crm/v3/owners?limit=500" + (f"&after={after}" if after else "")
            answer = self.json(self.call("GET", path), "GET /crm/v3/owners")
            for owner in answer.get("results") or ():
                if owner.get("email"):
                    owners[str(owner["id"])] = owner["email"]
            after = ((answer.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
        return owners

    def search_id(self, path, prop, value):
        """The id of the first object whose ``prop`` equals ``value``, or None."""
        body = {
            "filterGroups": [{"filters": [{"propertyName": prop, "operator": "EQ", "value": value}]}],
            "properties": ["hs_object_id"],
            "limit": 1,
        }
        what = f"POST /crm/v3/objects/{path}/search"
        answer = self.json(self.call("POST", f"/crm/v3/objects/{path}/search", json=body), what)
        results = answer.get("results") or ()
        return str(results[0]["id"]) if results else None

    # ------------------------------------------------------------------
    # Writes
    # ------------------------------------------------------------------
    def create_object(self, path, properties, associations=(), idempotency_key=None):
        """Create an object; :param associations: ``[(to id, association type id)]``. :return: the response."""
        body = {"properties": properties}
        if associations:
            body["associations"] = [
                {"to": {"id": to_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": kind}]}
                for to_id, kind in associations
            ]
        return self.call("POST", f"/crm/v3/objects/{path}", json=body, idempotency_key=idempotency_key)

    def update_object(self, path, object_id, properties, idempotency_key=None):
        body = {"properties": properties}
        return self.call("PATCH", f"/crm/v3/objects/{path}/{object_id}", json=body, idempotency_key=idempotency_key)

    def update_by(self, path, prop, value, properties, idempotency_key=None):
        """``PATCH`` the object whose unique ``prop`` (``email``) is ``value``; its response, or None when none is."""
        try:
            return self.call(
                "PATCH",
                f"/crm/v3/objects/{path}/{quote(value, safe='')}?idProperty={prop}",
                json={"properties": properties},
                idempotency_key=idempotency_key,
            )
        except PermanentError as exc:
            if exc.response is not None and exc.response.status_code == 404:
                return None
            raise

    def associate(self, from_path, object_id, to_path, to_id):
        """Associate two objects with their default (unlabeled) association type."""
        return self.call("PUT", f"/crm/v4/objects/{from_path}/{object_id}/associations/default/{to_path}/{to_id}")
