"""Finding 1 of issue 14: tickets keep their customer.

A trigger body linked ticket 40002 to Ana Pereira by e-mail; the next
event-subscription event (``ticket.priority_changed``, requester id only)
cleared the link and the e-mail, and in pure event-subscription mode no
ticket was ever linked. The events below are shaped like Zendesk's ticket
events (``tests/data/zendesk_events_ticket_40002.json``: created, priority
changed, comment added, solved) and the Users API answer like
``GET /api/v2/users/{id}`` (``zendesk_user_9004004.json``).
"""

import base64
import json

from odoo import fields
from odoo.tests import HttpCase, tagged

from odoo.addons.integration_base.tests.common import local_http_server

from .common import ZendeskCaseMixin, fixture

USER_ID = "9004004"
ORGANIZATION = "organization:8447346622999"


@tagged("post_install", "-at_install")
class TestZendeskRequester(ZendeskCaseMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.company = Partner.create({"name": "Pereira Consulting", "is_company": True})
        cls.ana = Partner.create(
            {
                "name": "Ana Pereira",
                "email": "Ana.Pereira@pereira-consulting.example",
                "parent_id": cls.company.id,
            }
        )
        cls.events = fixture("zendesk_events_ticket_40002.json")

    def _post_event(self, payload, headers=None):
        body = json.dumps(payload).encode()
        all_headers = dict(self._signed_headers(body), **(headers or {}))
        self.env.flush_all()
        response = self.url_open(f"/integration/webhook/{self.backend.reference}", data=body, headers=all_headers)
        self.assertEqual(response.status_code, 202, response.text)
        self.perform_jobs()
        return self.env["integration.event"].browse(response.json()["event_id"])

    def _ticket(self, external_id="40002"):
        return self.env["integration.binding"]._find_record(self.backend, "support_ticket", external_id)

    def _users_api(self, user=None, status=200):
        answer = user or fixture("zendesk_user_9004004.json")

        def responder(method, path, headers, body):
            if path == f"/api/v2/users/{USER_ID}.json":
                return status, {}, answer if status == 200 else {"error": "RecordNotFound"}
            return 404, {}, {"error": "InvalidEndpoint"}

        return local_http_server(responder)

    def _configure_api(self, server):
        self.backend.sudo().write(
            {"api_url": server.url, "helpdesk_api_user": "agent@acme.example", "helpdesk_api_token": "zd-api-token-1"}
        )

    def test_trigger_body_then_event_subscription_keeps_the_customer(self):
        # the reproduction of the finding: no API configured, the trigger body links by e-mail
        trigger = self._post_event(
            fixture("zendesk_trigger_ticket_40002.json"), {"X-Zendesk-Webhook-Invocation-Id": "1"}
        )
        ticket = self._ticket()
        self.assertEqual(trigger.state, "done")
        self.assertRecordValues(
            ticket,
            [
                {
                    "partner_id": self.ana.id,
                    "requester_ref": USER_ID,
                    "requester_email": "ana.pereira@pereira-consulting.example",
                }
            ],
        )
        binding = self.env["integration.binding"]._find(self.backend, "customer", USER_ID)
        self.assertEqual(binding._record(), self.ana, "the first e-mail match binds the requester")
        # ticket.priority_changed names the requester by id only
        changed = self._post_event(self.events[1])
        self.assertEqual(changed.state, "done", changed.error_message)
        self.assertRecordValues(
            ticket,
            [
                {
                    "partner_id": self.ana.id,
                    "requester_email": "ana.pereira@pereira-consulting.example",
                    "requester_name": "Ana Pereira",
                    "priority": "urgent",
                    "helpdesk_priority": "high",
                    "status": "open",
                }
            ],
        )
        self.assertEqual(
            self.env["integration.binding"]._find(self.backend, "customer", ORGANIZATION)._record(),
            self.company,
            "the requester's organization is bound to the customer's company",
        )

    def test_event_subscription_sequence_links_through_the_users_api_once(self):
        with self._users_api() as server:
            self._configure_api(server)
            partners = []
            for payload in self.events:  # created, priority changed, comment added, solved
                event = self._post_event(payload)
                self.assertEqual(event.state, "done", event.error_message)
                partners.append(self._ticket().partner_id)
        self.assertEqual(partners, [self.ana] * 4, "linked from the first event to the last")
        self.assertEqual(len(server.calls), 1, "the requester is resolved once, then bound")
        call = server.calls[0]
        self.assertEqual(call["method"], "GET")
        expected = base64.b64encode(b"agent@acme.example/token:zd-api-token-1").decode()
        self.assertEqual(call["headers"]["Authorization"], f"Basic {expected}")
        self.assertRecordValues(
            self._ticket(),
            [
                {
                    "status": "solved",
                    "priority": "urgent",
                    "category": "billing",
                    "tags": "payment",
                    "requester_email": "ana.pereira@pereira-consulting.example",
                    "description": "Hello, my card was charged but the invoice still shows as unpaid.",
                }
            ],
        )
        self.assertEqual(self.env["integration.support.ticket"].search_count([("backend_id", "=", self.backend.id)]), 1)

    def test_unknown_requester_is_asked_once_per_ticket_and_linked_later(self):
        self.ana.email = "someone.else@example.com"  # no contact has the requester's e-mail yet
        with self._users_api() as server:
            self._configure_api(server)
            self._post_event(self.events[0])
            self._post_event(self.events[1])
        ticket = self._ticket()
        self.assertFalse(ticket.partner_id)
        self.assertEqual(ticket.requester_email, "ana.pereira@pereira-consulting.example", "remembered on the ticket")
        self.assertEqual(len(server.calls), 1, "the ticket's own e-mail serves the next events")
        # finance creates the contact: the next event links the ticket and binds the requester
        contact = self.env["res.partner"].create(
            {"name": "Ana P.", "email": "ana.pereira@pereira-consulting.example", "parent_id": self.company.id}
        )
        self._post_event(self.events[2])
        self.assertEqual(ticket.partner_id, contact)
        self.assertEqual(self.env["integration.binding"]._find_record(self.backend, "customer", USER_ID), contact)

    def test_deleted_user_and_missing_credentials_leave_a_note(self):
        event = self._post_event(self.events[0])
        self.assertIn("no API credentials", event.note)
        self.assertFalse(self._ticket().partner_id)
        with self._users_api(status=404) as server:
            self._configure_api(server)
            event = self._post_event(self.events[1])
        self.assertEqual(event.state, "done")
        self.assertIn("not in the helpdesk any more", event.note)

    def test_rate_limited_users_api_is_retried_after_retry_after(self):
        def responder(method, path, headers, body):
            return 429, {"Retry-After": "37"}, {"error": "TooManyRequests"}

        with local_http_server(responder) as server:
            self._configure_api(server)
            body = json.dumps(self.events[0]).encode()
            self.env.flush_all()
            response = self.url_open(
                f"/integration/webhook/{self.backend.reference}", data=body, headers=self._signed_headers(body)
            )
            event = self.env["integration.event"].browse(response.json()["event_id"])
            before = fields.Datetime.now()
            self._run_job(event.job_ids.uuid)
        self.assertEqual(event.state, "queued", "retried, not failed")
        self.assertIn("429", event.error_message)
        delay = (event.next_retry_at - before).total_seconds()
        self.assertAlmostEqual(delay, 37, delta=3)
        self.assertFalse(self._ticket(), "nothing applied before the requester is known")

    def test_another_requester_without_customer_keeps_the_link_and_says_so(self):
        self._post_event(fixture("zendesk_trigger_ticket_40002.json"), {"X-Zendesk-Webhook-Invocation-Id": "1"})
        changed = dict(self.events[1])
        changed["detail"] = dict(changed["detail"], requester_id="9007007")
        event = self._post_event(changed)
        ticket = self._ticket()
        self.assertRecordValues(
            ticket, [{"partner_id": self.ana.id, "requester_ref": "9007007", "requester_email": False}]
        )
        self.assertIn("stays linked to", event.note)

    def test_ids_that_are_not_zendesk_ids_are_not_bound(self):
        """A signed body with ids Zendesk never makes binds nothing (they would end up in API paths)."""
        payload = fixture("zendesk_trigger_ticket_40002.json")
        payload["detail"].update(requester_id="../../users/1", organization_id="7/../../x")
        payload["detail"]["requester"]["id"] = "../../users/1"
        event = self._post_event(payload, {"X-Zendesk-Webhook-Invocation-Id": "odd-ids"})
        self.assertEqual(event.state, "done", event.error_message)
        self.assertRecordValues(self._ticket(), [{"partner_id": self.ana.id, "requester_ref": False}])
        refs = self.env["integration.binding"].search([("backend_id", "=", self.backend.id)]).mapped("external_id")
        self.assertEqual(refs, ["40002"], "only the ticket is bound")
