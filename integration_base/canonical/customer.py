"""Canonical customer <-> ``res.partner``."""

from odoo import models

from ..exceptions import AmbiguousMatch
from ..models.integration_canonical_naming import text

#: canonical key -> partner field, copied as they are
SIMPLE_FIELDS = {
    "name": "name",
    "email": "email",
    "phone": "phone",
    "vat": "vat",
    "company_registry": "company_registry",
}

#: canonical ``payment_method`` key -> partner field
PAYMENT_METHOD_FIELDS = {
    "type": "integration_payment_method_type",
    "brand": "integration_payment_method_brand",
    "last4": "integration_payment_method_last4",
    "exp_month": "integration_payment_method_exp_month",
    "exp_year": "integration_payment_method_exp_year",
}


class IntegrationCanonicalCustomer(models.AbstractModel):
    _name = "integration.canonical.customer"
    _inherit = ["integration.applier", "integration.exporter"]
    _description = "Canonical customer (res.partner)"
    _archive_on_delete = True

    # ------------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------------
    def _apply_record(self, message, event, partner):
        if partner:
            self._write_changed(partner, self._customer_vals(self._owned_filter(message, event, partner)))
            return self._finish(message, event, partner, "updated")
        partner = self._match_partner(event.backend_id, message["external_id"], message["data"])
        if partner:
            partner.write(self._customer_vals(self._owned_filter(message, event, partner)))
            return self._finish(message, event, partner, "linked")
        vals = self._customer_vals(message["data"])
        vals.setdefault("company_id", False)
        partner = self.env["res.partner"].create(vals)
        return self._finish(message, event, partner, "created")

    def _customer_vals(self, data):
        vals = {field: data[key] or False for key, field in SIMPLE_FIELDS.items() if key in data}
        if "is_company" in data:
            vals["is_company"] = data["is_company"]
        if "address" in data:
            vals.update(self._address_vals(data["address"] or {}))
        if "payment_method" in data:
            method = data["payment_method"] or {}
            vals.update({field: method.get(key) or False for key, field in PAYMENT_METHOD_FIELDS.items()})
        if data.get("lang"):
            lang = self.env["res.lang"]._get_data(code=data["lang"].replace("-", "_"))
            if lang and lang.active:
                vals["lang"] = lang.code
        return vals

    def _address_vals(self, address):
        Country, State = self.env["res.country"], self.env["res.country.state"]
        country = Country.search([("code", "=", address["country"])], limit=1) if address.get("country") else Country
        state = State
        if country and address.get("state"):
            state = State.search(
                [
                    ("country_id", "=", country.id),
                    "|",
                    ("code", "=", address["state"]),
                    ("name", "=ilike", address["state"]),
                ],
                limit=1,
            )
        return {
            "street": address.get("line1") or False,
            "street2": address.get("line2") or False,
            "city": address.get("city") or False,
            "zip": address.get("zip") or False,
            "country_id": country.id,
            "state_id": state.id,
        }

    def _match_partner(self, backend, external_id, data):
        """Find the partner of a new external customer by the configured keys.

        :return: a partner or an empty recordset
        :raise AmbiguousMatch: when several partners match
        """
        Partner = self.env["res.partner"]
        candidates = Partner.browse()
        keys = [
            (backend.match_partner_email, "email", "email", "=ilike"),
            (backend.match_partner_vat, "vat", "vat", "="),
            (backend.match_partner_registry, "company_registry", "company_registry", "="),
        ]
        for enabled, key, field, operator in keys:
            if enabled and data.get(key):
                candidates |= Partner.search(
                    [(field, operator, data[key]), ("company_id", "in", (False, backend.company_id.id))], limit=10
                )
        candidates = candidates.filtered(lambda p: not p.parent_id or p.is_company)
        if len(candidates) > 1:
            raise AmbiguousMatch(
                self.env._(
                    "%(count)s contacts match customer %(customer)s (%(key)s)",
                    count=len(candidates),
                    customer=external_id,
                    key=data.get("email") or data.get("vat"),
                ),
                candidates=candidates,
                canonical_type="customer",
                external_id=external_id,
                records=candidates,
            )
        return candidates

    def _described_customer(self, data, backend, record):
        return record, text(data.get("name")) or text(data.get("email"))

    # ------------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------------
    def _export_data(self, partner, event):
        data = {
            "name": partner.name or partner.display_name,
            "email": partner.email or None,
            "phone": partner.phone or None,
            "is_company": partner.is_company,
            "vat": partner.vat or None,
            "company_registry": partner.company_registry or None,
            "address": {
                "line1": partner.street or None,
                "line2": partner.street2 or None,
                "city": partner.city or None,
                "zip": partner.zip or None,
                "state": partner.state_id.code or None,
                "country": partner.country_id.code or None,
            },
            "metadata": {"odoo_model": partner._name, "odoo_id": partner.id},
        }
        if partner.integration_payment_method_type:
            data["payment_method"] = {key: partner[field] or None for key, field in PAYMENT_METHOD_FIELDS.items()}
        return data
