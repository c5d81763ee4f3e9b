from odoo import api, fields, models

#: subscription status -> entitlement (what the customer may use); an
#: incomplete subscription was never paid (its first payment failed or waits
#: for the customer): nothing to use yet, no grace period
ENTITLEMENT = {
    "trialing": "active",
    "active": "active",
    "past_due": "grace",
    "incomplete": "suspended",
    "unpaid": "suspended",
    "paused": "suspended",
    "canceled": "ended",
    "incomplete_expired": "ended",
}
#: best entitlement first: a customer's overall entitlement is the best of its subscriptions'
ENTITLEMENT_ORDER = ("active", "grace", "suspended", "ended")


class IntegrationSubscription(models.Model):
    """A customer's subscription to a plan, with its entitlement.

    Odoo Community has no subscriptions: this canonical record holds what the
    billing platform says, for finance, support and outbound pushes.
    """

    _name = "integration.subscription"
    _description = "Subscription"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"

    name = fields.Char(required=True, tracking=True)
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True, tracking=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    backend_id = fields.Many2one("integration.backend", string="Source", index=True, ondelete="set null")
    plan_code = fields.Char(required=True, tracking=True)
    plan_name = fields.Char(tracking=True)
    amount = fields.Monetary(string="Unit price", currency_field="currency_id")
    currency_id = fields.Many2one("res.currency")
    interval = fields.Selection([("day", "Day"), ("week", "Week"), ("month", "Month"), ("year", "Year")])
    interval_count = fields.Integer(default=1)
    quantity = fields.Integer(default=1, tracking=True)
    recurring_total = fields.Monetary(compute="_compute_recurring_total", store=True, currency_field="currency_id")
    status = fields.Selection(
        [
            ("trialing", "Trial"),
            ("active", "Active"),
            ("past_due", "Past due"),
            ("unpaid", "Unpaid"),
            ("paused", "Paused"),
            ("canceled", "Canceled"),
            ("incomplete", "Incomplete"),
            ("incomplete_expired", "Expired"),
        ],
        required=True,
        default="active",
        tracking=True,
        index=True,
    )
    entitlement_state = fields.Selection(
        [("active", "Active"), ("grace", "Grace period"), ("suspended", "Suspended"), ("ended", "Ended")],
        compute="_compute_entitlement_state",
        store=True,
        tracking=True,
        help="What the customer may use: active, grace (payment late), suspended, ended.",
    )
    current_period_start = fields.Datetime()
    current_period_end = fields.Datetime()
    trial_end = fields.Datetime()
    cancel_at_period_end = fields.Boolean(tracking=True)
    canceled_at = fields.Datetime()

    @api.depends("amount", "quantity")
    def _compute_recurring_total(self):
        for sub in self:
            sub.recurring_total = sub.amount * sub.quantity

    @api.depends("status")
    def _compute_entitlement_state(self):
        for sub in self:
            sub.entitlement_state = ENTITLEMENT.get(sub.status, "ended")

    def _best_entitlement(self):
        """The best entitlement of these subscriptions (``none`` without any): what the customer may use."""
        states = [state for state in self.mapped("entitlement_state") if state]
        return min(states, key=ENTITLEMENT_ORDER.index) if states else "none"

    @api.model_create_multi
    def create(self, vals_list):
        subscriptions = super().create(vals_list)
        # a new subscription is news to the systems that follow billing (a CRM's billing status)
        self.env["integration.event"]._emit_outbound("subscription", subscriptions, action="created")
        return subscriptions

    def write(self, vals):
        changed = self.browse()
        if "status" in vals or "plan_code" in vals or "quantity" in vals:
            changed = self.filtered(
                lambda s: (
                    s.status != vals.get("status", s.status)
                    or s.plan_code != vals.get("plan_code", s.plan_code)
                    or s.quantity != vals.get("quantity", s.quantity)
                )
            )
        result = super().write(vals)
        if changed:
            self.env["integration.event"]._emit_outbound("subscription", changed, action="updated")
        return result
