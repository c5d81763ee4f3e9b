"""Freshdesk: automation-rule webhooks in, API v2 reads, billing fields out.

Requests are shaped like Freshdesk's: a rule's *Simple* JSON content
(``{"freshdesk_webhook": {...}}``, ``tests/data/freshdesk_webhook_*.json``)
with the secret the rule sends (custom header or basic authentication);
the local server answers like API v2 (``GET /api/v2/tickets/{id}``,
``GET /api/v2/contacts/{id}``, ``PUT .../contacts|companies/{id}``, 429 with
``Retry-After``, 404 for what was deleted).
"""

import base64
import copy
import json
from urllib.parse import parse_qs, urlsplit

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon
from odoo.addons.integration_base.tests.common import LocalHttpServer

from ..freshdesk import SECRET_HEADER
from .common import OLD_SECRET, SECRET, BillingWorldMixin, ZendeskCaseMixin, fixture

ROUTE_LOGGER = "odoo.addons.integration_base.controllers.main"
API_KEY = "fd-agent-api-key-Xq3"
CONTACT, COMPANY = "contact:80012345678", "company:80000123456"


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class FakeFreshdeskApi(LocalHttpServer):
    """Freshdesk API v2 as far as the connector uses it; ``tickets`` and ``contacts`` by id."""

    def __init__(self):
        super().__init__(self._answer)
        self.reset()

    def reset(self):
        """Freshdesk as every test starts with it."""
        self.tickets = {1228307: fixture("freshdesk_api_ticket_1228307.json")}
        self.contacts = {80012345678: fixture("freshdesk_api_contact_80012345678.json")}
        self.script = []
        self.calls.clear()
        self.responder = self._answer

    def _answer(self, method, path, headers, body):
        if self.script:
            return self.script.pop(0)
        url = urlsplit(path)
        parts = url.path.strip("/").split("/")  # api v2 <kind> [<id>]
        if method == "GET" and parts[2:] == ["tickets"]:
            return 200, {}, self._list(parse_qs(url.query))
        kind, object_id = parts[2], int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None
        store = {"tickets": self.tickets, "contacts": self.contacts}.get(kind)
        if method == "GET" and store is not None and object_id in store:
            found = copy.deepcopy(store[object_id])
            if kind == "tickets" and "requester" not in parse_qs(url.query).get("include", [""])[0]:
                found.pop("requester", None)
            return 200, {}, found
        if method == "PUT" and kind in ("contacts", "companies") and object_id in (80012345678, 80000123456):
            return 200, {}, {"id": object_id, **json.loads(body)}
        return 404, {}, {"code": "not_found", "message": "There is no resource at this URL"}

    def _list(self, query):
        since = query["updated_since"][0]
        tickets = sorted(
            (ticket for ticket in self.tickets.values() if ticket["updated_at"] >= since), key=lambda t: t["updated_at"]
        )
        per_page, page = int(query["per_page"][0]), int(query["page"][0])
        return tickets[(page - 1) * per_page : page * per_page]


