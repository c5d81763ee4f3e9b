"""What Odoo writes to HubSpot: its customers, and their billing status.

* **Customers** (backends subscribed to *Customer*): a company becomes a
  HubSpot company, a person with an e-mail a contact associated with its
  company. Already bound: updated (``PATCH``) and its company association
  made again (an idempotent ``PUT``). Not bound: looked up first (contacts
  by e-mail, companies by domain: a retried push or an object made in both
  systems is never duplicated), then updated or created with its
  association, and bound. Fields the backend owns (ownership rules naming
  it) are never sent: HubSpot is their authority. Invoice and delivery
  addresses, the company's own users and its own company are not customers.
* **Billing status** (backends subscribed to *Subscription*): whenever a
  subscription is created or its status, plan or quantity changes, the
  customer's HubSpot record (its own, else its company's) gets
  ``billing_status``, ``billing_plan`` and ``mrr``; also sent with a
  customer created or updated from Odoo.
"""

from urllib.parse import urlsplit

from odoo import models

from odoo.addons.integration_base.exceptions import RetryableError

from ..hubspot import OBJECT_PATHS
from ..hubspot_client import CONTACT_TO_COMPANY_PRIMARY
from ..hubspot_mapping import external_id, split_external_id

#: canonical address keys -> HubSpot properties
ADDRESS_PROPERTIES = {"line1": "address", "line2": "address2", "city": "city", "zip": "zip", "state": "state"}


def domain_of(website):
    """``https://www.acme.example/about`` -> ``acme.example`` (what HubSpot keys companies on)."""
    if not website:
        return None
    host = urlsplit(website if "://" in website else f"https://{website}").hostname or ""
    return host.removeprefix("www.") or None


