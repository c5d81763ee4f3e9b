import json
import time

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.integration_base.tests.common import local_http_server

from .common import API_TOKEN, HubspotCaseMixin, fixture

ROUTE_LOGGER = "odoo.addons.integration_base.controllers.main"


@tagged("post_install", "-at_install")
class TestHubspotWebhook(HubspotCaseMixin, HttpCase):
    def _url(self):
        return f"{self.base_url()}/integration/webhook/{self.backend.reference}"

    def _post(self, payload, **sign_kwargs):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = self._signed_headers(sign_kwargs.pop("signed_url", self._url()), body, **sign_kwargs)
        self.env.flush_all()
        return self.url_open(self._url(), data=body, headers=headers)

    def _partners(self, external_id):
        return self.env["integration.binding"]._find_record(self.backend, "customer", external_id)

    def test_batch_is_split_deduplicated_and_applied(self):
        batch = fixture("hubspot_contact_batch.json")
        response = self._post(batch)
        self.assertEqual(response.status_code, 202, response.text)
        answer = response.json()
        self.assertEqual(answer["status"], "stored")
        self.assertEqual([item["status"] for item in answer["events"]], ["queued", "queued", "duplicate", "queued"])
        self.assertEqual(
            answer["events"][0]["event_id"], answer["events"][2]["event_id"], "the duplicate is the first one"
        )
        events = self._events(self.backend)
        self.assertEqual(len(events), 3, "one event per distinct HubSpot event")
        creation = events.filtered(lambda e: e.event_type == "contact.creation")
        self.assertEqual(creation.external_id, "contact.creation:512:1810294552")
        self.assertEqual(json.loads(creation.payload), batch[0], "each event keeps its own item as payload")

        # HubSpot retries the whole request (attemptNumber changes): nothing new
        for item in batch:
            item["attemptNumber"] = 1
        again = self._post(batch)
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["status"], "duplicate")
        self.assertEqual(len(self._events(self.backend)), 3)

        api = self.hubspot_api(("contacts", fixture("hubspot_contact_512.json")))
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            self.perform_jobs()
        self.assertEqual(events.mapped("state"), ["done", "done", "done"], events.mapped("error_message"))
        # finding 4 of issue 13: one batch read for the three events of contact 512, not a GET each
        (call,) = server.calls
        self.assertEqual((call["method"], call["path"]), ("POST", "/crm/v3/objects/contacts/batch/read"))
        body = json.loads(call["body"])
        self.assertEqual(body["inputs"], [{"id": "512"}])
        self.assertIn("email", body["properties"])
        self.assertEqual(call["headers"]["Authorization"], f"Bearer {API_TOKEN}")
        partner = self._partners("contact:512")
        self.assertRecordValues(
            partner,
            [
                {
                    "name": "Brian Halligan",
                    "email": "brian.halligan@acme.example",
                    "phone": "+32 2 555 01 02",
                    "street": "Rue de la Loi 16",
                    "city": "Brussels",
                    "zip": "1000",
                    "country_id": self.env.ref("base.be").id,
                    "is_company": False,
                }
            ],
        )
        self.assertEqual(self.env["res.partner"].search_count([("email", "=", "brian.halligan@acme.example")]), 1)

    def test_company_and_existing_contact_by_email(self):
        existing = self.env["res.partner"].create({"name": "Brian H.", "email": "brian.halligan@acme.example"})
        company_id = "9845651234"
        api = self.hubspot_api(
            ("contacts", fixture("hubspot_contact_512.json")),
            ("companies", fixture(f"hubspot_company_{company_id}.json")),
        )
        self.assertEqual(self._post(fixture("hubspot_contact_batch.json")[:1]).status_code, 202)
        self.assertEqual(self._post(fixture("hubspot_company_batch.json")).status_code, 202)
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            self.perform_jobs()
        self.assertEqual(self._partners("contact:512"), existing, "matched by e-mail, not duplicated")
        self.assertEqual(existing.name, "Brian Halligan")
        company = self._partners(f"company:{company_id}")
        self.assertRecordValues(
            company,
            [
                {
                    "name": "Acme Widgets",
                    "is_company": True,
                    "city": "Cambridge",
                    "website": "https://acme-widgets.example",
                    "country_id": self.env.ref("base.us").id,
                    "state_id": self.env.ref("base.state_us_34").id,
                }
            ],
        )

    def test_finding1_child_contact_matched_by_email_not_duplicated(self):
        """Finding 1 of issue 13: Jane Doe under Acme Corp is Jane Doe, not a second standalone contact."""
        acme = self.env["res.partner"].create({"name": "Acme Corp", "is_company": True})
        jane = self.env["res.partner"].create(
            {"name": "Jane Doe", "email": "jane.doe@acme-corp.example", "parent_id": acme.id}
        )
        item = dict(fixture("hubspot_contact_batch.json")[0], objectId=7001, eventId=1810299001)
        contact = {
            "id": "7001",
            "properties": {"firstname": "Jane", "lastname": "Doe", "email": "Jane.Doe@acme-corp.example"},
            "createdAt": "2026-03-02T09:30:00.000Z",
            "updatedAt": "2026-03-02T09:30:00.000Z",
            "archived": False,
        }
        self.assertEqual(self._post([item]).status_code, 202)
        with local_http_server(self.hubspot_api(("contacts", contact))) as server:
            self.backend.api_url = server.url
            self.perform_jobs()
        self.assertEqual(self._partners("contact:7001"), jane, "linked to the existing child contact")
        self.assertEqual(jane.parent_id, acme, "still under her company")
        people = self.env["res.partner"].search([("email_normalized", "=", "jane.doe@acme-corp.example")])
        self.assertEqual(people, jane, "no second Jane Doe")
        # what the billing-context API of integration_helpdesk resolves: one customer for her e-mail
        self.assertEqual(people.commercial_partner_id, acme)
        self.assertEqual(self._events(self.backend).record_ids.action, "linked")

    def test_deleted_object_is_ignored_and_5xx_is_retried(self):
        self._post(fixture("hubspot_company_batch.json"))
        api = self.hubspot_api()  # HubSpot no longer has the company: a 207 naming it
        api.script.append((503, {"Retry-After": "2"}, {"status": "error", "message": "Service Unavailable"}))
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            self.perform_jobs()
        event = self._events(self.backend)
        self.assertEqual(len(server.calls), 2)
        self.assertRecordValues(event, [{"state": "ignored", "attempts": 2}])
        self.assertIn("no longer exists", event.note)
        self.assertFalse(self._partners("company:9845651234"))

    def test_finding3_generic_format_is_applied_and_unsupported_types_are_visible(self):
        """Finding 3 of issue 13: object.* subscriptions (objectTypeId 0-1/0-2/0-3) are applied like the
        legacy ones; a type the backend keeps receiving without handling it is counted, and reported once."""
        generic = [
            {**item, "eventId": 5100 + number, "objectTypeId": type_id, "subscriptionType": subscription}
            for number, (item, type_id, subscription) in enumerate(
                [
                    (fixture("hubspot_company_batch.json")[0], "0-2", "object.creation"),
                    (fixture("hubspot_contact_batch.json")[1], "0-1", "object.propertyChange"),
                ]
            )
        ]
        ticket = {**generic[0], "eventId": 5200, "objectTypeId": "0-5", "objectId": 88}
        response = self._post([*generic, ticket])
        self.assertEqual([item["status"] for item in response.json()["events"]], ["queued", "queued", "ignored"])
        api = self.hubspot_api(
            ("contacts", fixture("hubspot_contact_512.json")),
            ("companies", fixture("hubspot_company_9845651234.json")),
        )
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            self.perform_jobs()
        events = self._events(self.backend)
        self.assertEqual(
            [(e.event_type, e.state) for e in events.sorted("id")],
            [("company.creation", "done"), ("contact.propertyChange", "done"), ("ticket.creation", "ignored")],
        )
        self.assertEqual(events.sorted("id")[0].external_id, "object.creation:0-2:9845651234:5100")
        self.assertTrue(self._partners("company:9845651234"))
        self.assertTrue(self._partners("contact:512"))
        exception = self.env["integration.exception"].search([("backend_id", "=", self.backend.id)])
        self.assertRecordValues(
            exception, [{"dedup_key": "unsupported:ticket.creation", "occurrences": 1, "state": "new"}]
        )
        self.assertIn("ticket.creation", exception.details)
        # a person decides to keep receiving them: later ones are counted on it, never a new exception
        exception.action_ignore("Tickets are handled in the helpdesk")
        for event_id in (5201, 5202):
            self._post([{**ticket, "eventId": event_id}])
        self.perform_jobs()
        exception = self.env["integration.exception"].search([("backend_id", "=", self.backend.id)])
        self.assertRecordValues(exception, [{"state": "ignored", "occurrences": 3}])

    @mute_logger(ROUTE_LOGGER)
    def test_bad_signatures_store_nothing(self):
        batch = fixture("hubspot_contact_batch.json")
        self.assertEqual(self._post(batch, secret="guessed").status_code, 401)
        self.assertEqual(self._post(batch, signed_url=self._url() + "-elsewhere").status_code, 401)
        stale = self._post(batch, timestamp_ms=int(time.time() * 1000) - 6 * 60 * 1000)
        self.assertEqual(stale.status_code, 401)
        self.assertIn("stale", stale.json()["error"])
        self.env.flush_all()
        unsigned = self.url_open(
            self._url(), data=json.dumps(batch).encode(), headers={"Content-Type": "application/json"}
        )
        self.assertEqual(unsigned.status_code, 401)
        self.assertFalse(self._events(self.backend))

    def test_previous_client_secret_is_accepted_during_rotation(self):
        self.backend.write(
            {"webhook_secret": "new-client-secret", "webhook_secret_previous": self.backend.webhook_secret}
        )
        self.assertEqual(self._post(fixture("hubspot_company_batch.json")).status_code, 202)
        self.assertEqual(len(self._events(self.backend)), 1)

    @mute_logger(ROUTE_LOGGER)
    def test_bad_batches_store_nothing(self):
        valid = fixture("hubspot_contact_batch.json")[0]
        broken = dict(valid, eventId=None)
        cases = [
            (valid, "JSON array"),
            ([], "no event"),
            ([valid, broken], "eventId"),
            ([valid, "not an object"], "JSON array"),
            ([dict(valid, occurredAt="yesterday")], "occurredAt"),
        ]
        for payload, reason in cases:
            response = self._post(payload)
            self.assertEqual(response.status_code, 400, payload)
            self.assertIn(reason, response.json()["error"])
        self.assertFalse(self._events(self.backend), "a bad item refuses the whole request")
