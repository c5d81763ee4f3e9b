"""What HubSpot's deletions, restores, merges, privacy deletions and stage changes do to Odoo records."""

from odoo import Command
from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.integration_base.tests.common import local_http_server

from .common import HubspotCaseMixin

T0 = 1772447400000


def item(number, subscription, object_id, **extra):
    return {
        "eventId": 6100000 + number,
        "subscriptionId": 2900100,
        "portalId": 62515,
        "appId": 1160452,
        "occurredAt": T0 + number * 1000,
        "attemptNumber": 0,
        "subscriptionType": subscription,
        "objectId": object_id,
        **extra,
    }


def contact(object_id, email, updated="2026-03-02T10:29:00.000Z", **props):
    properties = {"firstname": "Dana", "lastname": f"Client {object_id}", "email": email, "phone": "+32 470 00 00 00"}
    properties.update(props)
    return {"id": str(object_id), "properties": properties, "updatedAt": updated, "archived": False}


@tagged("post_install", "-at_install")
class TestHubspotLifecycle(HubspotCaseMixin, AccountTestInvoicingCommon):
    def _run(self, items, api=None):
        events = self._ingest_items(items)
        with local_http_server(api or self.hubspot_api()) as server:
            self.backend.api_url = server.url
            self.perform_jobs()
        return events

    def _known(self, object_id, email, **vals):
        partner = self.env["res.partner"].create(dict({"name": f"Client {object_id}", "email": email}, **vals))
        self.env["integration.binding"]._bind(self.backend, "customer", f"contact:{object_id}", partner)
        return partner

    def test_privacy_deletion_anonymizes_and_purges(self):
        api = self.hubspot_api(("contacts", contact(801, "dana@example.com")))
        self._run([item(1, "contact.creation", 801)], api)
        dana = self._bound("contact", "801")
        self.assertEqual(dana.email, "dana@example.com")
        creation = self._events(self.backend)
        self.assertIn("dana@example.com", creation.canonical)
        event = self._run([item(2, "contact.privacyDeletion", 801)])
        self.assertEqual(event.state, "done", event.error_message)
        dana = dana.with_context(active_test=False)
        self.assertRecordValues(
            dana, [{"name": f"Anonymized contact {dana.id}", "email": False, "phone": False, "active": False}]
        )
        self.assertIn("Personal data erased", dana.message_ids[0].body)
        self.assertTrue(creation.payload_purged, "what the earlier events carried of her goes too")
        self.assertFalse(creation.canonical)
        self.assertEqual(event.record_ids.action, "anonymized")
        self.assertFalse(self.env["integration.exception"].search([("backend_id", "=", self.backend.id)]))

    def test_privacy_deletion_under_legal_hold(self):
        eve = self._known(802, "eve@example.com")
        self.init_invoice("out_invoice", partner=eve, amounts=[120.0], post=True)
        event = self._run([item(3, "contact.privacyDeletion", 802)])
        self.assertEqual(event.state, "done")
        self.assertRecordValues(eve, [{"email": "eve@example.com", "active": True}])
        self.assertIn("legal hold", eve.message_ids[0].body)
        self.assertEqual(event.record_ids.action, "held")
        (exception,) = event.exception_ids
        self.assertEqual(exception.category, "business")
        self.assertIn("posted accounting entries", exception.details)

    def test_merge_keeps_a_loser_with_accounting(self):
        survivor, loser = self._known(810, "frank@example.com"), self._known(811, "frank.old@example.com")
        self.init_invoice("out_invoice", partner=loser, amounts=[50.0], post=True)
        api = self.hubspot_api(("contacts", contact(810, "frank@example.com")))
        merge = item(4, "contact.merge", 810, primaryObjectId=810, mergedObjectIds=[811], numberOfPropertiesMoved=2)
        event = self._run([merge], api)
        self.assertEqual(event.state, "done", event.error_message)
        self.assertEqual(self._bound("contact", "811"), survivor, "the merged id now leads to the survivor")
        self.assertTrue(loser.active, "its invoices keep it")
        (exception,) = event.exception_ids
        self.assertIn("Merge", exception.hint)
        self.assertEqual((exception.res_model, exception.res_id), ("res.partner", loser.id))
        # a late deletion of the merged id changes nothing
        self._run([item(5, "contact.deletion", 811)])
        self.assertTrue(survivor.active)

    def test_merge_into_a_contact_odoo_did_not_know(self):
        old = self._known(820, "gina@example.com")
        api = self.hubspot_api(("contacts", contact(821, "gina@example.com")))
        merge = item(6, "object.merge", 821, objectTypeId="0-1", primaryObjectId=821, mergedObjectIds=[820])
        self._run([merge], api)
        self.assertEqual(self._bound("contact", "821"), old, "the merged contact's partner is the survivor's")
        self.assertEqual(self.env["res.partner"].search_count([("email", "=", "gina@example.com")]), 1)

    def test_deleted_then_restored(self):
        hana = self._known(830, "hana@example.com")
        self._run([item(7, "contact.deletion", 830)])
        self.assertFalse(hana.active)
        api = self.hubspot_api(("contacts", contact(830, "hana@example.com", updated="2026-03-02T11:00:00.000Z")))
        self._run([item(8, "contact.restore", 830, occurredAt=T0 + 3600000)], api)
        self.assertTrue(hana.active)
        self.assertIn("Restored", hana.message_ids[0].body)

    def test_association_removed_detaches_from_the_company(self):
        company = self.env["res.partner"].create({"name": "Initech", "is_company": True})
        self.env["integration.binding"]._bind(self.backend, "customer", "company:840", company)
        ivan = self._known(841, "ivan@example.com", parent_id=company.id)
        api = self.hubspot_api(("contacts", contact(841, "ivan@example.com")))
        change = item(
            9,
            "company.associationChange",
            None,
            associationType="COMPANY_TO_CONTACT",
            fromObjectId=840,
            toObjectId=841,
            associationRemoved=True,
        )
        event = self._run([change], api)
        self.assertEqual(event.event_type, "company.associationChange")
        self.assertEqual(event.state, "done", event.error_message)
        self.assertFalse(ivan.parent_id)

    def test_unmapped_stage_is_an_exception_naming_it(self):
        company = self.env["res.partner"].create({"name": "Umbrella", "is_company": True})
        self.env["integration.binding"]._bind(self.backend, "customer", "company:850", company)
        self.backend.crm_stage_map_ids = [
            Command.create(
                {"pipeline": "default", "stage": "appointmentscheduled", "stage_id": self.env.ref("crm.stage_lead1").id}
            )
        ]
        deal = {
            "id": "8501",
            "properties": {"dealname": "Umbrella - pilot", "pipeline": "default", "dealstage": "qualifiedtobuy"},
            "updatedAt": "2026-03-02T10:31:00.000Z",
        }
        api = self.hubspot_api(("deals", deal))
        api.link("deals", "8501", "companies", "850", 5, "Primary")
        event = self._run([item(10, "deal.creation", 8501)], api)
        self.assertEqual(event.state, "failed")
        (exception,) = event.exception_ids
        self.assertEqual(exception.category, "mapping")
        self.assertIn("'qualifiedtobuy' of pipeline 'default'", exception.details)
        self.assertIn("Deal stages", exception.hint)
        # a person maps it and retries
        qualified = self.env["crm.stage"].create({"name": "Qualified"})
        self.backend.crm_stage_map_ids = [
            Command.create({"pipeline": "default", "stage": "qualifiedtobuy", "stage_id": qualified.id})
        ]
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            exception.action_retry()
            self.perform_jobs()
        self.assertEqual(event.state, "done")
        self.assertRecordValues(self._bound("deal", "8501"), [{"stage_id": qualified.id, "partner_id": company.id}])
        self.assertEqual(exception.state, "resolved")
