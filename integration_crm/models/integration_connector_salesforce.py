"""Salesforce as CRM: accounts, contacts and opportunities in by streams, billing fields out.

The second CRM connector, beside HubSpot: the same canonical types
(``customer``, ``crm_deal``), the same appliers, the same exceptions. What
differs is only here and in ``salesforce.py`` / ``salesforce_client.py``:

* no webhooks: the streams *accounts*, *contacts* and *opportunities* pull
  changed records through the REST query API by ``SystemModstamp``
  (``nextRecordsUrl`` paging, resumable, backfill from the backend's date),
  and the *deletions* stream reads ``getDeleted`` for the three types;
* each record is stored as an event of its own (one per version: its
  ``SystemModstamp``), mapped without another call: the query read it whole;
* outbound, the billing status, plans and MRR of a customer are written on
  its Account (``PATCH``, fields ``Billing_Status__c``, ``Billing_Plan__c``,
  ``MRR__c``) when one of its subscriptions is created or changes.
"""

import json
from datetime import UTC, datetime, timedelta

from odoo import models
from odoo.exceptions import UserError

from odoo.addons.integration_base.exceptions import IntegrationError, PermanentError

from .. import salesforce
from ..salesforce_client import SalesforceClient, SalesforceError

#: stream code -> Salesforce object (the deletions stream reads them all)
OBJECT_STREAMS = {
    "salesforce_accounts": "Account",
    "salesforce_contacts": "Contact",
    "salesforce_opportunities": "Opportunity",
}
DELETED_STREAM = "salesforce_deleted"
#: getDeleted answers for the last 15 days only
DELETED_WINDOW = timedelta(days=15)
#: Account fields the billing push writes (custom fields to create in Salesforce)
BILLING_FIELDS = ("Billing_Status__c", "Billing_Plan__c", "MRR__c")


