"""HubSpot as CRM: contacts and companies in, billing status out.

Inbound: HubSpot posts a JSON *array* of events (``tests/data/``), signed v3.
Each event (``subscriptionType`` such as ``contact.creation``, ``objectId``,
``eventId``, ``occurredAt`` in ms) becomes one stored event, deduplicated on
its own. The mapper does not trust the event's few fields: it fetches the
current object from the CRM API (``GET /crm/v3/objects/<type>/<id>``) with the
backend's private app token and produces a canonical ``customer`` message
(contacts as people, companies as companies; external ids ``contact:<id>``
and ``company:<id>`` because the two id spaces overlap).

Outbound: when a subscription changes, the customer's billing status, plan
codes and monthly recurring revenue are written on its HubSpot record
(``PATCH /crm/v3/objects/<type>/<id>``, properties ``billing_status``,
``billing_plan`` and ``mrr``).
"""

import json
from datetime import UTC, datetime

from odoo import models
from odoo.exceptions import UserError

from odoo.addons.integration_base.exceptions import IntegrationError, PermanentError, SignatureError, WebhookError
from odoo.addons.integration_base.http_client import send
from odoo.addons.integration_base.values import clean_text

from ..hubspot import (
    COMPANY_PROPERTIES,
    CONTACT_PROPERTIES,
    OBJECT_PATHS,
    SUPPORTED_EVENTS,
    monthly,
    verify,
)

