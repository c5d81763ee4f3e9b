"""An unreachable CRM API: one exception for the backend, not one per event.

A batch of HubSpot events whose mapping reads the CRM API while it does not
answer (a closed port): the events wait and retry, one *cannot be reached*
exception lists them, and it closes itself once HubSpot answers again.
"""

import copy
import json
import socket

from odoo.tests import HttpCase, tagged

from odoo.addons.integration_base.tests.common import local_http_server

from .common import HubspotCaseMixin, fixture


@tagged("post_install", "-at_install")
class TestHubspotOutage(HubspotCaseMixin, HttpCase):
    def test_an_unreachable_api_is_one_exception_that_closes_itself(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.backend.api_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        template = fixture("hubspot_contact_batch.json")[0]
        batch = []
        for index in range(30):
            item = copy.deepcopy(template)
            item.update(eventId=900000 + index, objectId=7000 + index)
            batch.append(item)
        url = f"{self.base_url()}/integration/webhook/{self.backend.reference}"
        body = json.dumps(batch).encode()
        response = self.url_open(url, data=body, headers=self._signed_headers(url, body))
        self.assertEqual(response.status_code, 202, response.text)
        events = self._events(self.backend)
        self.assertEqual(len(events), 30)
        for _attempt in range(self.backend.max_attempts):
            for job in self.env["queue.job"].sudo().search([("state", "=", "pending")]):
                self._run_job(job.uuid)
        self.assertEqual(set(events.mapped("state")), {"dead"})
        exceptions = self.env["integration.exception"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(exceptions), 1, exceptions.mapped("name"))
        self.assertRecordValues(exceptions, [{"cause": "unavailable", "event_count": 30, "state": "new"}])
        self.assertIn("HubSpot CRM cannot be reached", exceptions.name)
        # HubSpot answers again: one event that reads the API closes the outage, the others follow
        api = self.hubspot_api()
        for index in range(31):
            api.add("contacts", dict(fixture("hubspot_contact_512.json"), id=str(7000 + index)))
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            item = copy.deepcopy(template)
            item.update(eventId=900030, objectId=7030)
            body = json.dumps([item]).encode()
            self.url_open(url, data=body, headers=self._signed_headers(url, body))
            self.perform_jobs()
        self.assertEqual(exceptions.state, "resolved")
        self.assertEqual(set(self._events(self.backend).mapped("state")), {"done"})
        # the new event's read, then one batch read for the 30 events the outage's end sent back to the queue
        self.assertEqual([call["path"] for call in server.calls], ["/crm/v3/objects/contacts/batch/read"] * 2)
        self.assertEqual(len(json.loads(server.calls[1]["body"])["inputs"]), 30)