class IntegrationConnectorSalesforce(models.AbstractModel):
    _name = "integration.connector.salesforce"
    _inherit = "integration.connector"
    _description = "Salesforce connector"

    # ------------------------------------------------------------------
    # API
    # ------------------------------------------------------------------
    def _client(self, backend):
        secrets = backend.sudo()
        if not (secrets.salesforce_client_id and secrets.api_key and backend.api_url):
            raise PermanentError(
                f"backend {backend.name} lacks its connected app's credentials",
                hint="Set the My Domain URL (API URL), the consumer key and the consumer secret (API Key) "
                "of the connected app, then retry.",
            )
        return SalesforceClient(
            backend.api_url,
            secrets.salesforce_client_id,
            secrets.api_key,
            backend.timeout,
            rate=backend.rate_limit,
            key=backend.id,
        )

    def _outbound_hosts(self, backend):
        # My Domain (login and API) and the instances it hands out
        return ("*.my.salesforce.com", "*.salesforce.com", "*.force.com")

    # ------------------------------------------------------------------
    # Streams
    # ------------------------------------------------------------------
    def _stream_selection(self):
        return [
            ("salesforce_accounts", "Salesforce: accounts"),
            ("salesforce_contacts", "Salesforce: contacts"),
            ("salesforce_opportunities", "Salesforce: opportunities"),
            (DELETED_STREAM, "Salesforce: deletions"),
        ]

    def _stream_fetch(self, stream, cursor):
        if stream.stream == DELETED_STREAM:
            return self._fetch_deleted(stream, cursor)
        sobject = OBJECT_STREAMS[stream.stream]
        client = self._client(stream.backend_id)
        state = salesforce.read_cursor(cursor, stream.backend_id.salesforce_backfill_from)
        page = None
        if state.get("next"):
            try:
                page = client.next_page(state["next"])
            except SalesforceError as exc:
                if "INVALID_QUERY_LOCATOR" not in exc.codes:
                    raise
                # Salesforce forgot the query (15 minutes idle): again from the newest record ingested
                state = {"since": state.get("mark") or state.get("since"), "next": None, "mark": state.get("mark")}
        if page is None:
            since = salesforce.parse_time(state.get("since"))
            query = salesforce.soql(sobject, since, stream.backend_id.salesforce_multicurrency)
            page = client.query(query, stream.page_size)
        next_cursor, has_more = salesforce.cursor_after(state, page)
        return {
            "items": [salesforce.stream_item(record) for record in page.get("records") or ()],
            "cursor": next_cursor,
            "has_more": has_more,
            "total": page.get("totalSize"),
        }

    def _fetch_deleted(self, stream, cursor):
        """One window of ``getDeleted`` per object, from where the last one ended to now."""
        client = self._client(stream.backend_id)
        now = datetime.now(UTC).replace(microsecond=0)
        oldest = now - DELETED_WINDOW + timedelta(minutes=1)
        starts = json.loads(cursor) if cursor else {}
        backfill = stream.backend_id.salesforce_backfill_from
        items, ends = [], {}
        for sobject in salesforce.CANONICAL_TYPES:
            start = salesforce.parse_time(starts.get(sobject)) or (backfill and backfill.replace(tzinfo=UTC)) or oldest
            start = max(start, oldest)
            answer = client.deleted(sobject, start.isoformat(), now.isoformat())
            items += [salesforce.deleted_item(sobject, deleted) for deleted in answer.get("deletedRecords") or ()]
            # for safety, the next window starts where Salesforce says this one is complete
            ends[sobject] = answer.get("latestDateCovered") or salesforce.soql_time(now)
        return {"items": items, "cursor": json.dumps(ends), "has_more": False}

    def _backend_setup(self, backend):
        backend._salesforce_ensure_streams()

    # ------------------------------------------------------------------
    # Mapping: the record was read whole by the query
    # ------------------------------------------------------------------
    def _event_is_supported(self, backend, event_type):
        return event_type in salesforce.EVENT_TYPES

    def _event_map(self, event, payload):
        return [salesforce.message(payload, self._country_code)]

    # ------------------------------------------------------------------
    # Outbound: billing fields on the customer's Account
    # ------------------------------------------------------------------
    def _outbound_accepts(self, backend, canonical_type, record):
        return canonical_type == "subscription"

    def _account_of(self, backend, partner):
        """The Salesforce Account id of ``partner`` (its own binding, else its company's), or None."""
        Binding = self.env["integration.binding"]
        for candidate in (partner, partner.commercial_partner_id):
            sobject, _sep, record_id = (Binding._find_for(backend, "customer", candidate).external_id or "").partition(
                ":"
            )
            if sobject == "Account" and record_id:
                return record_id
        return None

    def _outbound_deliver(self, backend, event, message):
        subscription = self.env[event.res_model].sudo().browse(event.res_id)
        account = self._account_of(backend, subscription.partner_id)
        if not account:
            event._add_note(
                f"customer {subscription.partner_id.display_name} is not linked to a Salesforce account of "
                f"{backend.name}: nothing sent."
            )
            return None
        company = subscription.company_id
        summary = self.env["integration.billing"]._summary(subscription.partner_id, company)
        values = dict(
            zip(
                BILLING_FIELDS,
                (summary["entitlement"], ";".join(summary["plans"]), company.currency_id.round(summary["mrr"])),
                strict=True,
            )
        )
        return self._client(backend).update("Account", account, values)

    # ------------------------------------------------------------------
    # Administration
    # ------------------------------------------------------------------
    def _outbound_hosts(self, backend):
        return ("*.salesforce.com",)

    def _test_connection(self, backend):
        try:
            self._client(backend).call("GET", f"/services/data/{salesforce.API_VERSION}/limits")
        except IntegrationError as exc:
            raise UserError(self.env._("Salesforce refused the connection test: %s", exc.message)) from exc
        return self.env._("Salesforce REST API reachable with the connected app's client credentials.")
