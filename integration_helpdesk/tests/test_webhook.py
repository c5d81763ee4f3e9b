import json
from datetime import UTC, datetime, timedelta

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..zendesk import INVOCATION_HEADER
from .common import OLD_SECRET, SECRET, ZendeskCaseMixin, fixture, zendesk_timestamp

NEW_SECRET = "bmV3X3NpZ25pbmdfc2VjcmV0X2FmdGVyX3Jlc2V0"

ROUTE_LOGGER = "odoo.addons.integration_base.controllers.main"


@tagged("post_install", "-at_install")
class TestZendeskWebhook(ZendeskCaseMixin, HttpCase):
    def _post(self, payload, headers=None, **sign_kwargs):
        body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
        all_headers = self._signed_headers(body, **sign_kwargs)
        all_headers.update(headers or {})
        self.env.flush_all()
        return self.url_open(f"/integration/webhook/{self.backend.reference}", data=body, headers=all_headers)

    def _tickets(self, external_id):
        binding = self.env["integration.binding"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("canonical_type", "=", "support_ticket"),
                ("external_id", "=", external_id),
            ]
        )
        return self.env["integration.support.ticket"].browse(binding.mapped("res_id"))

    def _ticket_count(self):
        return self.env["integration.support.ticket"].search_count([("backend_id", "=", self.backend.id)])

    def test_ticket_created_once_then_updated(self):
        requester = self.env["res.partner"].create({"name": "Requester in Odoo", "email": "someone@else.example"})
        # a person linked the Zendesk user 9001001 to this contact earlier
        self.env["integration.binding"]._bind(self.backend, "customer", "9001001", requester)
        created = fixture("zendesk_ticket_created.json")
        response = self._post(created)
        self.assertEqual(response.status_code, 202, response.text)
        event = self.env["integration.event"].browse(response.json()["event_id"])
        self.assertRecordValues(
            event,
            [{"state": "queued", "external_id": created["id"], "event_type": "zen:event-type:ticket.created"}],
        )
        self.assertEqual(json.loads(event.headers)["X-Zendesk-Webhook-Signature"], "***")
        # Zendesk retries the same delivery: acknowledged, stored once
        duplicate = self._post(created)
        self.assertEqual(duplicate.status_code, 200)
        self.assertEqual(duplicate.json()["status"], "duplicate")
        self.perform_jobs()
        self.assertEqual(event.state, "done")
        ticket = self._tickets("5158")
        self.assertEqual(self._ticket_count(), 1)
        self.assertRecordValues(
            ticket,
            [
                {
                    "name": "Double charge on invoice",
                    "status": "new",
                    "priority": "urgent",
                    "helpdesk_priority": "high",
                    "category": "billing",
                    "billing_reason": "charge",
                    "tags": "billing, vip",
                    "partner_id": requester.id,
                    "description": "We were charged twice for the March invoice.",
                    "opened_at": datetime(2026, 3, 2, 9, 15, 7),
                    "updated_at": datetime(2026, 3, 2, 9, 15, 7),
                }
            ],
        )
        self.assertEqual(event.record_ids.res_id, ticket.id)

        changed = fixture("zendesk_ticket_status_changed.json")
        self.assertEqual(self._post(changed).status_code, 202)
        self.perform_jobs()
        self.assertEqual(self._ticket_count(), 1, "the same ticket is updated, never duplicated")
        self.assertRecordValues(ticket, [{"status": "solved", "tags": "billing, vip, refunded"}])

        # an older event delivered late does not bring the old status back
        late = fixture("zendesk_ticket_created.json")
        late["id"] = "late-redelivery-of-an-older-state"
        response = self._post(late)
        self.assertEqual(response.status_code, 202)
        self.perform_jobs()
        late_event = self.env["integration.event"].browse(response.json()["event_id"])
        self.assertEqual(late_event.state, "done")
        self.assertIn("stale", late_event.note)
        self.assertEqual(ticket.status, "solved")

    def test_trigger_body_uses_the_invocation_id_and_the_requester_email(self):
        partner = self.env["res.partner"].create({"name": "Jane Doe", "email": "jane.doe@acme.example"})
        payload = fixture("zendesk_trigger_ticket_updated.json")
        headers = {INVOCATION_HEADER: "8350205582"}
        first = self._post(payload, headers=headers)
        self.assertEqual(first.status_code, 202, first.text)
        self.assertEqual(self._post(payload, headers=headers).json()["status"], "duplicate")
        event = self.env["integration.event"].browse(first.json()["event_id"])
        self.assertEqual(event.external_id, "8350205582")
        self.perform_jobs()
        ticket = self._tickets("6001")
        self.assertRecordValues(
            ticket,
            [
                {
                    "name": "Cannot download my invoice",
                    "status": "open",
                    "priority": "high",
                    "helpdesk_priority": "normal",
                    "category": "billing",
                    "tags": "billing, invoice_pdf",
                    "requester_email": "Jane.Doe@Acme.example",
                    "requester_name": "Jane Doe",
                    "partner_id": partner.id,
                }
            ],
        )

    @mute_logger(ROUTE_LOGGER)
    def test_event_without_any_id_is_refused(self):
        response = self._post(fixture("zendesk_trigger_ticket_updated.json"))
        self.assertEqual(response.status_code, 400)
        self.assertIn(INVOCATION_HEADER, response.json()["error"])
        self.assertFalse(self._events(self.backend))

    @mute_logger(ROUTE_LOGGER)
    def test_forged_stale_and_unsigned_requests_store_nothing(self):
        payload = fixture("zendesk_ticket_created.json")
        body = json.dumps(payload).encode()
        forged = self._post(body, secret="guessed-secret")
        self.assertEqual(forged.status_code, 401)
        self.assertEqual(forged.json()["error"], "no matching signature")
        stale = self._post(body, timestamp=zendesk_timestamp(datetime.now(UTC) - timedelta(minutes=6)))
        self.assertEqual(stale.status_code, 401)
        self.assertIn("stale", stale.json()["error"])
        tampered_headers = self._signed_headers(body)
        self.env.flush_all()
        tampered = self.url_open(
            f"/integration/webhook/{self.backend.reference}",
            data=body.replace(b"5158", b"5159"),
            headers=tampered_headers,
        )
        self.assertEqual(tampered.status_code, 401)
        unsigned = self.url_open(
            f"/integration/webhook/{self.backend.reference}", data=body, headers={"Content-Type": "application/json"}
        )
        self.assertEqual(unsigned.status_code, 401)
        self.assertFalse(self._events(self.backend))
        self.assertFalse(self._ticket_count())

    def test_rotated_secret_is_accepted(self):
        # the Zendesk admin reset the signing secret: the new one is current,
        # the old one stays accepted until cleared (deliveries in flight)
        self.backend.write({"webhook_secret": NEW_SECRET, "webhook_secret_previous": SECRET})
        response = self._post(fixture("zendesk_ticket_created.json"), secret=SECRET)
        self.assertEqual(response.status_code, 202, response.text)
        payload = fixture("zendesk_ticket_status_changed.json")
        response = self._post(payload, secret=NEW_SECRET)
        self.assertEqual(response.status_code, 202, response.text)
        self.backend.webhook_secret_previous = False
        payload["id"] = "after-rotation"
        with mute_logger(ROUTE_LOGGER):
            self.assertEqual(self._post(payload, secret=SECRET).status_code, 401, "refused once cleared")
            self.assertEqual(self._post(payload, secret=OLD_SECRET).status_code, 401)
        self.assertEqual(self._post(payload, secret=NEW_SECRET).status_code, 202)

    def test_other_events_are_stored_as_ignored(self):
        user_event = {
            "type": "zen:event-type:user.created",
            "id": "2b24ef10-19d4-4740-93cf-8f98ec4776c0",
            "time": "2026-03-02T05:33:18Z",
            "subject": "zen:user:6596848315901",
            "detail": {"id": "6596848315901", "email": "new.user@example.com", "role": "end-user"},
        }
        deleted = dict(
            fixture("zendesk_ticket_created.json"), id="deleted-1", type="zen:event-type:ticket.soft_deleted"
        )
        for payload in (user_event, deleted):
            response = self._post(payload)
            self.assertEqual(response.status_code, 202)
            event = self.env["integration.event"].browse(response.json()["event_id"])
            self.assertEqual(event.state, "ignored")
            self.assertFalse(event.job_ids)
        self.assertFalse(self._ticket_count())

    @mute_logger(ROUTE_LOGGER)
    def test_not_a_zendesk_event_is_refused(self):
        response = self._post({"ticket": {"id": 1}})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self._events(self.backend))

    def test_unknown_status_fails_with_a_mapping_exception(self):
        payload = fixture("zendesk_ticket_created.json")
        payload["detail"]["status"] = "ARCHIVED"
        response = self._post(payload)
        self.perform_jobs()
        event = self.env["integration.event"].browse(response.json()["event_id"])
        self.assertEqual(event.state, "failed")
        self.assertIn("unknown Zendesk status 'ARCHIVED'", event.error_message)
        self.assertEqual(event.exception_ids.category, "mapping")
        self.assertFalse(self._ticket_count())
