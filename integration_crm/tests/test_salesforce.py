"""Salesforce, the second CRM: client credentials, paged and resumable streams, deletions, billing fields out."""

import json
from datetime import datetime
from urllib.parse import parse_qs, unquote, urlsplit

from odoo import Command
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.integration_base.tests.common import IntegrationCaseMixin, local_http_server

from .salesforce_api import CLIENT_ID, CLIENT_SECRET, SalesforceApi

STREAM_LOGGER = "odoo.addons.integration_base.models.integration_stream"


def stamp(minute):
    return f"2026-03-01T10:{minute:02d}:00.000+0000"


@tagged("post_install", "-at_install")
class TestSalesforce(IntegrationCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.backend = cls._create_backend(
            "salesforce",
            name="Salesforce",
            webhook_secret=False,
            api_key=CLIENT_SECRET,
            salesforce_client_id=CLIENT_ID,
            max_attempts=2,
        )
        cls.prospecting = cls.env["crm.stage"].create({"name": "Prospecting (SF)"})
        cls.backend.crm_stage_map_ids = [Command.create({"stage": "Prospecting", "stage_id": cls.prospecting.id})]

    def setUp(self):
        super().setUp()
        self.api = SalesforceApi()
        for number in range(5):
            self.api.add(
                "Account",
                Id=f"001A00000{number}",
                Name=f"Account {number}",
                Phone="+1 415 555 0100",
                Website=f"www.account{number}.example",
                BillingStreet="1 Market St\nSuite 300",
                BillingCity="San Francisco",
                BillingPostalCode="94105",
                BillingState="CA",
                BillingCountry="United States",
                SystemModstamp=stamp(number),
            )

    def _serve(self):
        server = local_http_server(self.api)
        started = server.__enter__()
        self.api.url = started.url
        self.backend.api_url = started.url
        self.addCleanup(server.__exit__, None, None, None)
        return started

    def _stream(self, code):
        return self.env["integration.stream"].search([("backend_id", "=", self.backend.id), ("stream", "=", code)])

    def _account(self, number):
        return self.env["integration.binding"]._find_record(self.backend, "customer", f"Account:001A00000{number}")

    def test_streams_are_made_with_the_backend(self):
        self.assertEqual(
            sorted(self.env["integration.stream"].search([("backend_id", "=", self.backend.id)]).mapped("stream")),
            ["salesforce_accounts", "salesforce_contacts", "salesforce_deleted", "salesforce_opportunities"],
        )

    def test_paged_stream_imports_accounts_contacts_and_opportunities(self):
        self.api.page_size = 2
        self.api.add(
            "Contact",
            Id="003B000001",
            FirstName="Ada",
            LastName="Lovelace",
            Email="ada@account1.example",
            AccountId="001A000001",
            SystemModstamp=stamp(10),
        )
        self.api.add(
            "Opportunity",
            Id="006C000001",
            Name="Account 1 - renewal",
            Amount=2400.0,
            CloseDate="2026-06-30",
            StageName="Prospecting",
            IsClosed=False,
            IsWon=False,
            AccountId="001A000001",
            Owner={"attributes": {"type": "User"}, "Email": "nobody@example.com"},
            SystemModstamp=stamp(11),
        )
        server = self._serve()
        for code in ("salesforce_accounts", "salesforce_contacts", "salesforce_opportunities"):
            self._stream(code).action_run()
            self.perform_jobs()
        accounts = self._stream("salesforce_accounts")
        self.assertRecordValues(accounts, [{"state": "idle", "pages_done": 3, "items_done": 5, "items_total": 5}])
        self.assertEqual(json.loads(accounts.cursor), {"since": "2026-03-01T10:04:00Z", "next": None, "mark": None})
        self.assertRecordValues(
            self._account(4),
            [
                {
                    "name": "Account 4",
                    "is_company": True,
                    "street": "1 Market St",
                    "street2": "Suite 300",
                    "city": "San Francisco",
                    "country_id": self.env.ref("base.us").id,
                    "website": "http://www.account4.example",
                }
            ],
        )
        ada = self.env["integration.binding"]._find_record(self.backend, "customer", "Contact:003B000001")
        self.assertRecordValues(ada, [{"name": "Ada Lovelace", "parent_id": self._account(1).id}])
        lead = self.env["integration.binding"]._find_record(self.backend, "crm_deal", "Opportunity:006C000001")
        self.assertRecordValues(
            lead,
            [{"partner_id": self._account(1).id, "expected_revenue": 2400.0, "stage_id": self.prospecting.id}],
        )
        events = self._events(self.backend)
        self.assertEqual(len(events), 7)
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("error_message"))
        # one token for the whole run; the query asks for pages of at least Salesforce's minimum
        self.assertEqual(self.api.token_requests, 1)
        first = next(call for call in server.calls if "/query/?q=" in call["path"])
        self.assertEqual(first["headers"]["Sforce-Query-Options"], "batchSize=200")
        soql = unquote(parse_qs(urlsplit(first["path"]).query)["q"][0])
        self.assertTrue(soql.startswith("SELECT Id, Name"), soql)
        self.assertTrue(soql.endswith("FROM Account ORDER BY SystemModstamp, Id"), soql)

        # the next run starts from the newest change it saw: an account changed since comes, nothing else
        self.api.records["Account"][0]["Name"] = "Account 0 renamed"
        self.api.records["Account"][0]["SystemModstamp"] = stamp(30)
        accounts.action_run()
        self.perform_jobs()
        self.assertEqual(self._account(0).name, "Account 0 renamed")
        self.assertEqual(len(self._events(self.backend)), 8, "the account of the cursor's second is not stored twice")

    @mute_logger(STREAM_LOGGER)
    def test_resumes_from_its_cursor_after_a_kill(self):
        self.api.page_size = 2
        server = self._serve()
        stream = self._stream("salesforce_accounts")
        # page 2 dies in the middle (a connection cut: half an answer): the run stops there
        self.api.garbled_pages = 1
        stream.action_run()
        self.perform_jobs()
        self.assertRecordValues(stream, [{"state": "failed", "pages_done": 1, "items_done": 2}])
        cursor = json.loads(stream.cursor)
        self.assertTrue(cursor["next"].startswith("/services/data/v61.0/query/"), cursor)
        self.assertEqual(cursor["mark"], "2026-03-01T10:01:00Z")
        calls_before = len(server.calls)

        stream.action_run()  # resumes: the failed run's cursor is kept
        self.perform_jobs()
        self.assertRecordValues(stream, [{"state": "idle", "pages_done": 3, "items_done": 5}])
        resumed = server.calls[calls_before]
        self.assertEqual(resumed["path"], cursor["next"], "the rerun asks for the page it lost, not the first one")
        self.assertEqual(len(self._events(self.backend)), 5)
        self.assertEqual(self.env["res.partner"].search_count([("name", "=like", "Account %")]), 5, "each account once")

    @mute_logger(STREAM_LOGGER)
    def test_a_forgotten_query_is_queried_again_from_the_last_record(self):
        self.api.page_size = 2
        server = self._serve()
        stream = self._stream("salesforce_accounts")
        forgotten = "/services/data/v61.0/query/01gD0000002HU6KIAW-gone"
        stream.write({"cursor": json.dumps({"since": None, "next": forgotten, "mark": "2026-03-01T10:01:00Z"})})
        stream.action_run()
        self.perform_jobs()
        self.assertEqual(stream.state, "idle", stream.last_error)
        paths = [unquote(call["path"]) for call in server.calls if not call["path"].endswith("/token")]
        self.assertEqual(paths[0], forgotten)
        self.assertIn("WHERE SystemModstamp >= 2026-03-01T10:01:00Z", paths[1], "again from the last record ingested")
        self.assertEqual(len(self._events(self.backend)), 4, "accounts 1 to 4")

    def test_backfill_from_a_date(self):
        self.backend.salesforce_backfill_from = datetime(2026, 3, 1, 10, 3)
        server = self._serve()
        self._stream("salesforce_accounts").action_run()
        self.perform_jobs()
        query = next(unquote(call["path"]) for call in server.calls if "/query/?q=" in call["path"])
        self.assertIn("WHERE SystemModstamp >= 2026-03-01T10:03:00Z", query)
        self.assertEqual(len(self._events(self.backend)), 2)

    def test_multicurrency_amounts_are_converted(self):
        self.backend.salesforce_multicurrency = True
        company = self.env.company
        other = self.env.ref("base.EUR") if company.currency_id.name != "EUR" else self.env.ref("base.USD")
        other.active = True
        # one unit of the company currency is worth half a unit of the other one
        self.env["res.currency.rate"].create(
            {"currency_id": other.id, "rate": 0.5, "name": "2020-01-01", "company_id": company.id}
        )
        self.api.add(
            "Opportunity",
            Id="006C000002",
            Name="Abroad",
            Amount=1000.0,
            CurrencyIsoCode=other.name,
            CloseDate="2026-06-30",
            StageName="Prospecting",
            IsClosed=False,
            IsWon=False,
            SystemModstamp=stamp(12),
        )
        server = self._serve()
        self._stream("salesforce_opportunities").action_run()
        self.perform_jobs()
        query = next(unquote(call["path"]) for call in server.calls if "/query/?q=" in call["path"])
        self.assertIn(", CurrencyIsoCode FROM Opportunity", query)
        lead = self.env["integration.binding"]._find_record(self.backend, "crm_deal", "Opportunity:006C000002")
        self.assertEqual(lead.expected_revenue, 2000.0)

    def test_token_is_renewed_on_401(self):
        self._serve()
        self._stream("salesforce_accounts").action_run()
        self.perform_jobs()
        self.assertEqual(self.api.token_requests, 1)
        self.api.expire_tokens()  # the session policy ended the token
        self.api.add("Account", Id="001A000009", Name="Late account", SystemModstamp=stamp(50))
        self._stream("salesforce_accounts").action_run()
        self.perform_jobs()
        self.assertEqual(self.api.token_requests, 2, "one new token, then the same call again")
        self.assertTrue(self.env["integration.binding"]._find_record(self.backend, "customer", "Account:001A000009"))

    @mute_logger(STREAM_LOGGER)
    def test_refused_credentials_stop_the_stream_readably(self):
        self._serve()
        self.backend.sudo().api_key = "not-the-secret"
        stream = self._stream("salesforce_accounts")
        stream.action_run()
        self.perform_jobs()
        self.assertEqual(stream.state, "failed")
        self.assertIn("invalid_client: invalid client credentials", stream.last_error)

    def test_deletions_archive(self):
        self._serve()
        self._stream("salesforce_accounts").action_run()
        self.perform_jobs()
        self.api.deleted["Account"] = [{"id": "001A000002", "deletedDate": "2026-03-01T11:00:00.000+0000"}]
        deleted = self._stream("salesforce_deleted")
        deleted.action_run()
        self.perform_jobs()
        self.assertFalse(self._account(2).active)
        self.assertTrue(self._account(3).active)
        self.assertEqual(set(json.loads(deleted.cursor)), {"Account", "Contact", "Opportunity"})

    def test_billing_fields_are_patched_on_the_account(self):
        self._serve()
        self._stream("salesforce_accounts").action_run()
        self.perform_jobs()
        self.backend.outbound_type_ids = [Command.set(self.env.ref("integration_base.canonical_type_subscription").ids)]
        currency = self.env.company.currency_id
        subscription = self.env["integration.subscription"].create(
            {
                "name": "Team",
                "partner_id": self._account(3).id,
                "plan_code": "team",
                "amount": 99.0,
                "quantity": 2,
                "interval": "month",
                "currency_id": currency.id,
                "status": "active",
            }
        )
        self.perform_jobs()
        event = self._events(self.backend, direction="out")
        self.assertRecordValues(event, [{"state": "done", "response_status": 204}])
        self.assertEqual(
            self.api.patched,
            [("Account", "001A000003", {"Billing_Status__c": "active", "Billing_Plan__c": "team", "MRR__c": 198.0})],
        )
        # a field missing in Salesforce: its answer, an array of errorCode/message, says which
        self.api.fields["Account"].discard("MRR__c")
        subscription.write({"status": "past_due"})
        self.perform_jobs()
        failed = self._events(self.backend, direction="out").filtered(lambda e: e.state == "failed")
        self.assertIn("INVALID_FIELD: No such column 'MRR__c'", failed.error_message)
        self.assertEqual(len(failed.exception_ids), 1)

    def test_connection_test(self):
        self._serve()
        action = self.backend.action_test_connection()
        self.assertIn("reachable", action["params"]["message"])
