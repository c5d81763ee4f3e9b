"""A HubSpot batch as HubSpot sends it, end to end (issue 13's done-when).

One signed request mixing contact, company and deal events, in the legacy
and the generic (``object.*``) formats: creations, property changes,
association changes, a merge, deletions, and object types Odoo does not
apply (tickets). Against a local CRM API answering in HubSpot's shapes, it
ends with the right partners, parent companies and opportunities, in as
many API calls as the batch read allows.
"""

import json

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.integration_base.tests.common import local_http_server

from .common import HubspotCaseMixin, fixture


@tagged("post_install", "-at_install")
class TestHubspotMixedBatch(HubspotCaseMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Binding, Partner = cls.env["integration.binding"], cls.env["res.partner"]
        # what an earlier sync left: a duplicate of Carla (merged into 601 now), a contact and a deal deleted since
        cls.old_carla = Partner.create({"name": "Carla R.", "email": "c.rossi@globex.example"})
        Binding._bind(cls.backend, "customer", "contact:602", cls.old_carla)
        cls.gone = Partner.create({"name": "Gone Contact", "email": "gone@example.com"})
        Binding._bind(cls.backend, "customer", "contact:700", cls.gone)
        cls.old_deal = cls.env["crm.lead"].create({"name": "Lost in HubSpot", "type": "opportunity"})
        Binding._bind(cls.backend, "crm_deal", "deal:7303", cls.old_deal)
        cls.sofia = new_test_user(
            cls.env, "sofia", email="sofia.sales@odoo-integration.example", groups="sales_team.group_sale_salesman"
        )
        cls.contract_sent = cls.env["crm.stage"].create({"name": "Contract sent", "sequence": 4})
        cls.backend.crm_stage_map_ids = [
            Command.create({"pipeline": "default", "stage": "contractsent", "stage_id": cls.contract_sent.id})
        ]

    def _api(self):
        objects = fixture("hubspot_mixed_objects.json")
        currency = self.env.company.currency_id.name
        api = self.hubspot_api()
        for path in ("companies", "contacts", "deals"):
            for obj in objects[path]:
                if path == "deals":
                    obj["properties"]["deal_currency_code"] = currency
                api.add(path, obj)
        for from_path, from_id, to_path, to_id, type_id, label in objects["associations"]:
            api.link(from_path, from_id, to_path, to_id, type_id, label)
        api.owners = objects["owners"]
        return api

    def _post(self, payload):
        url = f"{self.base_url()}/integration/webhook/{self.backend.reference}"
        body = json.dumps(payload).encode()
        self.env.flush_all()
        return self.url_open(url, data=body, headers=self._signed_headers(url, body))

    def _bound(self, kind, object_id):
        model = "crm_deal" if kind == "deal" else "customer"
        return self.env["integration.binding"]._find_record(self.backend, model, f"{kind}:{object_id}")

    def test_mixed_batch(self):
        batch = fixture("hubspot_mixed_batch.json")
        response = self._post(batch)
        self.assertEqual(response.status_code, 202, response.text)
        statuses = [item["status"] for item in response.json()["events"]]
        self.assertEqual(statuses, ["queued"] * 13 + ["ignored"] * 3)
        events = self._events(self.backend)
        self.assertEqual(
            sorted(set(events.mapped("event_type"))),
            [
                "company.creation",
                "contact.associationChange",
                "contact.creation",
                "contact.deletion",
                "contact.merge",
                "contact.propertyChange",
                "deal.associationChange",
                "deal.creation",
                "deal.deletion",
                "deal.propertyChange",
                "ticket.creation",
                "ticket.propertyChange",
            ],
            "generic object.* events are typed by their objectTypeId (0-1, 0-2, 0-3, 0-5)",
        )
        with local_http_server(self._api()) as server:
            self.backend.api_url = server.url
            self.perform_jobs()
        applied = events.filtered(lambda e: not e.event_type.startswith("ticket."))
        self.assertEqual(set(applied.mapped("state")), {"done"}, applied.mapped("error_message"))

        # the number of calls the batch read allows: one read per object type, the deals' two association
        # types and their owners -- not one GET per event (11 events read an object)
        self.assertEqual(
            [(call["method"], call["path"]) for call in server.calls],
            [
                ("POST", "/crm/v3/objects/companies/batch/read"),
                ("POST", "/crm/v3/objects/contacts/batch/read"),
                ("POST", "/crm/v3/objects/deals/batch/read"),
                ("POST", "/crm/v4/associations/deals/companies/batch/read"),
                ("POST", "/crm/v4/associations/deals/contacts/batch/read"),
                ("GET", "/crm/v3/owners?limit=500"),
            ],
        )
        contacts_read = json.loads(server.calls[1]["body"])
        self.assertEqual(contacts_read["inputs"], [{"id": "512"}, {"id": "601"}])
        self._check_partners()
        self._check_opportunities()
        self._check_unsupported(events)

    def _check_partners(self):
        acme, globex = self._bound("company", "9845651234"), self._bound("company", "9845651300")
        brian, carla = self._bound("contact", "512"), self._bound("contact", "601")
        self.assertRecordValues(
            acme | globex,
            [
                {"name": "Acme Widgets", "is_company": True, "website": "https://acme-widgets.example"},
                {"name": "Globex", "is_company": True, "website": "https://globex.example"},
            ],
        )
        self.assertEqual(globex.country_id, self.env.ref("base.us"), "country names are turned into ISO codes")
        self.assertRecordValues(
            brian | carla,
            [
                {
                    "name": "Brian Halligan",
                    "parent_id": acme.id,
                    "email": "brian.halligan@acme.example",
                    "active": True,
                },
                {"name": "Carla Rossi", "parent_id": globex.id, "email": "carla.rossi@globex.example", "active": True},
            ],
        )
        # the merge: 602's link now points to the survivor, its former partner (a mere duplicate) is archived
        self.assertEqual(self._bound("contact", "602"), carla)
        self.assertFalse(self.old_carla.active)
        self.assertIn("merged it into", self.old_carla.message_ids[0].body)
        # the deletion archives (nothing is deleted in Odoo)
        self.assertFalse(self.gone.active)
        self.assertTrue(self.gone.exists())
        self.assertIn("Archived", self.gone.message_ids[0].body)

    def _check_opportunities(self):
        acme, carla = self._bound("company", "9845651234"), self._bound("contact", "601")
        seats, renewal = self._bound("deal", "7301"), self._bound("deal", "7302")
        self.assertRecordValues(
            seats | renewal,
            [
                {
                    "name": "Acme - 40 seats",
                    "type": "opportunity",
                    "partner_id": acme.id,
                    "expected_revenue": 12000.0,
                    "user_id": self.sofia.id,
                    "won_status": "pending",
                },
                {
                    "name": "Globex renewal",
                    "type": "opportunity",
                    "partner_id": carla.id,
                    "expected_revenue": 4800.5,
                    "user_id": False,
                    "won_status": "won",
                },
            ],
        )
        self.assertEqual(seats.stage_id, self.contract_sent, "pipeline 'default', stage 'contractsent', as mapped")
        self.assertTrue(renewal.stage_id.is_won)
        self.assertEqual(str(seats.date_deadline), "2026-04-30")
        self.assertIn("Needs SSO", seats.description)
        self.assertFalse(self.old_deal.active, "the deleted deal is archived")

    def _check_unsupported(self, events):
        tickets = events.filtered(lambda e: e.event_type.startswith("ticket."))
        self.assertEqual(set(tickets.mapped("state")), {"ignored"})
        exceptions = self.env["integration.exception"].search(
            [("backend_id", "=", self.backend.id), ("dedup_key", "like", "unsupported:")]
        )
        self.assertEqual(
            sorted((exc.dedup_key, exc.occurrences) for exc in exceptions),
            [("unsupported:ticket.creation", 2), ("unsupported:ticket.propertyChange", 1)],
            "one exception per unsupported type, counting its events",
        )
