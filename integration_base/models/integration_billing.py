"""A customer's billing at a glance, for the systems people work in.

Support agents (the helpdesk's billing context and fields) and salespeople
(the CRM's billing properties) ask the same questions about a customer:
may they use the product, what do they pay a month, what do they owe and
since when, when is the next invoice, which card is on file, are payments
failing. :meth:`IntegrationBilling._summary` answers them in one place, for
one commercial entity in one company, from what the suite stores:
``integration.subscription``, posted customer invoices, the canonical
customer's payment method and the open *failed payment* exceptions of
generic dunning.
"""

from odoo import api, models

from ..billing import card_expired, monthly

#: subscription states that still bill the customer (the next invoice will come)
BILLING_STATES = ("trialing", "active", "past_due", "unpaid")


class IntegrationBilling(models.AbstractModel):
    _name = "integration.billing"
    _description = "Integration Billing Summary (a customer's billing at a glance)"

    @api.model
    def _summary(self, customer, company):
        """The billing of ``customer``'s commercial entity in ``company``.

        Read as superuser by the callers that checked their own access (a
        route with its key, an exporter): amounts are in the company's
        currency (other currencies converted at today's rate).

        :return: dict of ``entitlement`` (best of the subscriptions'),
            ``plans`` (codes of the entitled subscriptions), ``currency``,
            ``mrr``, ``amount_due``, ``amount_overdue`` (floats),
            ``overdue_invoices`` (count), ``next_invoice_date`` (date or None),
            ``payment_method`` (dict or None) and ``dunning`` (dict)
        """
        customer = customer.commercial_partner_id
        subscriptions = self._subscriptions(customer, company)
        entitled = subscriptions.filtered(lambda sub: sub.entitlement_state in ("active", "grace"))
        return {
            "entitlement": subscriptions._best_entitlement(),
            "plans": sorted(set(entitled.mapped("plan_code"))),
            "currency": company.currency_id.name,
            "mrr": sum(self._to_company(self._mrr(sub), sub.currency_id, company) for sub in entitled),
            **self._dues(customer, company),
            "next_invoice_date": self._next_invoice_date(subscriptions),
            "payment_method": self._payment_method(customer),
            "dunning": self._dunning(customer, company, subscriptions),
        }

    @api.model
    def _subscriptions(self, customer, company):
        return (
            self.env["integration.subscription"]
            .sudo()
            .search([("partner_id", "child_of", customer.id), ("company_id", "=", company.id)], order="id desc")
        )

    @api.model
    def _mrr(self, subscription):
        """Monthly recurring revenue of one subscription, in its currency."""
        sub = subscription
        return monthly(sub.amount, sub.quantity, sub.interval, sub.interval_count)

    def _to_company(self, amount, currency, company):
        if not amount or not currency or currency == company.currency_id:
            return amount
        return currency._convert(amount, company.currency_id, company, self.env.cr.now().date())

    def _invoice_domain(self, customer, company):
        return [
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
            ("commercial_partner_id", "=", customer.id),
            ("company_id", "=", company.id),
        ]

    def _dues(self, customer, company):
        """Amount due and overdue (company currency) and how many invoices are overdue."""
        Move = self.env["account.move"].sudo()
        domain = self._invoice_domain(customer, company)
        today = self.env.cr.now().date()
        [(due,)] = Move._read_group(domain, [], ["amount_residual_signed:sum"])
        [(overdue, count)] = Move._read_group(
            domain + [("invoice_date_due", "<", today)], [], ["amount_residual_signed:sum", "__count"]
        )
        return {"amount_due": due or 0.0, "amount_overdue": overdue or 0.0, "overdue_invoices": count}

    def _next_invoice_date(self, subscriptions):
        """When the next invoice comes: the earliest renewal of a subscription that still bills."""
        dates = [
            (sub.trial_end if sub.status == "trialing" and sub.trial_end else sub.current_period_end).date()
            for sub in subscriptions
            if sub.status in BILLING_STATES
            and not sub.cancel_at_period_end
            and (sub.current_period_end or (sub.status == "trialing" and sub.trial_end))
        ]
        return min(dates) if dates else None

    def _payment_method(self, customer):
        if not customer.integration_payment_method_type:
            return None
        month, year = customer.integration_payment_method_exp_month, customer.integration_payment_method_exp_year
        return {
            "type": customer.integration_payment_method_type,
            "brand": customer.integration_payment_method_brand or None,
            "last4": customer.integration_payment_method_last4 or None,
            "exp_month": month or None,
            "exp_year": year or None,
            "expired": card_expired(month, year, self.env.cr.now().date()),
        }

    @api.model
    def _open_payment_failures(self, customer, company):
        """Open *failed payment* exceptions on the customer, its contacts or its invoices, newest first."""
        partners = (
            self.env["res.partner"].sudo().with_context(active_test=False).search([("id", "child_of", customer.id)])
        )
        invoices = (
            self.env["account.move"]
            .sudo()
            .search([("commercial_partner_id", "=", customer.id), ("move_type", "=", "out_invoice")])
        )
        return (
            self.env["integration.exception"]
            .sudo()
            .search(
                [
                    ("category", "=", "payment_failed"),
                    ("state", "in", ("new", "in_progress")),
                    ("company_id", "=", company.id),
                    "|",
                    "&",
                    ("res_model", "=", "res.partner"),
                    ("res_id", "in", partners.ids),
                    "&",
                    ("res_model", "=", "account.move"),
                    ("res_id", "in", invoices.ids),
                ],
                order="create_date desc, id desc",
            )
        )

    def _dunning(self, customer, company, subscriptions):
        """Failed payments still open for finance, and what they mean for the customer.

        ``status``: ``failing`` (open failed-payment exceptions), ``past_due``
        (a subscription past due or unpaid, no open failure), else ``ok``.
        """
        failures = self._open_payment_failures(customer, company)
        past_due = subscriptions.filtered(lambda sub: sub.status in ("past_due", "unpaid"))
        last = failures[:1]
        return {
            "status": "failing" if failures else ("past_due" if past_due else "ok"),
            "failed_payments": len(failures),
            "last_failure_at": last.create_date,
            "last_failure": last.details or None,
        }
