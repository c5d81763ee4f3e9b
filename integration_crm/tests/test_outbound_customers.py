"""Customers created or edited in Odoo, pushed to HubSpot as companies and contacts (with their association)."""

import json

from odoo import Command
from odoo.tests import TransactionCase, new_test_user, tagged

from odoo.addons.integration_base.tests.common import local_http_server

from .common import HubspotCaseMixin


@tagged("post_install", "-at_install")
class TestHubspotCustomersOut(HubspotCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.types = cls.env.ref("integration_base.canonical_type_customer") | cls.env.ref(
            "integration_base.canonical_type_subscription"
        )
        cls.backend.outbound_type_ids = [Command.set(cls.types.ids)]

    def _push(self, api, change):
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            result = change()
            self.perform_jobs()
        return server, result

    @staticmethod
    def _writes(server):
        return [
            (call["method"], call["path"], json.loads(call["body"]) if call["body"] else None)
            for call in server.calls
            if not call["path"].endswith("/search")
        ]

    def test_company_and_its_contact_are_created_with_their_association(self):
        api = self.hubspot_api()

        def create():
            initech = self.env["res.partner"].create(
                {"name": "Initech", "is_company": True, "website": "https://www.initech.example/about"}
            )
            peter = self.env["res.partner"].create(
                {
                    "name": "Peter Gibbons",
                    "email": "peter@initech.example",
                    "phone": "+1 555 0100",
                    "parent_id": initech.id,
                }
            )
            return initech, peter

        server, (initech, peter) = self._push(api, create)
        events = self._events(self.backend, direction="out")
        self.assertEqual(events.mapped("state"), ["done", "done"], events.mapped("error_message"))
        (company_call, unknown, contact_call) = self._writes(server)
        self.assertEqual(company_call[:2], ("POST", "/crm/v3/objects/companies"))
        self.assertEqual(company_call[2]["properties"]["domain"], "initech.example")
        self.assertEqual(company_call[2]["properties"]["billing_status"], "none", "billing properties go along")
        company_id = self._bound_id(initech, "company")
        self.assertEqual(
            unknown[:2],
            ("PATCH", "/crm/v3/objects/contacts/peter%40initech.example?idProperty=email"),
            "a contact is looked up by its e-mail first (HubSpot answers 404): never a duplicate",
        )
        self.assertEqual(contact_call[:2], ("POST", "/crm/v3/objects/contacts"))
        self.assertEqual(
            {key: contact_call[2]["properties"][key] for key in ("firstname", "lastname", "email", "phone")},
            {"firstname": "Peter", "lastname": "Gibbons", "email": "peter@initech.example", "phone": "+1 555 0100"},
        )
        self.assertEqual(
            contact_call[2]["associations"],
            [{"to": {"id": company_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]}],
            "the contact is created with its primary company",
        )
        searches = [json.loads(call["body"]) for call in server.calls if call["path"].endswith("/search")]
        self.assertEqual(
            [search["filterGroups"][0]["filters"][0]["value"] for search in searches],
            ["initech.example"],
            "a company is looked up by its domain before being created",
        )
        self.assertTrue(self._bound_id(peter, "contact"))

        # an edit in Odoo updates the same contact, and keeps its association
        server, _result = self._push(api, lambda: peter.write({"phone": "+1 555 0199"}))
        (update, association) = self._writes(server)
        contact_id = self._bound_id(peter, "contact")
        self.assertEqual(update[:2], ("PATCH", f"/crm/v3/objects/contacts/{contact_id}"))
        self.assertEqual(update[2]["properties"]["phone"], "+1 555 0199")
        self.assertEqual(
            association[:2],
            ("PUT", f"/crm/v4/objects/contacts/{contact_id}/associations/default/companies/{company_id}"),
        )

    def _bound_id(self, partner, kind):
        binding = self.env["integration.binding"]._find_for(self.backend, "customer", partner)
        self.assertTrue(binding.external_id.startswith(f"{kind}:"), binding.external_id)
        return binding.external_id.partition(":")[2]

    def test_a_contact_hubspot_already_has_is_updated_not_duplicated(self):
        api = self.hubspot_api(("contacts", {"id": "777", "properties": {"email": "joanna@chotchkies.example"}}))
        server, joanna = self._push(
            api, lambda: self.env["res.partner"].create({"name": "Joanna", "email": "Joanna@Chotchkies.example"})
        )
        self.assertEqual(
            [call[:2] for call in self._writes(server)],
            [("PATCH", "/crm/v3/objects/contacts/Joanna%40Chotchkies.example?idProperty=email")],
        )
        self.assertEqual(self._bound_id(joanna, "contact"), "777")

    def test_fields_hubspot_owns_are_never_sent(self):
        self.env["integration.ownership.rule"].create(
            {
                "canonical_type_id": self.env.ref("integration_base.canonical_type_customer").id,
                "field_names": "email, phone",
                "owner": "backend",
                "owner_backend_id": self.backend.id,
            }
        )
        server, _partner = self._push(
            self.hubspot_api(),
            lambda: self.env["res.partner"].create({"name": "Milton Waddams", "email": "milton@initech.example"}),
        )
        (_unknown, (_method, _path, body)) = self._writes(server)
        self.assertNotIn("email", body["properties"])
        self.assertNotIn("phone", body["properties"])
        self.assertEqual(body["properties"]["firstname"], "Milton")
        self.assertIn("owned by HubSpot CRM", self._events(self.backend, direction="out").note)

    def test_who_is_not_a_customer_is_not_pushed(self):
        server, _result = self._push(
            self.hubspot_api(),
            lambda: (
                new_test_user(self.env, "bob.porter", email="bob@odoo-company.example"),
                self.env["res.partner"].create({"name": "No e-mail, no contact"}),
                self.env["res.partner"].create(
                    {"name": "Initech deliveries", "type": "delivery", "email": "dock@initech.example"}
                ),
            ),
        )
        self.assertFalse(server.calls)
        event = self._events(self.backend, direction="out")  # the user's partner is made before its user
        self.assertEqual(event.state, "done")
        self.assertIn("not a customer", event.note)
