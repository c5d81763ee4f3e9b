"""HubSpot as CRM: contacts, companies and deals in; customers and billing status out.

Inbound: HubSpot posts a JSON *array* of events (``tests/data/``), signed v3,
in its legacy format (``contact.creation``...) or the generic one
(``object.creation`` with ``objectTypeId`` ``0-1``/``0-2``/``0-3``), read
alike by :func:`hubspot.describe`. Each event becomes one stored event,
deduplicated on its own. The mapper does not trust the event's few fields:
it reads the current object from the CRM API, in batches shared by the
events waiting in the inbox (:meth:`_snapshot`), and produces a canonical
``customer`` (contacts as people with their primary company as parent,
companies with their domain as website) or ``crm_deal`` message. Deletions
archive, merges move bindings onto the survivor, privacy deletions erase
personal data (unless a legal hold keeps it): the appliers of
integration_base do that from the message's ``action``.

Outbound (``integration.hubspot.outbound``): customers created or changed in
Odoo become HubSpot contacts and companies (created, or updated, with their
company association), and subscriptions write the customer's billing status,
plans and MRR on its HubSpot record.
"""

import json
from datetime import UTC, datetime

from odoo import models
from odoo.exceptions import UserError

from odoo.addons.integration_base.exceptions import IntegrationError, PermanentError, SignatureError, WebhookError
from odoo.addons.integration_base.values import clean_text

from .. import hubspot_mapping as mapping
from ..hubspot import (
    OBJECT_PATHS,
    READ_ACTIONS,
    SUPPORTED_EVENTS,
    TIMESTAMP_HEADER,
    describe,
    event_type,
    merged_ids,
    reads,
    verify,
)
from ..hubspot_client import BATCH_SIZE, HubspotClient
from ..snapshots import SNAPSHOTS

DEFAULT_API_URL = "https://api.hubapi.com"
#: the stored types of the events whose object is read from the API
READ_EVENT_TYPES = tuple(f"{kind}.{action}" for kind in OBJECT_PATHS for action in READ_ACTIONS)