class FreshdeskCaseMixin(BillingWorldMixin, ZendeskCaseMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = FakeFreshdeskApi()
        cls.api.__enter__()
        cls.addClassCleanup(cls.api.__exit__)
        cls.freshdesk = cls._create_backend(
            "freshdesk", name="Freshdesk", webhook_secret=SECRET, api_key="fd-billing-context-key-77aa"
        )

    def setUp(self):
        super().setUp()
        self.api.reset()

    def _post(self, payload, headers=None, secret=SECRET):
        body = json.dumps(payload).encode()
        all_headers = {"Content-Type": "application/json"}
        if secret:
            all_headers[SECRET_HEADER] = secret
        all_headers.update(headers or {})
        self.env.flush_all()
        return self.url_open(f"/integration/webhook/{self.freshdesk.reference}", data=body, headers=all_headers)

    def _use_api(self):
        self.freshdesk.sudo().write({"api_url": self.api.url, "helpdesk_api_token": API_KEY})

    def _ticket(self):
        return self.env["integration.binding"]._find_record(self.freshdesk, "support_ticket", "1228307")


@tagged("post_install", "-at_install")
class TestFreshdeskWebhook(FreshdeskCaseMixin, AccountTestInvoicingHttpCommon):
    @mute_logger(ROUTE_LOGGER)
    def test_the_rule_authenticates_with_a_header_or_basic_credentials(self):
        payload = fixture("freshdesk_webhook_ticket_created.json")
        accepted = [
            self._post(payload),  # custom header
            self._post(dict(payload, n=1), {"Authorization": basic("freshdesk", SECRET)}, secret=None),
            self._post(dict(payload, n=2), {"Authorization": basic(SECRET, "X")}, secret=None),  # "API key" choice
        ]
        self.assertEqual([response.status_code for response in accepted], [202, 202, 202])
        refused = [
            self._post(dict(payload, n=3), secret=None),
            self._post(dict(payload, n=4), secret="guessed"),
            self._post(dict(payload, n=5), {"Authorization": basic("freshdesk", "guessed")}, secret=None),
            self._post(dict(payload, n=6), {"Authorization": "Basic not-base64!"}, secret=None),
        ]
        self.assertEqual([response.status_code for response in refused], [401] * 4)
        self.assertIn(SECRET_HEADER, refused[0].json()["error"])
        self.assertEqual(len(self._events(self.freshdesk)), 3, "nothing stored for a refused request")

    @mute_logger(ROUTE_LOGGER)
    def test_rotated_secret_and_malformed_bodies(self):
        self.freshdesk.write({"webhook_secret": "new-secret-after-rotation", "webhook_secret_previous": SECRET})
        payload = fixture("freshdesk_webhook_ticket_created.json")
        self.assertEqual(self._post(payload, secret=SECRET).status_code, 202, "the previous secret still works")
        self.assertEqual(self._post(dict(payload, n=1), secret="new-secret-after-rotation").status_code, 202)
        self.assertEqual(self._post(dict(payload, n=2), secret=OLD_SECRET).status_code, 401)
        not_freshdesk = self._post({"ticket": {"id": 1}}, secret=SECRET)
        self.assertEqual(not_freshdesk.status_code, 400)
        no_id = self._post({"freshdesk_webhook": {"ticket_subject": "x"}}, secret=SECRET)
        self.assertEqual(no_id.status_code, 400)
        self.assertIn("{{ticket.id}}", no_id.json()["error"])

    def test_freshdesk_retries_are_stored_once(self):
        payload = fixture("freshdesk_webhook_ticket_created.json")
        first = self._post(payload)
        self.assertEqual(first.status_code, 202)
        # Freshdesk retries the same request 5, 30 and 60 minutes after a failure
        for _retry in range(3):
            again = self._post(payload)
            self.assertEqual((again.status_code, again.json()["status"]), (200, "duplicate"))
        event = self.env["integration.event"].browse(first.json()["event_id"])
        self.assertEqual(event.event_type, "ticket.created")
        self.assertTrue(event.external_id.startswith("ticket-1228307-"))
        changed = self._post(fixture("freshdesk_webhook_ticket_updated.json"))
        self.assertEqual(changed.status_code, 202, "another change of the same ticket is another event")

    def test_ticket_flow_through_the_api(self):
        self._use_api()
        self._post(fixture("freshdesk_webhook_ticket_created.json"))
        self.perform_jobs()
        ticket = self._ticket()
        self.assertRecordValues(
            ticket,
            [
                {
                    "name": "Refund for the duplicate charge",
                    "status": "open",
                    "helpdesk_priority": "normal",
                    "priority": "high",
                    "category": "billing",
                    "billing_reason": "refund",
                    "tags": "billing, duplicate",
                    "partner_id": self.jane.id,
                    "requester_ref": CONTACT,
                    "description": "Hello,\nwe were charged twice this month.",
                }
            ],
        )
        self.assertEqual(ticket.helpdesk_url, f"{self.api.url}/a/tickets/1228307")
        Binding = self.env["integration.binding"]
        self.assertEqual(Binding._find_record(self.freshdesk, "customer", CONTACT), self.jane)
        self.assertEqual(Binding._find_record(self.freshdesk, "customer", COMPANY), self.acme)
        [get] = self.api.calls
        self.assertEqual(get["path"], "/api/v2/tickets/1228307?include=requester")
        self.assertEqual(get["headers"]["Authorization"], basic(API_KEY, "X"))
        # the ticket is resolved; the webhook says so, the API is read again
        self.api.tickets[1228307].update(status=4, updated_at="2026-03-09T12:00:00Z")
        self._post(fixture("freshdesk_webhook_ticket_updated.json"))
        self.perform_jobs()
        self.assertEqual(ticket.status, "solved")
        # the creation's webhook replayed late (a retry of a call Odoo had failed) reads today's ticket
        retried = self._post(dict(fixture("freshdesk_webhook_ticket_created.json"), retried=True))
        self.perform_jobs()
        self.assertEqual(self.env["integration.event"].browse(retried.json()["event_id"]).state, "done")
        self.assertEqual(ticket.status, "solved", "never back to open")

    def test_requester_read_from_the_contacts_api_when_the_ticket_has_no_requester(self):
        self._use_api()
        del self.api.tickets[1228307]["requester"]
        original = self.api._answer

        def without_include(method, path, headers, body):
            return original(method, path.replace("?include=requester", ""), headers, body)

        self.api.responder = without_include
        self._post(fixture("freshdesk_webhook_ticket_created.json"))
        self.perform_jobs()
        self.assertEqual(self._ticket().partner_id, self.jane)
        self.assertEqual(
            [call["path"] for call in self.api.calls],
            ["/api/v2/tickets/1228307?include=requester", "/api/v2/contacts/80012345678"],
        )

    def test_without_api_the_placeholders_are_mapped(self):
        self._post(fixture("freshdesk_webhook_ticket_created.json"))
        self.perform_jobs()
        self.assertRecordValues(
            self._ticket(),
            [
                {
                    "status": "open",
                    "helpdesk_priority": "normal",
                    "tags": "billing, duplicate",
                    "partner_id": self.jane.id,
                    "requester_email": "jane.doe@acme.example",
                    "description": "Hello,\nwe were charged twice this month.",
                }
            ],
        )
        self.assertFalse(self.api.calls)

    def test_rate_limited_and_deleted_tickets(self):
        self._use_api()
        self.api.script.append((429, {"Retry-After": "120"}, {"code": "rate_limit", "message": "too many"}))
        response = self._post(fixture("freshdesk_webhook_ticket_created.json"))
        event = self.env["integration.event"].browse(response.json()["event_id"])
        before = fields.Datetime.now()
        for job in self.env["queue.job"].sudo().search([("state", "=", "pending")]):  # one attempt
            self._run_job(job.uuid)
        self.assertEqual(event.state, "queued")
        self.assertAlmostEqual((event.next_retry_at - before).total_seconds(), 120, delta=3)
        del self.api.tickets[1228307]
        self.perform_jobs()
        self.assertEqual(event.state, "ignored")
        self.assertIn("no longer exists", event.note)
        self.assertFalse(self._ticket())


@tagged("post_install", "-at_install")
class TestFreshdeskOutboundAndRecovery(FreshdeskCaseMixin, AccountTestInvoicingHttpCommon):
    def test_billing_fields_on_the_contact_and_the_company(self):
        self._use_api()
        self.freshdesk.outbound_type_ids = [
            (4, self.env.ref("integration_helpdesk.canonical_type_customer_billing").id)
        ]
        Binding = self.env["integration.binding"]
        Binding._bind(self.freshdesk, "customer", CONTACT, self.jane)
        Binding._bind(self.freshdesk, "customer", COMPANY, self.acme)
        self.pro.quantity = 5
        self.perform_jobs()
        values = {"billing_status": "grace", "billing_plan": "pro", "billing_overdue_amount": "150.00"}
        puts = sorted((call["path"], json.loads(call["body"])) for call in self.api.calls if call["method"] == "PUT")
        self.assertEqual(
            puts,
            [
                ("/api/v2/companies/80000123456", {"custom_fields": values}),
                ("/api/v2/contacts/80012345678", {"custom_fields": values}),
            ],
        )

    def test_recovery_stream_reads_what_webhooks_missed(self):
        self._use_api()
        stream = self.env["integration.stream"].search([("backend_id", "=", self.freshdesk.id)])
        self.assertEqual(stream.stream, "freshdesk_tickets")
        second = dict(fixture("freshdesk_api_ticket_1228307.json"), id=1228308, updated_at="2099-03-09T11:00:00Z")
        second["subject"] = "Cannot log in"
        self.api.tickets[1228307]["updated_at"] = "2099-03-09T10:00:00Z"
        self.api.tickets[1228308] = second
        stream.page_size = 1
        stream.action_run()
        self.perform_jobs()
        self.assertEqual(stream.state, "idle", stream.last_error)
        self.assertEqual(
            stream.cursor, "2099-03-09T11:00:00Z|1|2099-03-09T11:00:00Z", "the next run starts at the newest change"
        )
        tickets = self.env["integration.support.ticket"].search([("backend_id", "=", self.freshdesk.id)])
        self.assertEqual(sorted(tickets.mapped("name")), ["Cannot log in", "Refund for the duplicate charge"])
        stream.action_run()
        self.perform_jobs()
        self.assertEqual(len(tickets.search([("backend_id", "=", self.freshdesk.id)])), 2, "nothing twice")
        first = parse_qs(urlsplit(self.api.calls[0]["path"]).query)
        self.assertEqual(
            {key: first[key][0] for key in ("order_by", "order_type", "include", "page")},
            {"order_by": "updated_at", "order_type": "asc", "include": "requester", "page": "1"},
        )

    @mute_logger(ROUTE_LOGGER)
    def test_answers_freshdesk_would_never_give_are_refused_readably(self):
        too_long = self._post({"freshdesk_webhook": {"ticket_id": "9" * 25}})
        self.assertEqual(too_long.status_code, 400)
        self._use_api()
        self.api.script.append((200, {}, {"id": 999, "subject": "another ticket"}))
        response = self._post(fixture("freshdesk_webhook_ticket_created.json"))
        self.perform_jobs()
        event = self.env["integration.event"].browse(response.json()["event_id"])
        self.assertEqual(event.state, "failed")
        self.assertIn("another object", event.error_message)
        self.assertFalse(self._ticket())
        stream = self.env["integration.stream"].search([("backend_id", "=", self.freshdesk.id)])
        self.api.script.append((200, {}, {"tickets": []}))
        stream.action_run()
        self.perform_jobs()
        self.assertEqual(stream.state, "failed")
        self.assertIn("list of tickets", stream.last_error)
