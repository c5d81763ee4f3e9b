"""The extension point, proven: a canonical type defined in this addon.

``crm_deal`` lives in integration_crm only (``schemas/v1/crm_deal.json``,
``canonical/crm_deal.py`` and its record): the engine registers it, validates
its messages against its schema and applies them into Odoo CRM's
opportunities through the same pipeline as its own types (inbox, job,
binding, stale check, exceptions), and exports opportunities back out.
"""

from datetime import UTC, datetime, timedelta

from odoo import Command
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_base.exceptions import SchemaViolation
from odoo.addons.integration_base.schemas import validate_message
from odoo.addons.integration_base.tests.common import IntegrationCaseMixin, local_http_server

DEAL = "deal_7301"


@tagged("post_install", "-at_install")
class TestCrmDealType(IntegrationCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.backend = cls._create_backend("canonical", name="Sales CRM", max_attempts=2)
        cls.deal_type = cls.env.ref("integration_crm.canonical_type_crm_deal")
        cls.clock = datetime(2026, 3, 1, tzinfo=UTC)
        cls.won_stage = cls.env["crm.stage"].search([("is_won", "=", True)], limit=1)
        cls.proposition = cls.env["crm.stage"].create({"name": "Proposition sent", "sequence": 3})

    def _feed(self, *messages):
        """Store one canonical event per message, run the jobs, return the events."""
        stamped = []
        for message in messages:
            self.clock += timedelta(seconds=1)
            occurred_at = message.get("occurred_at") or self.clock.isoformat().replace("+00:00", "Z")
            stamped.append(dict(message, schema_version="1.0", source="crm", occurred_at=occurred_at))
        return self._ingest_canonical(self.backend, stamped)

    def _deal(self, **data):
        values = {"name": "Acme - 40 seats", "customer_ref": "cus_9", "amount": "12000.00", "stage": "Proposition sent"}
        values.update(data)
        return {"type": "crm_deal", "external_id": DEAL, "data": values}

    def _customer(self):
        return {"type": "customer", "external_id": "cus_9", "data": {"name": "Acme Deals SA", "is_company": True}}

    def _lead(self):
        return self.env["integration.binding"]._find_record(self.backend, "crm_deal", DEAL)

    def test_registered_from_this_addon(self):
        Type = self.env["integration.canonical.type"]
        self.assertRecordValues(self.deal_type, [{"code": "crm_deal", "odoo_model": "crm.lead"}])
        self.assertIn(("crm_deal", "CRM deal"), self.env["integration.binding"]._selection_canonical_type())
        self.assertEqual(Type._link_models()["crm_deal"], "crm.lead")
        self.assertEqual(Type._unit("crm_deal")._name, "integration.canonical.crm_deal")
        folders = Type._schema_folders()
        self.assertTrue(any(folder.endswith("integration_crm/schemas") for folder in folders), folders)
        link = self.env["integration.exception.link.wizard"]._selection_record_ref()
        self.assertIn("crm.lead", dict(link))

    def test_validated_against_its_own_schema(self):
        Type = self.env["integration.canonical.type"]
        message = dict(self._deal(), schema_version="1.0", source="crm", occurred_at="2026-03-01T00:00:00Z")
        Type._validate(message)
        with self.assertRaises(SchemaViolation) as caught:
            Type._validate(dict(message, data=dict(message["data"], amount="12,000")))
        self.assertEqual(caught.exception.pointer, "/data/amount")
        with self.assertRaises(SchemaViolation) as caught:
            validate_message(message)  # integration_base's schemas alone do not know deals
        self.assertEqual(caught.exception.pointer, "/type")
        # through the pipeline: the event fails with a schema exception, nothing is created
        event = self._feed(self._customer(), self._deal(status="pending"))[1]
        self.assertEqual(event.state, "failed")
        self.assertRecordValues(event.exception_ids, [{"category": "schema_violation", "pointer": "/data/status"}])
        self.assertFalse(self._lead())

    def test_applied_as_an_opportunity(self):
        events = self._feed(self._customer(), self._deal(close_date="2026-04-30", description="Needs SSO"))
        self.assertEqual(events.mapped("state"), ["done", "done"], events.mapped("error_message"))
        lead = self._lead()
        partner = self.env["integration.binding"]._find_record(self.backend, "customer", "cus_9")
        self.assertRecordValues(
            lead,
            [
                {
                    "type": "opportunity",
                    "name": "Acme - 40 seats",
                    "partner_id": partner.id,
                    "expected_revenue": 12000.0,
                    "stage_id": self.proposition.id,
                    "won_status": "pending",
                    "company_id": self.backend.company_id.id,
                }
            ],
        )
        self.assertEqual(str(lead.date_deadline), "2026-04-30")
        self.assertIn("Needs SSO", lead.description)
        self.assertEqual(events[1].record_ids.action, "created")
        # redelivered and older: never a second opportunity, never an older state
        old = dict(self._deal(name="Old name"), occurred_at="2026-01-01T00:00:00Z")
        events = self._feed(self._deal(amount="15000.00"), old)
        self.assertEqual(events.mapped("state"), ["done", "done"], events.mapped("error_message"))
        self.assertIn("stale message", events[1].note)
        self.assertEqual(self.env["crm.lead"].search_count([("name", "in", ("Acme - 40 seats", "Old name"))]), 1)
        self.assertRecordValues(lead, [{"name": "Acme - 40 seats", "expected_revenue": 15000.0}])

    def test_won_lost_and_open_again(self):
        self._feed(self._customer(), self._deal())
        lead = self._lead()
        self._feed(self._deal(status="won"))
        self.assertRecordValues(lead, [{"won_status": "won", "stage_id": self.won_stage.id, "probability": 100}])
        reason = self.env["crm.lost.reason"].create({"name": "Built it in-house"})
        # won, then lost at the source: CRM refuses to lose a lead in a won stage, so it leaves it first
        self._feed(self._deal(status="lost", lost_reason="built it IN-HOUSE"))
        self.assertRecordValues(lead, [{"won_status": "lost", "active": False, "lost_reason_id": reason.id}])
        self.assertFalse(lead.stage_id.is_won)
        event = self._feed(self._deal(status="open"))
        self.assertRecordValues(lead, [{"active": True, "won_status": "pending"}])
        self.assertIn("open again", event.note)
        self._feed(dict(self._deal(), action="delete"))
        self.assertFalse(lead.active)

    def test_unknown_customer_is_waited_for_then_linked_by_a_person(self):
        event = self._feed(self._deal(customer_ref="cus_404"))
        self.assertEqual(event.state, "dead", "the customer may still come: retried, then dead")
        exc = event.exception_ids
        self.assertRecordValues(exc, [{"link_model": "res.partner", "link_external_id": "cus_404"}])
        partner = self.env["res.partner"].create({"name": "Found by hand"})
        exc._link_record(partner)
        self.perform_jobs()
        self.assertEqual(event.state, "done")
        self.assertEqual(self._lead().partner_id, partner)

    def test_opportunities_are_exported_to_subscribed_systems(self):
        partner = self.env["res.partner"].create({"name": "Outbound Deals SA", "is_company": True})
        with local_http_server(lambda *args: (200, {}, {"ok": True})) as server:
            self._create_backend(
                "canonical",
                name="Data warehouse",
                api_url=server.url,
                outbound_type_ids=[Command.set(self.deal_type.ids)],
            )
            lead = self.env["crm.lead"].create(
                {"name": "Renewal 2027", "type": "opportunity", "partner_id": partner.id, "expected_revenue": 900}
            )
            lead.write({"stage_id": self.proposition.id})
            self.env["crm.lead"].create({"name": "A lead, not a deal", "type": "lead"})
            self.perform_jobs()
        outbound = self._events(self.env["integration.backend"].search([("name", "=", "Data warehouse")]))
        self.assertEqual(outbound.mapped("state"), ["done"], "one event for the creation and the change together")
        (message,) = server.json_calls()
        self.assertEqual(message["type"], "crm_deal")
        self.assertEqual(message["external_id"], f"odoo-crm-lead-{lead.id}")
        self.assertEqual(
            {key: message["data"][key] for key in ("name", "amount", "status", "stage")},
            {"name": "Renewal 2027", "amount": "900", "status": "open", "stage": "Proposition sent"},
        )
        self.assertEqual(message["data"]["customer_ref"], f"odoo-res-partner-{partner.id}")
