"""A local Salesforce organization for the tests, answering with the REST API's documented shapes.

* ``POST /services/oauth2/token`` (client credentials, form encoded):
  ``{"access_token", "instance_url", "id", "token_type", "issued_at",
  "signature", "scope"}``; bad credentials: ``400 {"error": "invalid_client",
  "error_description"}``;
* every other call needs a live token, else ``401 [{"message": "Session
  expired or invalid", "errorCode": "INVALID_SESSION_ID"}]``;
* ``GET /services/data/vXX.X/query/?q=<SOQL>``: ``{"totalSize", "done",
  "nextRecordsUrl", "records": [{"attributes": {"type", "url"}, ...}]}``,
  paged (``Sforce-Query-Options: batchSize``, or :attr:`page_size`); the
  next pages at ``nextRecordsUrl``; a forgotten locator: ``400
  INVALID_QUERY_LOCATOR``;
* ``GET .../sobjects/<type>/deleted/?start=&end=``: ``{"deletedRecords":
  [{"id", "deletedDate"}], "earliestDateAvailable", "latestDateCovered"}``;
* ``PATCH .../sobjects/<type>/<id>``: ``204`` without a body; unknown record
  ``404 NOT_FOUND``, unknown field ``400 INVALID_FIELD``;
* errors are arrays of ``{"message", "errorCode"}``; ``script`` answers go first.
"""

import itertools
import json
import re
import threading
from urllib.parse import parse_qs, urlsplit

VERSION = "v61.0"
CLIENT_ID = "3MVG9-consumer-key-of-the-connected-app"
CLIENT_SECRET = "E6A1-consumer-secret-of-the-connected-app"


def sf_error(status, code, message):
    return status, {}, [{"message": message, "errorCode": code}]


class SalesforceApi:
    def __init__(self, url_holder=None):
        self.records = {}  # sobject -> [record]
        self.deleted = {}  # sobject -> [{"id", "deletedDate"}]
        self.fields = {"Account": {"Billing_Status__c", "Billing_Plan__c", "MRR__c"}}
        self.patched = []
        self.script = []
        self.page_size = None
        self.garbled_pages = 0  # next pages answered half (a connection cut mid-page)
        self.tokens = set()
        self.token_requests = 0
        self.locators = {}
        self.url = None  # the instance URL, set once the server listens
        self.lock = threading.Lock()
        self._counter = itertools.count(1)

    def add(self, sobject, **record):
        record["attributes"] = {
            "type": sobject,
            "url": f"/services/data/{VERSION}/sobjects/{sobject}/{record['Id']}",
        }
        self.records.setdefault(sobject, []).append(record)
        return record

    def expire_tokens(self):
        self.tokens.clear()

    def __call__(self, method, path, headers, body):
        with self.lock:
            if self.script:
                return self.script.pop(0)
        url = urlsplit(path)
        if url.path == "/services/oauth2/token":
            return self._token(parse_qs(body.decode()))
        token = (headers.get("Authorization") or "").removeprefix("Bearer ")
        if token not in self.tokens:
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        base = f"/services/data/{VERSION}/"
        rest = url.path.removeprefix(base)
        if rest == "query/":
            return self._query(parse_qs(url.query)["q"][0], headers)
        if rest.startswith("query/"):
            return self._next(rest.removeprefix("query/"))
        if rest == "limits":
            return 200, {}, {"DailyApiRequests": {"Max": 100000, "Remaining": 99990}}
        parts = rest.split("/")
        if parts[0] == "sobjects" and len(parts) >= 3 and parts[2] == "deleted":
            return self._deleted(parts[1], parse_qs(url.query))
        if method == "PATCH" and parts[0] == "sobjects" and len(parts) == 3:
            return self._patch(parts[1], parts[2], json.loads(body))
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    def _token(self, form):
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {}, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
        if form.get("client_id") != [CLIENT_ID] or form.get("client_secret") != [CLIENT_SECRET]:
            return 400, {}, {"error": "invalid_client", "error_description": "invalid client credentials"}
        self.token_requests += 1
        token = f"00D5g000004Xyz!AQ0AQ.token{next(self._counter)}"
        self.tokens.add(token)
        return (
            200,
            {},
            {
                "access_token": token,
                "signature": "c2lnbmF0dXJl",
                "scope": "api",
                "instance_url": self.url,
                "id": "https://login.salesforce.com/id/00D5g000004XyzEAA/0055g00000A1b2CAAQ",
                "token_type": "Bearer",
                "issued_at": "1772447400000",
            },
        )

    def _query(self, soql, headers):
        sobject = re.search(r"FROM (\w+)", soql).group(1)
        since = re.search(r"SystemModstamp >= (\S+)", soql)
        records = sorted(self.records.get(sobject, []), key=lambda r: (r["SystemModstamp"], r["Id"]))
        if since:
            stamp = since.group(1).replace("Z", ".000+0000")
            records = [record for record in records if record["SystemModstamp"] >= stamp]
        options = headers.get("Sforce-Query-Options") or ""
        size = self.page_size or int(options.partition("batchSize=")[2] or 2000)
        return self._page(records, size, len(records))

    def _page(self, records, size, total):
        page, rest = records[:size], records[size:]
        answer = {"totalSize": total, "done": not rest, "records": page}
        if rest:
            locator = f"01gD0000002HU6KIAW-{next(self._counter) * 1000}"
            self.locators[locator] = (rest, size, total)
            answer["nextRecordsUrl"] = f"/services/data/{VERSION}/query/{locator}"
        return 200, {}, answer

    def _next(self, locator):
        if self.garbled_pages and locator in self.locators:
            self.garbled_pages -= 1
            return 200, {"Content-Type": "application/json"}, b'{"totalSize": 5, "done": fa'
        if locator not in self.locators:
            return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        rest, size, total = self.locators.pop(locator)
        return self._page(rest, size, total)

    def _deleted(self, sobject, query):
        start, end = query["start"][0], query["end"][0]
        return (
            200,
            {},
            {
                "deletedRecords": self.deleted.get(sobject, []),
                "earliestDateAvailable": "2026-02-20T00:00:00.000+0000",
                "latestDateCovered": end.replace("+00:00", ".000+0000") if start else None,
            },
        )

    def _patch(self, sobject, record_id, values):
        if not any(record["Id"] == record_id for record in self.records.get(sobject, [])):
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        unknown = sorted(set(values) - self.fields.get(sobject, set()))
        if unknown:
            return sf_error(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {sobject}")
        self.patched.append((sobject, record_id, values))
        return 204, {}, b""