class IntegrationConnectorHubspot(models.AbstractModel):
    _name = "integration.connector.hubspot"
    _inherit = "integration.connector"
    _description = "HubSpot connector"

    # ------------------------------------------------------------------
    # Webhook
    # ------------------------------------------------------------------
    def _webhook_verify(self, backend, headers, body):
        context = self.env.context
        url = context.get("integration_webhook_url")
        if not url:
            raise SignatureError("the request URL is unknown: HubSpot signatures cannot be checked")
        # the URL as received, and as configured in HubSpot (behind a proxy
        # that does not forward the original host and scheme)
        query = url.partition("?")[2]
        configured = backend.sudo().webhook_url
        uris = [url, f"{configured}?{query}" if configured and query else configured]
        verify(backend._get_webhook_secrets(), headers, body, context.get("integration_webhook_method") or "POST", uris)

    def _webhook_parse(self, backend, body):
        try:
            payload = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookError(f"body is not valid JSON: {exc}") from exc
        if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
            raise WebhookError("HubSpot sends a JSON array of event objects")
        return payload

    def _webhook_split(self, backend, payload, body):
        return [(item, json.dumps(item, sort_keys=True)) for item in payload]

    def _webhook_identity(self, backend, payload, headers):
        try:
            info = describe(payload)
        except ValueError as exc:
            raise WebhookError(str(exc)) from exc
        event_id, occurred = payload.get("eventId"), payload.get("occurredAt")
        if event_id in (None, "") or isinstance(event_id, dict | list | bool):
            raise WebhookError("a HubSpot event needs subscriptionType, eventId and objectId")
        try:
            occurred_at = datetime.fromtimestamp(int(occurred) / 1000, UTC) if occurred not in (None, "") else None
        except (TypeError, ValueError, OverflowError) as exc:
            raise WebhookError(f"occurredAt is not a time in milliseconds: {occurred!r}") from exc
        # HubSpot does not promise eventId to be unique on its own; with the
        # type and the object(s) it is, and it stays the same on redeliveries
        # (attemptNumber does not)
        subject = info["object_id"]
        if info["action"] == "associationChange":
            subject = f"{subject}-{info['other_id']}"
        elif info["generic"]:
            subject = f"{payload.get('objectTypeId')}:{subject}"
        return {
            "external_id": f"{info['raw_type']}:{subject}:{event_id}",
            "event_type": event_type(info),
            "occurred_at": occurred_at,
        }

    def _event_is_supported(self, backend, event_type):
        return event_type in SUPPORTED_EVENTS

    def _webhook_safe_headers(self):
        return (TIMESTAMP_HEADER,)

    # ------------------------------------------------------------------
    # CRM API
    # ------------------------------------------------------------------
    def _api_url(self, backend):
        return (backend.api_url or DEFAULT_API_URL).rstrip("/")

    def _client(self, backend):
        token = backend.sudo().api_key
        if not token:
            raise PermanentError(
                f"backend {backend.name} has no API key",
                hint="Put the HubSpot private app access token in the backend's API Key, then retry.",
            )
        return HubspotClient(
            self._api_url(backend),
            token,
            backend.timeout,
            rate=backend.rate_limit,
            key=backend.id,
            scope=self.env.cr.dbname,
        )

    def _snapshot(self, event, kind, object_id):
        """What the CRM API says of an object now, as read for ``event``'s batch.

        :return: dict of ``object`` (None: HubSpot no longer has it),
            ``companies`` and ``contacts`` (a deal's associations) and
            ``owner_email`` (a deal owner's)
        """
        key = (self.env.cr.dbname, event.backend_id.id, kind, object_id)
        hit, snapshot = SNAPSHOTS.get(key, event.id)
        if not hit:
            self._read_batch(event, kind, object_id)
            hit, snapshot = SNAPSHOTS.get(key, event.id)
        return snapshot

    def _waiting_reads(self, event, kind):
        """``{object id: {event ids}}`` of the objects of ``kind`` the waiting events of the backend read."""
        wanted = {}
        siblings = (
            self.env["integration.event"]
            .sudo()
            .search(
                [
                    ("backend_id", "=", event.backend_id.id),
                    ("direction", "=", "in"),
                    ("state", "in", ("queued", "processing")),
                    ("event_type", "in", READ_EVENT_TYPES),
                    ("id", "!=", event.id),
                ],
                order="id",
                limit=5 * BATCH_SIZE,
            )
        )
        for sibling in siblings:
            try:
                item = json.loads(sibling.payload or "{}")
                targets = reads(describe(item), item)
            except ValueError:
                continue
            for target_kind, object_id in targets:
                if target_kind == kind:
                    wanted.setdefault(object_id, set()).add(sibling.id)
        return wanted

    def _read_batch(self, event, kind, object_id):
        """One batch read of ``object_id`` and the objects of the same kind the waiting events need."""
        wanted = {object_id: {event.id}}
        for other_id, event_ids in self._waiting_reads(event, kind).items():
            if other_id in wanted or len(wanted) < BATCH_SIZE:
                wanted.setdefault(other_id, set()).update(event_ids)
        client = self._client(event.backend_id)
        objects = client.batch_read(OBJECT_PATHS[kind], list(wanted), mapping.PROPERTIES[kind])
        companies = contacts = owners = {}
        if kind == "deal" and objects:
            companies = client.batch_associations("deals", "companies", list(objects))
            contacts = client.batch_associations("deals", "contacts", list(objects))
            if any((obj.get("properties") or {}).get("hubspot_owner_id") for obj in objects.values()):
                owners = client.owners()
        for other_id, event_ids in wanted.items():
            obj = objects.get(other_id)
            owner = clean_text(((obj or {}).get("properties") or {}).get("hubspot_owner_id"))
            snapshot = {
                "object": obj,
                "companies": companies.get(other_id, []),
                "contacts": contacts.get(other_id, []),
                "owner_email": owners.get(owner),
            }
            SNAPSHOTS.put((self.env.cr.dbname, event.backend_id.id, kind, other_id), event_ids, snapshot)

    # ------------------------------------------------------------------
    # Mapping
    # ------------------------------------------------------------------
    def _event_map(self, event, payload):
        info = describe(payload)
        kind, action, object_id = info["kind"], info["action"], info["object_id"]
        if event_type(info) not in SUPPORTED_EVENTS:
            event._add_note(f"HubSpot {event_type(info)} events are not applied to Odoo.")
            return []
        if action == "deletion":
            return [mapping.gone(kind, object_id, "delete")]
        if action == "privacyDeletion":
            return [mapping.gone(kind, object_id, "erase")]
        targets = reads(info, payload)
        if not targets:
            event._add_note(f"HubSpot association {kind} - {info.get('other_kind')} is not applied to Odoo.")
            return []
        target_kind, target_id = targets[0]
        snapshot = self._snapshot(event, target_kind, target_id)
        obj = snapshot["object"]
        if obj is None:
            event._add_note(f"HubSpot {target_kind} {target_id} no longer exists: nothing applied.")
            return []
        if target_kind == "contact":
            data = mapping.contact_data(obj, self._country_code, unlinked=info.get("removed", False))
        elif target_kind == "company":
            data = mapping.company_data(obj, self._country_code)
        else:
            data = mapping.deal_data(obj, snapshot["companies"], snapshot["contacts"], snapshot["owner_email"])
        merged = merged_ids(payload) if action == "merge" else ()
        return [mapping.message(target_kind, obj, data, action="merge" if merged else "upsert", merged=merged)]

    # ------------------------------------------------------------------
    # Outbound: integration.hubspot.outbound
    # ------------------------------------------------------------------
    def _outbound_accepts(self, backend, canonical_type, record):
        return self.env["integration.hubspot.outbound"]._accepts(backend, canonical_type, record)

    def _outbound_deliver(self, backend, event, message):
        return self.env["integration.hubspot.outbound"]._deliver(self, backend, event, message)

    # ------------------------------------------------------------------
    # Administration
    # ------------------------------------------------------------------
    def _backend_create_vals(self, vals):
        # a private app may make 190 calls per 10 seconds (Professional and
        # Enterprise accounts): 19 a second, with a burst of 190
        vals.setdefault("rate_limit", 19.0)
        return vals

    def _outbound_hosts(self, backend):
        return ("api.hubapi.com", "api.hubspot.com")

    def _test_connection(self, backend):
        try:
            self._client(backend).call("GET", "/crm/v3/objects/contacts?limit=1")
        except IntegrationError as exc:
            raise UserError(self.env._("HubSpot refused the connection test: %s", exc.message)) from exc
        return self.env._("HubSpot CRM API reachable with this token.")
