"""The answer of the billing-context API: what an agent needs to see about a customer.

Built from ``integration.billing`` (the suite's billing summary) plus the
lists an agent reads: subscriptions with their totals and MRR, the
entitlements, open invoices, the last payment. Amounts are decimal strings
in major units with the currency's decimals. The route checks the caller
(the backend's key) before anything here runs; everything is read as
superuser within the backend's company.
"""

from odoo import api, models

from odoo.addons.integration_base.values import iso_datetime

#: open invoices and subscriptions listed at most (the totals count them all)
LIST_LIMIT = 50


def _money(amount, currency):
    return f"{currency.round(amount):.{currency.decimal_places}f}"


def _date(value):
    return value.isoformat() if value else None


class IntegrationHelpdeskBillingContext(models.AbstractModel):
    _name = "integration.helpdesk.billing.context"
    _description = "Helpdesk billing context (the billing-context API's answer)"

    @api.model
    def _answer(self, backend, customer):
        """The billing context of ``customer`` (a commercial entity) for ``backend``'s company."""
        company = backend.company_id
        Billing = self.env["integration.billing"]
        summary = Billing._summary(customer, company)
        currency = company.currency_id
        subscriptions = Billing._subscriptions(customer, company)[:LIST_LIMIT]
        return {
            "customer": self._customer_json(customer),
            "entitlement": summary["entitlement"],
            "entitlements": [
                self._entitlement_json(sub) for sub in subscriptions if sub.entitlement_state in ("active", "grace")
            ],
            "subscriptions": [self._subscription_json(sub) for sub in subscriptions],
            "mrr": {"amount": _money(summary["mrr"], currency), "currency": currency.name},
            "next_invoice_date": _date(summary["next_invoice_date"]),
            "payment_method": summary["payment_method"],
            "dunning": dict(summary["dunning"], last_failure_at=iso_datetime(summary["dunning"]["last_failure_at"])),
            **self._invoices_json(customer, company),
            "amount_overdue": {
                "amount": _money(summary["amount_overdue"], currency),
                "currency": currency.name,
                "invoices": summary["overdue_invoices"],
            },
            "last_payment": self._last_payment_json(customer, company),
        }

    def _customer_json(self, customer):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        return {
            "name": customer.name,
            "email": customer.email or None,
            "is_company": customer.is_company,
            "odoo_url": f"{base}/odoo/res.partner/{customer.id}",
        }

    def _entitlement_json(self, sub):
        return {
            "plan": sub.plan_code,
            "plan_name": sub.plan_name or sub.plan_code,
            "quantity": sub.quantity,
            "state": sub.entitlement_state,
            "until": iso_datetime(sub.current_period_end),
            "ends": bool(sub.cancel_at_period_end),
        }

    def _subscription_json(self, sub):
        currency = sub.currency_id
        return {
            "plan": sub.plan_code,
            "plan_name": sub.plan_name or sub.plan_code,
            "status": sub.status,
            "entitlement": sub.entitlement_state,
            "quantity": sub.quantity,
            "amount": _money(sub.amount, currency) if currency else None,
            "total": _money(sub.recurring_total, currency) if currency else None,
            "mrr": _money(self.env["integration.billing"]._mrr(sub), currency) if currency else None,
            "currency": currency.name or None,
            "interval": sub.interval or None,
            "interval_count": sub.interval_count or 1,
            "current_period_end": iso_datetime(sub.current_period_end),
            "trial_end": iso_datetime(sub.trial_end),
            "cancel_at_period_end": sub.cancel_at_period_end,
        }

    def _invoices_json(self, customer, company):
        """``open_invoices`` (oldest due first) and ``amount_due`` per currency."""
        domain = self.env["integration.billing"]._invoice_domain(customer, company)
        Move = self.env["account.move"].sudo()
        invoices = Move.search(domain, order="invoice_date_due, id", limit=LIST_LIMIT)
        due = Move._read_group(domain, ["currency_id"], ["amount_residual:sum"], order="currency_id")
        today = self.env.cr.now().date()
        return {
            "open_invoices": [
                {
                    "number": move.name,
                    "date": _date(move.invoice_date),
                    "due_date": _date(move.invoice_date_due),
                    "currency": move.currency_id.name,
                    "total": _money(move.amount_total, move.currency_id),
                    "amount_due": _money(move.amount_residual, move.currency_id),
                    "payment_state": move.payment_state,
                    "overdue": bool(move.invoice_date_due and move.invoice_date_due < today),
                }
                for move in invoices
            ],
            "amount_due": [{"currency": currency.name, "amount": _money(amount, currency)} for currency, amount in due],
        }

    def _last_payment_json(self, customer, company):
        payment = (
            self.env["account.payment"]
            .sudo()
            .search(
                [
                    ("partner_type", "=", "customer"),
                    ("payment_type", "=", "inbound"),
                    ("partner_id", "child_of", customer.id),
                    ("state", "in", ("in_process", "paid")),
                    ("company_id", "=", company.id),
                ],
                order="date desc, id desc",
                limit=1,
            )
        )
        if not payment:
            return None
        return {
            "date": _date(payment.date),
            "amount": _money(payment.amount, payment.currency_id),
            "currency": payment.currency_id.name,
            "reference": payment.name,
            "state": payment.state,
        }