class IntegrationHubspotOutbound(models.AbstractModel):
    _name = "integration.hubspot.outbound"
    _description = "HubSpot outbound (customers and billing status)"

    # ------------------------------------------------------------------
    # Which records
    # ------------------------------------------------------------------
    def _accepts(self, backend, canonical_type, record):
        if canonical_type == "subscription":
            return True
        if canonical_type != "customer":
            return False  # deals, invoices... are HubSpot's or not its business
        if self.env["integration.binding"]._find_for(backend, "customer", record):
            return True
        if record.sudo().user_ids.filtered(lambda user: not user.share):
            return False  # the company's own people are not its customers
        if self.env["res.company"].sudo().search_count([("partner_id", "=", record.id)]):
            return False
        if record.is_company:
            return True
        return record.type == "contact" and bool(record.email)  # not an invoice or delivery address

    def _target(self, backend, partner):
        """``(kind, id)`` of the HubSpot record of ``partner`` (its own, else its company's), or None."""
        Binding = self.env["integration.binding"]
        for candidate in (partner, partner.commercial_partner_id):
            target = split_external_id(Binding._find_for(backend, "customer", candidate).external_id)
            if target and target[0] in ("contact", "company"):
                return target
        return None

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------
    def _deliver(self, connector, backend, event, message):
        if message["type"] == "customer":
            return self._deliver_customer(connector, backend, event, message)
        return self._deliver_billing(connector, backend, event)

    def _billing_properties(self, partner, company):
        summary = self.env["integration.billing"]._summary(partner, company)
        currency = company.currency_id
        return {
            "billing_status": summary["entitlement"],
            "billing_plan": ";".join(summary["plans"]),
            "mrr": f"{currency.round(summary['mrr']):.{currency.decimal_places}f}",
        }

    def _deliver_billing(self, connector, backend, event):
        subscription = self.env[event.res_model].sudo().browse(event.res_id)
        target = self._target(backend, subscription.partner_id)
        if not target:
            event._add_note(
                f"customer {subscription.partner_id.display_name} is not linked to a HubSpot contact or company "
                f"of {backend.name}: nothing sent."
            )
            return None
        kind, object_id = target
        properties = self._billing_properties(subscription.partner_id, subscription.company_id)
        return connector._client(backend).update_object(
            OBJECT_PATHS[kind], object_id, properties, idempotency_key=event.external_id
        )

    def _customer_properties(self, kind, data):
        """HubSpot properties of the canonical customer ``data`` (only the keys it has)."""
        properties = {}
        if "name" in data and kind == "contact":
            first, _sep, last = (data["name"] or "").partition(" ")
            properties.update(firstname=first, lastname=last)
        elif "name" in data:
            properties["name"] = data["name"] or ""
        for key in ("email", "phone"):
            if key in data and (kind == "contact" or key == "phone"):
                properties[key] = data[key] or ""
        if "website" in data and kind == "company":
            properties["domain"] = domain_of(data["website"]) or ""
        address = data.get("address")
        if address is not None:
            for key, prop in ADDRESS_PROPERTIES.items():
                if kind == "company" or prop != "address2":
                    properties[prop] = address.get(key) or ""
            country = address.get("country")
            properties["country"] = (
                self.env["res.country"].search([("code", "=", country)], limit=1).name if country else ""
            ) or ""
        return properties

    def _company_of(self, backend, partner):
        """HubSpot id of a contact's company, None without one (or one HubSpot is not to have).

        :raise RetryableError: the company is not in HubSpot yet (its own push makes it)
        """
        company = partner.parent_id.commercial_partner_id
        if partner.is_company or not company.is_company or not self._accepts(backend, "customer", company):
            return None
        target = split_external_id(self.env["integration.binding"]._find_for(backend, "customer", company).external_id)
        if target and target[0] == "company":
            return target[1]
        raise RetryableError(
            f"the company {company.display_name} of {partner.display_name} is not in HubSpot yet",
            retry_after=60,
        )

    def _existing(self, client, kind, partner, properties, event):
        """Update the HubSpot object ``partner`` already is there but is not bound to yet.

        Contacts by e-mail (``PATCH ...?idProperty=email``: no search index lag,
        so a push retried after a timeout finds what the first one made),
        companies by domain (a search).

        :return: ``(object id, response)``, or ``(None, None)`` when HubSpot has none
        """
        path = OBJECT_PATHS[kind]
        if kind == "contact":
            response = partner.email and client.update_by(path, "email", partner.email, properties, event.external_id)
            return (
                (str(client.json(response, f"PATCH /crm/v3/objects/{path}")["id"]), response)
                if response
                else (None, None)
            )
        domain = domain_of(partner.website)
        object_id = client.search_id(path, "domain", domain) if domain else None
        if not object_id:
            return None, None
        return object_id, client.update_object(path, object_id, properties, idempotency_key=event.external_id)

    def _deliver_customer(self, connector, backend, event, message):
        partner = self.env["res.partner"].sudo().browse(event.res_id)
        if not self._accepts(backend, "customer", partner):
            # decided again when sent: a user's partner is made before its user
            event._add_note(f"{partner.display_name} is not a customer for HubSpot (a user, or no e-mail): not sent.")
            return None
        kind = "company" if partner.is_company else "contact"
        data, kept_back = self.env["integration.ownership.rule"]._filter_outbound("customer", backend, message["data"])
        if kept_back:
            event._add_note(f"{', '.join(sorted(kept_back))}: owned by {backend.name}, not sent.")
        properties = self._customer_properties(kind, data)
        if backend.outbound_type_ids.filtered(lambda kind_: kind_.code == "subscription"):
            properties.update(self._billing_properties(partner, partner.company_id or backend.company_id))
        client, path = connector._client(backend), OBJECT_PATHS[kind]
        company_id = self._company_of(backend, partner)
        bound = split_external_id(self.env["integration.binding"]._find_for(backend, "customer", partner).external_id)
        if bound and bound[0] == kind:
            object_id = bound[1]
            response = client.update_object(path, object_id, properties, idempotency_key=event.external_id)
        else:
            object_id, response = self._existing(client, kind, partner, properties, event)
        if object_id and company_id:
            client.associate(path, object_id, "companies", company_id)
        elif not object_id:
            associations = [(company_id, CONTACT_TO_COMPANY_PRIMARY)] if company_id else ()
            response = client.create_object(path, properties, associations, idempotency_key=event.external_id)
            object_id = str(client.json(response, f"POST /crm/v3/objects/{path}")["id"])
        self.env["integration.binding"]._bind(backend, "customer", external_id(kind, object_id), partner)
        return response
