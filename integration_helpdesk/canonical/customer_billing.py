"""Canonical customer billing: what a helpdesk shows about a customer and routes on (outbound only).

One message per commercial entity: its entitlement, plans, MRR, amounts due
and overdue, next invoice date and dunning status (``integration.billing``),
and ``customer_refs``, the customer's external ids at the destination (the
people and the organization the helpdesk bound to it), so that a customer
newly bound at the helpdesk is sent again even when its billing did not
change. Made when subscriptions, invoices or payments of the customer change
and when its invoices fall overdue (``res.partner._helpdesk_emit_billing``).
"""

from odoo import models

from odoo.addons.integration_base.values import money


class IntegrationCanonicalCustomerBilling(models.AbstractModel):
    _name = "integration.canonical.customer_billing"
    _inherit = ["integration.applier", "integration.exporter"]
    _description = "Canonical customer billing (res.partner, outbound)"

    def _export_data(self, partner, event):
        company = event.backend_id.company_id
        summary = self.env["integration.billing"]._summary(partner, company)
        amount = company.currency_id.round
        return {
            "customer_refs": self._customer_refs(event.backend_id, partner),
            "entitlement": summary["entitlement"],
            "plans": summary["plans"],
            "currency": summary["currency"],
            "mrr": money(amount(summary["mrr"])),
            "amount_due": money(amount(summary["amount_due"])),
            "amount_overdue": money(amount(summary["amount_overdue"])),
            "overdue_invoices": summary["overdue_invoices"],
            "next_invoice_date": summary["next_invoice_date"] and summary["next_invoice_date"].isoformat(),
            "dunning": summary["dunning"]["status"],
            "metadata": {"odoo_model": partner._name, "odoo_id": partner.id},
        }

    def _customer_refs(self, backend, partner):
        """External ids bound on ``backend`` to the customer and its contacts, sorted."""
        people = self.env["res.partner"].sudo().with_context(active_test=False).search([("id", "child_of", partner.id)])
        bindings = self.env["integration.binding"]._find_for(backend, "customer", people, limit=None)
        return sorted(set(bindings.mapped("external_id")))
