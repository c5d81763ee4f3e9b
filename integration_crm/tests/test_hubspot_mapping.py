"""The pure parts of the HubSpot connector: what an item is about, objects -> canonical data (no database)."""

from odoo.tests import BaseCase, tagged

from .. import hubspot_mapping as mapping
from ..hubspot import describe, event_type, merged_ids, reads, survivor_id


def codes(name):
    return {"Belgium": "BE", "United States": "US"}.get(name, name)


@tagged("post_install", "-at_install")
class TestDescribe(BaseCase):
    def test_legacy_and_generic_read_alike(self):
        legacy = describe({"subscriptionType": "deal.creation", "objectId": 7301})
        generic = describe({"subscriptionType": "object.creation", "objectTypeId": "0-3", "objectId": "7301"})
        for info in (legacy, generic):
            self.assertEqual((info["kind"], info["action"], info["object_id"]), ("deal", "creation", "7301"))
            self.assertEqual(event_type(info), "deal.creation")
        self.assertEqual(
            event_type(describe({"subscriptionType": "object.deletion", "objectTypeId": "0-1", "objectId": 1})),
            "contact.deletion",
        )
        self.assertEqual(
            event_type(describe({"subscriptionType": "object.creation", "objectTypeId": "0-2", "objectId": 1})),
            "company.creation",
        )
        self.assertEqual(
            event_type(describe({"subscriptionType": "object.creation", "objectTypeId": "0-5", "objectId": 1})),
            "ticket.creation",
        )
        custom = describe({"subscriptionType": "object.creation", "objectTypeId": "2-123456", "objectId": 1})
        self.assertEqual(event_type(custom), "object_2-123456.creation")

    def test_association_changes_read_the_side_holding_the_link(self):
        legacy = {
            "subscriptionType": "company.associationChange",
            "associationType": "COMPANY_TO_CONTACT",
            "fromObjectId": 9845651234,
            "toObjectId": 512,
            "associationRemoved": True,
        }
        info = describe(legacy)
        self.assertEqual((info["kind"], info["other_kind"], info["removed"]), ("company", "contact", True))
        self.assertEqual(reads(info, legacy), [("contact", "512")], "a contact's parent is the contact's")
        generic = {
            "subscriptionType": "object.associationChange",
            "fromObjectTypeId": "0-1",
            "toObjectTypeId": "0-3",
            "fromObjectId": 512,
            "toObjectId": 7301,
        }
        info = describe(generic)
        self.assertEqual(event_type(info), "contact.associationChange")
        self.assertEqual(reads(info, generic), [("deal", "7301")], "a deal's customer is the deal's")
        ticket = {
            "subscriptionType": "contact.associationChange",
            "associationType": "CONTACT_TO_TICKET",
            "fromObjectId": 1,
            "toObjectId": 2,
        }
        self.assertEqual(reads(describe(ticket), ticket), [], "not a link Odoo holds")

    def test_merges(self):
        item = {
            "subscriptionType": "contact.merge",
            "objectId": 601,
            "primaryObjectId": 601,
            "mergedObjectIds": [602, 603],
        }
        self.assertEqual((survivor_id(item), merged_ids(item)), ("601", ["602", "603"]))
        made_new = {"subscriptionType": "deal.merge", "primaryObjectId": 10, "mergedObjectIds": [11], "newObjectId": 12}
        self.assertEqual((survivor_id(made_new), merged_ids(made_new)), ("12", ["11", "10"]))
        self.assertEqual(reads(describe(made_new | {"objectId": 10}), made_new), [("deal", "12")])

    def test_refused_items(self):
        for item in (
            {},
            {"subscriptionType": "contact"},
            {"subscriptionType": "contact.creation"},
            {"subscriptionType": "object.creation", "objectId": 5},
            {"subscriptionType": "contact.associationChange", "toObjectId": 5},
            {"subscriptionType": "contact.creation", "objectId": {"id": 5}},
        ):
            with self.subTest(item), self.assertRaises(ValueError):
                describe(item)


@tagged("post_install", "-at_install")
class TestMapping(BaseCase):
    def test_contact_with_its_company(self):
        obj = {
            "id": "512",
            "properties": {
                "firstname": " Brian ",
                "lastname": "Halligan",
                "email": "b@acme.example",
                "country": "Belgium",
                "associatedcompanyid": "98",
            },
        }
        data = mapping.contact_data(obj, codes)
        self.assertEqual(data["name"], "Brian Halligan")
        self.assertEqual(data["parent_ref"], "company:98")
        self.assertEqual(data["address"]["country"], "BE")
        alone = mapping.contact_data({"id": "1", "properties": {"email": "x@y.example"}}, codes)
        self.assertNotIn("parent_ref", alone, "a parent set in Odoo stays when HubSpot knows no company")
        self.assertIsNone(mapping.contact_data({"id": "1", "properties": {}}, codes, unlinked=True)["parent_ref"])
        self.assertEqual(alone["name"], "x@y.example")

    def test_company_domain_is_its_website(self):
        data = mapping.company_data({"id": "9", "properties": {"name": "Acme", "domain": "acme.example"}}, codes)
        self.assertEqual(data["website"], "https://acme.example")
        self.assertNotIn("website", mapping.company_data({"id": "9", "properties": {"name": "Acme"}}, codes))

    def test_deal(self):
        obj = {
            "id": "7301",
            "properties": {
                "dealname": "Acme",
                "amount": "12000.50",
                "deal_currency_code": "eur",
                "closedate": "2026-04-30T00:00:00.000Z",
                "pipeline": "default",
                "dealstage": "contractsent",
                "hs_is_closed": "false",
                "hs_is_closed_won": "false",
            },
        }
        data = mapping.deal_data(obj, ["98", "99"], ["512"], "sofia@example.com")
        self.assertEqual(
            {
                key: data[key]
                for key in (
                    "customer_ref",
                    "amount",
                    "currency",
                    "close_date",
                    "pipeline",
                    "stage",
                    "status",
                    "owner_email",
                )
            },
            {
                "customer_ref": "company:98",
                "amount": "12000.5",
                "currency": "EUR",
                "close_date": "2026-04-30",
                "pipeline": "default",
                "stage": "contractsent",
                "status": "open",
                "owner_email": "sofia@example.com",
            },
        )
        self.assertEqual(mapping.deal_data(obj, [], ["512"])["customer_ref"], "contact:512")
        self.assertIsNone(mapping.deal_data(obj, [], [])["customer_ref"])
        obj["properties"].update(hs_is_closed="true", closed_lost_reason="Price")
        self.assertEqual(
            (mapping.deal_data(obj, [], [])["status"], mapping.deal_data(obj, [], [])["lost_reason"]), ("lost", "Price")
        )
        obj["properties"]["hs_is_closed_won"] = "true"
        self.assertEqual(mapping.deal_data(obj, [], [])["status"], "won")

    def test_values(self):
        self.assertEqual(mapping.decimal_text("1500"), "1500")
        self.assertEqual(mapping.decimal_text(" 0.10 "), "0.1")
        self.assertEqual(mapping.decimal_text("1e3"), "1000")
        for bad in ("", None, "twelve", "NaN", "1e20"):
            self.assertIsNone(mapping.decimal_text(bad), bad)
        self.assertEqual(mapping.date_text("1777507200000"), "2026-04-30")
        self.assertIsNone(mapping.date_text("soon"))
        self.assertEqual(mapping.split_external_id("company:98"), ("company", "98"))
        self.assertIsNone(mapping.split_external_id("odoo-res-partner-4"))