DEFAULT_API_URL = "https://api.hubapi.com"


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
        event_type = payload.get("subscriptionType")
        event_id, object_id, occurred = payload.get("eventId"), payload.get("objectId"), payload.get("occurredAt")
        if not event_type or event_id in (None, "") or object_id in (None, ""):
            raise WebhookError("a HubSpot event needs subscriptionType, eventId and objectId")
        try:
            occurred_at = datetime.fromtimestamp(int(occurred) / 1000, UTC) if occurred not in (None, "") else None
        except (TypeError, ValueError, OverflowError) as exc:
            raise WebhookError(f"occurredAt is not a time in milliseconds: {occurred!r}") from exc
        # HubSpot does not promise eventId to be unique on its own; with the
        # type and the object it is, and it stays the same on redeliveries
        # (attemptNumber does not)
        return {
            "external_id": f"{event_type}:{object_id}:{event_id}",
            "event_type": event_type,
            "occurred_at": occurred_at,
        }

    def _event_is_supported(self, backend, event_type):
        return event_type in SUPPORTED_EVENTS

    # ------------------------------------------------------------------
    # CRM API
    # ------------------------------------------------------------------
    def _api_url(self, backend):
        return (backend.api_url or DEFAULT_API_URL).rstrip("/")

    def _api_headers(self, backend):
        token = backend.sudo().api_key
        if not token:
            raise PermanentError(
                f"backend {backend.name} has no API key",
                hint="Put the HubSpot private app access token in the backend's API Key, then retry.",
            )
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def _fetch_object(self, backend, kind, object_id):
        """The current CRM object, or None when HubSpot no longer has it."""
        properties = CONTACT_PROPERTIES if kind == "contact" else COMPANY_PROPERTIES
        url = (
            f"{self._api_url(backend)}/crm/v3/objects/{OBJECT_PATHS[kind]}/{object_id}"
            f"?properties={','.join(properties)}"
        )
        try:
            response = send(
                "GET", url, timeout=backend.timeout, headers=self._api_headers(backend), rate_key=backend.id
            )
        except PermanentError as exc:
            if exc.response is not None and exc.response.status_code == 404:
                return None
            raise
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(f"HubSpot answered GET {url} with something else than JSON") from exc

    # ------------------------------------------------------------------
    # Mapping
    # ------------------------------------------------------------------
    def _country_code(self, value):
        value = clean_text(value)
        if not value:
            return None
        if len(value) == 2 and value.isalpha():
            return value.upper()
        country = self.env["res.country"].search(["|", ("name", "=ilike", value), ("code", "=ilike", value)], limit=1)
        return country.code or None

    def _event_map(self, event, payload):
        backend = event.backend_id
        kind = payload["subscriptionType"].split(".", 1)[0]
        if kind not in OBJECT_PATHS:
            raise PermanentError(f"HubSpot object type {kind} is not mapped", category="mapping")
        object_id = str(payload["objectId"])
        found = self._fetch_object(backend, kind, object_id)
        if found is None:
            event._add_note(f"HubSpot {kind} {object_id} no longer exists: nothing applied.")
            return []
        props = found.get("properties") or {}
        address = {
            "line1": clean_text(props.get("address")),
            "line2": clean_text(props.get("address2")),
            "city": clean_text(props.get("city")),
            "zip": clean_text(props.get("zip")),
            "state": clean_text(props.get("state")),
            "country": self._country_code(props.get("country")),
        }
        if kind == "contact":
            name = " ".join(
                part for part in (clean_text(props.get("firstname")), clean_text(props.get("lastname"))) if part
            )
            data = {
                "name": name or clean_text(props.get("email")) or f"HubSpot contact {object_id}",
                "email": clean_text(props.get("email")),
                "phone": clean_text(props.get("phone")),
                "is_company": False,
            }
        else:
            data = {
                "name": clean_text(props.get("name"))
                or clean_text(props.get("domain"))
                or f"HubSpot company {object_id}",
                "phone": clean_text(props.get("phone")),
                "is_company": True,
            }
        if any(address.values()):
            data["address"] = address
        data["metadata"] = {
            "hubspot_object": kind,
            "hubspot_id": object_id,
            "hubspot_domain": clean_text(props.get("domain")),
        }
        message = {"type": "customer", "external_id": f"{kind}:{object_id}", "action": "upsert", "data": data}
        # the object's own version: an older fetch never overwrites a newer one
        if found.get("updatedAt"):
            message["occurred_at"] = found["updatedAt"]
        return [message]

    # ------------------------------------------------------------------
    # Outbound: billing status on the CRM record
    # ------------------------------------------------------------------
    def _hubspot_record(self, message):
        """``(kind, object id)`` of the message's customer, or None if it is not a HubSpot record."""
        kind, _sep, object_id = (message["data"].get("customer_ref") or "").partition(":")
        if kind in OBJECT_PATHS and object_id.isdigit():
            return kind, object_id
        return None

    def _outbound_deliver(self, backend, event, message):
        if message["type"] == "subscription" and not self._hubspot_record(message):
            event._add_note(
                f"customer {message['data'].get('customer_ref')} is not linked to a HubSpot contact or company "
                f"of {backend.name}: nothing sent."
            )
            return None
        return super()._outbound_deliver(backend, event, message)

    def _billing_properties(self, subscription):
        """The customer's billing status, plans and MRR (company currency) over all its subscriptions."""
        subscriptions = (
            self.env["integration.subscription"]
            .sudo()
            .search([("partner_id", "=", subscription.partner_id.id), ("company_id", "=", subscription.company_id.id)])
        )
        entitled = subscriptions.filtered(lambda sub: sub.entitlement_state in ("active", "grace"))
        company = subscription.company_id
        mrr = 0.0
        for sub in entitled:
            amount = monthly(sub.amount, sub.quantity, sub.interval, sub.interval_count)
            if sub.currency_id and sub.currency_id != company.currency_id:
                amount = sub.currency_id._convert(amount, company.currency_id, company, self.env.cr.now().date())
            mrr += amount
        return {
            "billing_status": subscriptions._best_entitlement(),
            "billing_plan": ";".join(sorted(set(entitled.mapped("plan_code")))),
            "mrr": f"{company.currency_id.round(mrr):.{company.currency_id.decimal_places}f}",
        }

    def _outbound_request(self, backend, event, message):
        if message["type"] != "subscription":
            return super()._outbound_request(backend, event, message)
        kind, object_id = self._hubspot_record(message)
        subscription = self.env[event.res_model].sudo().browse(event.res_id)
        return {
            "method": "PATCH",
            "url": f"{self._api_url(backend)}/crm/v3/objects/{OBJECT_PATHS[kind]}/{object_id}",
            "json": {"properties": self._billing_properties(subscription)},
            "headers": self._api_headers(backend),
        }

    # ------------------------------------------------------------------
    # Administration
    # ------------------------------------------------------------------
    def _test_connection(self, backend):
        try:
            send(
                "GET",
                f"{self._api_url(backend)}/crm/v3/objects/contacts?limit=1",
                timeout=backend.timeout,
                headers=self._api_headers(backend),
                rate_key=backend.id,
            )
        except IntegrationError as exc:
            raise UserError(self.env._("HubSpot refused the connection test: %s", exc.message)) from exc
        return self.env._("HubSpot CRM API reachable with this token.")
