"""Canonical CRM deal <-> an opportunity of Odoo CRM (``crm.lead`` of type opportunity).

A canonical type defined outside integration_base: its schema is
``../schemas/v1/crm_deal.json``, its record ``crm_deal.xml``; the engine
finds all three without a line of integration_base knowing about deals.

* open deals follow their stage: pipeline + stage at the source -> an Odoo
  CRM stage through the backend's *Deal stages* table
  (``integration.crm.stage.map``); a stage the table does not map fails with
  a mapping exception that names it (matched by name when the backend has no
  table);
* ``won`` and ``lost`` use CRM's own won / lost semantics (a won stage and
  100 %; archived at 0 % with the lost reason matched by name); a lost deal
  open again is restored;
* the owner's e-mail picks the salesperson (an Odoo user with that login or
  e-mail);
* the amount is the expected revenue, converted into the company currency;
* a delete archives the opportunity (its binding stays, as a tombstone).
"""

from odoo import fields, models
from odoo.tools import email_normalize, html2plaintext, plaintext2html

from odoo.addons.integration_base.exceptions import BusinessError
from odoo.addons.integration_base.values import money, to_amount, to_date


class IntegrationCanonicalCrmDeal(models.AbstractModel):
    _name = "integration.canonical.crm_deal"
    _inherit = ["integration.applier", "integration.exporter"]
    _description = "Canonical CRM deal (crm.lead)"
    _archive_on_delete = True

    # ------------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------------
    def _apply_record(self, message, event, lead):
        backend = event.backend_id
        if lead:
            data = self._owned_filter(message, event, lead)
            self._write_changed(lead, self._deal_vals(event, data, lead))
            action = "updated"
        else:
            data = message["data"]
            vals = self._deal_vals(event, data, lead)
            vals.update(type="opportunity", company_id=backend.company_id.id)
            vals.setdefault("user_id", False)
            lead = self.env["crm.lead"].with_company(backend.company_id).create(vals)
            action = "created"
        if "status" in data:
            self._apply_status(event, lead, data)
        return self._finish(message, event, lead, action)

    def _deal_vals(self, event, data, lead):
        backend = event.backend_id
        vals = {}
        if "name" in data:
            vals["name"] = data["name"]
        if data.get("customer_ref"):
            vals["partner_id"] = self._partner_of(backend, data["customer_ref"]).id
        elif "customer_ref" in data:
            vals["partner_id"] = False
        if "amount" in data:
            vals["expected_revenue"] = self._company_amount(backend.company_id, data)
        if data.get("probability") is not None:
            vals["probability"] = data["probability"]
        if "close_date" in data:
            vals["date_deadline"] = to_date(data["close_date"]) or False
        if "description" in data:
            vals["description"] = plaintext2html(data["description"]) if data["description"] else False
        if data.get("stage") and data.get("status", "open") == "open":
            vals["stage_id"] = self._mapped_stage(backend, data).id
        if data.get("owner_email"):
            user = self._salesperson(data["owner_email"])
            if user:
                vals["user_id"] = user.id
            else:
                event._add_note(f"no Odoo user has the e-mail {data['owner_email']}: salesperson not set.")
        elif "owner_email" in data and not lead:
            vals["user_id"] = False
        return vals

    def _company_amount(self, company, data):
        amount = to_amount(data.get("amount"))
        if not data.get("currency") or data["currency"] == company.currency_id.name:
            return amount
        currency = self._currency(data["currency"])
        return currency._convert(amount, company.currency_id, company, fields.Date.context_today(self))

    def _stage(self, name):
        return self.env["crm.stage"].search([("name", "=ilike", name)], order="sequence, id", limit=1)

    def _mapped_stage(self, backend, data):
        """The Odoo stage of the deal's pipeline and stage.

        :raise BusinessError: (mapping) the stage is not mapped, naming it
        """
        pipeline, stage = data.get("pipeline"), data["stage"]
        odoo_stage, has_table = self.env["integration.crm.stage.map"]._odoo_stage(backend, pipeline, stage)
        if not odoo_stage and not has_table:
            odoo_stage = self._stage(stage)
        if odoo_stage:
            return odoo_stage
        where = f" of pipeline {pipeline!r}" if pipeline else ""
        raise BusinessError(
            f"{backend.name}: deal stage {stage!r}{where} is not mapped to an Odoo CRM stage",
            category="mapping",
            hint=f"Add a row for stage {stage!r}{where} in the Deal stages tab of the backend "
            f"{backend.name} (Integration > Configuration > Backends), then retry.",
        )

    def _salesperson(self, email):
        """The internal user whose login or e-mail is ``email`` (empty when none)."""
        Users = self.env["res.users"]
        domain = [("share", "=", False), "|", ("login", "=ilike", email), ("email", "=ilike", email)]
        return Users.search(domain, limit=1)

    def _apply_status(self, event, lead, data):
        """Won, lost, or open again, with CRM's own semantics."""
        status = data.get("status") or "open"
        if status == "won" and lead.won_status != "won":
            lead.action_set_won()
        elif status == "lost" and lead.won_status != "lost":
            if lead.stage_id.is_won:
                # CRM loses no lead in a won stage: back to the deal's stage, else the first open one
                stage, _has_table = self.env["integration.crm.stage.map"]._odoo_stage(
                    event.backend_id, data.get("pipeline"), data.get("stage")
                )
                stage = stage or (self._stage(data["stage"]) if data.get("stage") else self.env["crm.stage"])
                if not stage or stage.is_won:
                    stage = lead._stage_find(domain=[("is_won", "=", False)])
                lead.stage_id = stage
            reason = self.env["crm.lost.reason"]
            if data.get("lost_reason"):
                reason = reason.search([("name", "=ilike", data["lost_reason"])], limit=1)
            lead.action_set_lost(lost_reason_id=reason.id)
        elif status == "open" and not lead.active:
            lead.action_restore()
            event._add_note(f"deal {lead.display_name} is open again at the source: restored.")

    # ------------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------------
    def _export_data(self, lead, event):
        status = {"won": "won", "lost": "lost"}.get(lead.won_status, "open")
        description = html2plaintext(lead.description).strip() if lead.description else None
        return {
            "name": lead.name,
            "customer_ref": self._ref(event, "customer", lead.partner_id.commercial_partner_id),
            "amount": money(lead.expected_revenue),
            "currency": lead.company_currency.name or lead.company_id.currency_id.name,
            "status": status,
            "stage": lead.stage_id.name or None,
            "probability": lead.probability,
            "close_date": fields.Date.to_string(lead.date_deadline) if lead.date_deadline else None,
            "description": description or None,
            "lost_reason": lead.lost_reason_id.name or None,
            "owner_email": email_normalize(lead.user_id.email or "") or None,
            "metadata": {"odoo_model": lead._name, "odoo_id": lead.id},
        }
