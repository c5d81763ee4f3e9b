"""Odd Stripe objects, replayed as signed webhooks over real HTTP.

``tests/data/odd/`` holds Stripe events shaped like the documented ones with
odd values in every field type of every mapped object: huge and negative
integers, unknown statuses and intervals, wrong and unknown currencies, empty
and missing objects, unicode, inverted dates. Each file says what must come
of it (``_expect``, removed before sending). Whatever comes:

* no answer of the route is a 5xx;
* nothing in the log at ERROR, and no traceback;
* every event ends done (its record as expected), ignored with a reason, or
  with an exception that names its business object (what it is and its id or
  number, and the customer when Odoo knows it) in plain words.
"""

import json
import logging

from odoo.tests import HttpCase, tagged

from odoo.addons.integration_base.tests.common import local_http_server

from .common import DATA, FakeStripeApi, StripeCaseMixin, sign

ODD = DATA / "odd"


class LogProblems(logging.Handler):
    """Collects ERROR lines and tracebacks logged while attached (every thread)."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        message = record.getMessage()
        if record.levelno >= logging.ERROR or record.exc_info or "Traceback" in message:
            self.lines.append(f"{record.levelname} {record.name}: {message[:300]}")


@tagged("post_install", "-at_install")
class TestOddStripeObjects(StripeCaseMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._create_stripe_backend(name="Stripe (odd objects)")

    def _post(self, body):
        headers = {"Content-Type": "application/json", "Stripe-Signature": sign(body)}
        return self.url_open(f"/integration/webhook/{self.backend.reference}", data=body, headers=headers)

    def _exceptions(self, event):
        return self.env["integration.exception"].search(
            ["|", ("event_id", "=", event.id), ("event_ids", "in", event.ids)]
        )

    def test_odd_objects_are_refused_readably(self):
        files = sorted(ODD.glob("*.json"))
        self.assertGreaterEqual(len(files), 50)
        api = FakeStripeApi({"/v1/balance_transactions": [], "/v1/refunds": []})
        problems = LogProblems()
        cases = []
        logging.getLogger().addHandler(problems)
        try:
            with local_http_server(api) as server:
                self.backend.api_url = server.url
                for path in files:
                    payload = json.loads(path.read_text())
                    expect = payload.pop("_expect")
                    response = self._post(json.dumps(payload, ensure_ascii=False).encode())
                    self.assertLess(response.status_code, 500, f"{path.name}: {response.text}")
                    cases.append((path.name, payload, expect, response))
                self.perform_jobs()
        finally:
            logging.getLogger().removeHandler(problems)
        self.assertFalse(problems.lines, "no ERROR, no traceback:\n" + "\n".join(problems.lines))
        Event = self.env["integration.event"]
        for name, payload, expect, response in cases:
            with self.subTest(name):
                if expect["outcome"] == "refused":
                    self.assertEqual(response.status_code, expect["status"], response.text)
                    self.assertFalse(Event.search([("external_id", "=", payload["id"])]), "nothing stored")
                    continue
                self.assertIn(response.status_code, (200, 202), response.text)
                event = Event.search([("backend_id", "=", self.backend.id), ("external_id", "=", payload["id"])])
                self.assertEqual(len(event), 1)
                self._check_outcome(event, expect)

    def _check_outcome(self, event, expect):
        exceptions = self._exceptions(event)
        if expect["outcome"] == "done":
            self.assertEqual(event.state, "done", event.error_message)
            check = expect.get("check")
            if check:
                record = self._bound(check["type"], check["external_id"])
                self.assertTrue(record, check)
                self.assertRecordValues(record, [check["values"]])
            return
        if expect["outcome"] == "ignored":
            self.assertEqual(event.state, "ignored", event.error_message)
            self.assertTrue(event.note, "an ignored event says why")
            self.assertFalse(exceptions)
            return
        self.assertIn(event.state, ("failed", "dead"), event.note)
        self.assertEqual(len(exceptions), 1, exceptions.mapped("name"))
        named = f"{exceptions.name} | {exceptions.subject} | {exceptions.customer_name}"
        for words in expect["names"]:
            self.assertIn(words, named)
        if expect.get("category"):
            self.assertEqual(exceptions.category, expect["category"])
        if expect.get("words"):
            self.assertIn(expect["words"], exceptions.description)
        self.assertIn("\n", exceptions.description, "what happened, then what exactly is wrong")
        # plain words, not a Python error
        for technical in ("Traceback", "KeyError", "TypeError", "does not match", "NumericValueOutOfRange"):
            self.assertNotIn(technical, exceptions.description)
        self.assertTrue(exceptions.hint)
