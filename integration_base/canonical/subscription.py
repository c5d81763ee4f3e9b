"""Canonical subscription <-> ``integration.subscription``."""

from odoo import models

from ..values import iso_datetime, money, to_amount, to_datetime

#: subscription fields that follow the canonical ``plan``
PLAN_FIELDS = ("plan_code", "plan_name", "amount", "currency_id", "interval", "interval_count")
#: statuses a subscription never leaves at its source
FINAL_STATUSES = ("canceled", "incomplete_expired")


class IntegrationCanonicalSubscription(models.AbstractModel):
    _name = "integration.canonical.subscription"
    _inherit = ["integration.applier", "integration.exporter"]
    _description = "Canonical subscription (integration.subscription)"

    # ------------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------------
    def _apply_record(self, message, event, subscription):
        backend = event.backend_id
        partner = self._partner_of(backend, message["data"]["customer_ref"])
        vals = self._subscription_vals(message, partner)
        if subscription:
            allowed = self._owned_filter(message, event, subscription)
            if "plan" not in allowed:
                for key in PLAN_FIELDS:
                    vals.pop(key)
            for key in ("quantity", "status"):
                if key not in allowed:
                    vals.pop(key)
            subscription.write(vals)
            return self._finish(message, event, subscription, "updated")
        vals.update(
            name=f"{vals['plan_name']} - {partner.display_name}",
            backend_id=backend.id,
            company_id=backend.company_id.id,
        )
        subscription = self.env["integration.subscription"].create(vals)
        return self._finish(message, event, subscription, "created")

    def _in_final_state(self, subscription, binding):
        return subscription.status in FINAL_STATUSES or super()._in_final_state(subscription, binding)

    def _is_final_message(self, message):
        return message["data"].get("status") in FINAL_STATUSES or super()._is_final_message(message)

    def _subscription_vals(self, message, partner):
        data = message["data"]
        plan = data["plan"]
        return {
            "partner_id": partner.id,
            "plan_code": plan["code"],
            "plan_name": plan.get("name") or plan["code"],
            "amount": to_amount(plan.get("amount")),
            "currency_id": self._currency(plan["currency"]).id if plan.get("currency") else False,
            "interval": plan.get("interval") or False,
            "interval_count": plan.get("interval_count") or 1,
            "quantity": data["quantity"],
            "status": "canceled" if message.get("action") == "delete" else data["status"],
            "current_period_start": to_datetime(data.get("current_period_start")),
            "current_period_end": to_datetime(data.get("current_period_end")),
            "trial_end": to_datetime(data.get("trial_end")),
            "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
            "canceled_at": to_datetime(data.get("canceled_at")),
        }

    # ------------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------------
    def _export_data(self, sub, event):
        plan = {"code": sub.plan_code, "name": sub.plan_name or None}
        if sub.currency_id:
            plan.update(amount=money(sub.amount), currency=sub.currency_id.name)
        if sub.interval:
            plan.update(interval=sub.interval, interval_count=sub.interval_count or 1)
        return {
            "customer_ref": self._ref(event, "customer", sub.partner_id),
            "plan": plan,
            "quantity": sub.quantity,
            "status": sub.status,
            "current_period_start": iso_datetime(sub.current_period_start),
            "current_period_end": iso_datetime(sub.current_period_end),
            "trial_end": iso_datetime(sub.trial_end),
            "cancel_at_period_end": sub.cancel_at_period_end,
            "canceled_at": iso_datetime(sub.canceled_at),
            "metadata": {"odoo_model": sub._name, "odoo_id": sub.id, "entitlement": sub.entitlement_state},
        }
