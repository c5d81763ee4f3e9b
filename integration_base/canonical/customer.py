"""Canonical customer <-> ``res.partner``.

Besides upserts and deletes (archive), a customer message may be

* a **merge** (``action: merge``, ``merged_refs``): the applier core moves
  the bindings of the merged objects onto the survivor's partner; a merged
  partner that is nothing but a duplicate is archived, one that holds
  accounting or other systems' links stays and a person decides
  (:meth:`_merge_loser`);
* an **erase** (``action: erase``, a privacy deletion such as GDPR's right
  to erasure): the bound partner's personal data is anonymized, unless a
  legal hold (posted accounting entries) obliges Odoo to keep it; either way
  the chatter says what was done (:meth:`_erase`).
"""

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
    "website": "website",
}
#: partner fields holding personal data, cleared by an erase
PERSONAL_FIELDS = (
    "email",
    "phone",
    "mobile",
    "website",
    "function",
    "comment",
    "vat",
    "company_registry",
    "ref",
    "street",
    "street2",
    "city",
    "zip",
    "state_id",
    "country_id",
    "title",
    "image_1920",
    "partner_latitude",
    "partner_longitude",
)

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
        if message.get("action") == "erase":
            return self._erase(message, event, partner)
        backend = event.backend_id
        if partner:
            vals = self._customer_vals(backend, self._owned_filter(message, event, partner))
            self._write_changed(partner, vals)
            return self._finish(message, event, partner, "updated")
        partner = self._match_partner(backend, message["external_id"], message["data"])
        if partner:
            partner.write(self._customer_vals(backend, self._owned_filter(message, event, partner)))
            return self._finish(message, event, partner, "linked")
        vals = self._customer_vals(backend, message["data"])
        vals.setdefault("company_id", False)
        partner = self.env["res.partner"].create(vals)
        return self._finish(message, event, partner, "created")

    def _touched_objects(self, message):
        # a person's company is a customer too
        return [
            ("customer" if kind == "parent" else kind, external_id)
            for kind, external_id in super()._touched_objects(message)
        ]

    def _customer_vals(self, backend, data):
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
        if data.get("parent_ref"):
            vals["parent_id"] = self._partner_of(backend, data["parent_ref"]).id
        elif "parent_ref" in data:
            vals["parent_id"] = False
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

        Every contact counts, those of a company included (Jane Doe under
        Acme Corp is Jane Doe): a person matches people first, a company
        companies first.

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
        if "is_company" in data:
            same_kind = candidates.filtered(lambda p: p.is_company == data["is_company"])
            candidates = same_kind or candidates
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
    # Merges and erasure
    # ------------------------------------------------------------------
    def _legal_hold(self, partner):
        """Why Odoo must keep ``partner``'s data (posted accounting entries), or None."""
        moves = self.env["account.move"].search_count(
            [
                ("state", "=", "posted"),
                "|",
                ("partner_id", "=", partner.id),
                ("commercial_partner_id", "=", partner.id),
            ]
        )
        return f"{moves} posted accounting entries" if moves else None

    def _merge_loser(self, message, event, loser, survivor):
        """A merged partner with accounting or links to other systems stays: a person decides."""
        reasons = [self._legal_hold(loser)]
        others = self.env["integration.binding"].search(
            [("res_model", "=", loser._name), ("res_id", "=", loser.id), ("backend_id", "!=", event.backend_id.id)]
        )
        if others:
            reasons.append(f"links to {', '.join(sorted(set(others.backend_id.mapped('name'))))}")
        reasons = [reason for reason in reasons if reason]
        if not reasons:
            return super()._merge_loser(message, event, loser, survivor)
        text = (
            f"{event.backend_id.name} merged {loser.display_name} into {survivor.display_name}; the Odoo contact "
            f"{loser.display_name} has {' and '.join(reasons)}, so it stays as it is."
        )
        loser.message_post(body=text)
        self.env["integration.exception"]._open(
            event,
            "business",
            text,
            severity="medium",
            records=loser,
            key=f"merge:{loser.id}:{survivor.id}",
            hint="If both contacts are the same customer, merge them in Odoo (Contacts > Action > Merge), "
            "then close this exception.",
        )
        return loser

    def _erase(self, message, event, partner):
        """Anonymize the bound partner (privacy deletion), unless a legal hold keeps its data."""
        backend = event.backend_id
        if not partner:
            event._add_note(f"customer {message['external_id']}: privacy deletion of a contact Odoo never knew.")
            return None
        hold = self._legal_hold(partner)
        if hold:
            text = (
                f"{backend.name} asked for the personal data of {partner.display_name} to be erased "
                f"(privacy deletion); Odoo keeps it: {hold} must be retained (legal hold)."
            )
            partner.message_post(body=text)
            self.env["integration.exception"]._open(
                event,
                "business",
                text,
                severity="medium",
                records=partner,
                key=f"erase:{partner.id}",
                hint="Erase what the law allows by hand once the retention period ends, and answer the person's "
                "request within the legal deadline.",
            )
            return self._finish(message, event, partner, "held")
        cleared = [name for name in PERSONAL_FIELDS if name in partner._fields and partner[name]]
        vals = dict.fromkeys(cleared, False)
        vals.update(name=f"Anonymized contact {partner.id}", active=False)
        partner.with_context(tracking_disable=True).write(vals)
        purged = self.env["integration.event"]._purge_personal_data(partner)
        # what the chatter tracked before (old e-mails, names) goes too
        self.env["mail.tracking.value"].search(
            [("mail_message_id.model", "=", partner._name), ("mail_message_id.res_id", "=", partner.id)]
        ).unlink()
        partner.message_post(
            body=self.env._(
                "Personal data erased at the request of %(backend)s (privacy deletion): %(fields)s cleared, "
                "%(events)s stored event payload(s) purged; archived.",
                backend=backend.name,
                fields=", ".join(["name"] + cleared),
                events=purged,
            )
        )
        return self._finish(message, event, partner, "anonymized")

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
            "website": partner.website or None,
            "parent_ref": self._ref(event, "customer", partner.parent_id),
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
