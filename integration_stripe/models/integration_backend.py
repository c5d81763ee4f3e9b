from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.integration_base.exceptions import BusinessError

from ..client import effective_rate
from ..const import DEFAULT_FETCH_OBJECTS, FETCHABLE_OBJECTS, STRIPE_API_VERSION

#: streams every Stripe backend gets: (code, scheduled, interval in minutes)
STRIPE_STREAMS = (
    ("stripe_events", True, 60),
    ("stripe_payouts", True, 24 * 60),
    ("stripe_backfill", False, 24 * 60),
)


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    connector_type = fields.Selection(selection_add=[("stripe", "Stripe")], ondelete={"stripe": "cascade"})
    # ------------------------------------------------------------------
    # Account
    # ------------------------------------------------------------------
    stripe_livemode = fields.Boolean(
        string="Live mode",
        tracking=True,
        help="Live account (sk_live_ keys). Events of the other mode are refused (HTTP 422) and stored as rejected.",
    )
    stripe_api_version = fields.Char(
        string="Stripe API version",
        default=STRIPE_API_VERSION,
        help="Pinned version of every API call. Create the webhook endpoint with the same version.",
    )
    stripe_fetch_objects = fields.Char(
        string="Fetch fresh from the API",
        default=DEFAULT_FETCH_OBJECTS,
        help="Kinds of Stripe object read again from the API when an event is processed, because Stripe "
        "delivers events late and out of order: " + ", ".join(FETCHABLE_OBJECTS) + ". "
        "The others are taken from the event payload as it is.",
    )
    # ------------------------------------------------------------------
    # Accounting
    # ------------------------------------------------------------------
    stripe_clearing_account_id = fields.Many2one(
        "account.account",
        string="Stripe balance account",
        domain="[('reconcile', '=', True), ('account_type', 'in', ('asset_current', 'asset_cash'))]",
        check_company=True,
        help="Clearing account of the Stripe balance: payments and refunds in the Stripe journal are booked on it, "
        "payouts and fees leave it.",
    )
    stripe_fee_account_id = fields.Many2one(
        "account.account",
        string="Stripe fees account",
        domain="[('account_type', 'in', ('expense', 'expense_direct_cost'))]",
        check_company=True,
    )
    stripe_transfer_account_id = fields.Many2one(
        "account.account",
        string="Payouts in transit",
        check_company=True,
        help="Where a payout goes until the bank statement shows it "
        "(default: the company's liquidity transfer account).",
    )
    stripe_income_product_id = fields.Many2one(
        "product.product",
        string="Default income product",
        check_company=True,
        help="Product of invoice lines whose Stripe product is not (yet) in Odoo: its income account is used.",
    )
    stripe_tax_map_ids = fields.One2many("integration.stripe.tax.map", "backend_id", string="Tax mapping")
    stripe_dunning_user_id = fields.Many2one(
        "res.users",
        string="Dunning follow-up by",
        help="Gets the activity when a customer's payment fails and the customer has no salesperson.",
    )

    @api.constrains("stripe_fetch_objects")
    def _check_stripe_fetch_objects(self):
        for backend in self:
            unknown = set(backend._stripe_fetch_set(strict=False)) - set(FETCHABLE_OBJECTS)
            if unknown:
                raise ValidationError(
                    self.env._(
                        "Unknown Stripe objects to fetch: %(unknown)s. Use some of: %(known)s.",
                        unknown=", ".join(sorted(unknown)),
                        known=", ".join(FETCHABLE_OBJECTS),
                    )
                )

    @api.constrains("api_key", "stripe_livemode", "connector_type")
    def _check_stripe_api_key(self):
        for backend in self.sudo().filtered(lambda b: b.connector_type == "stripe" and b.api_key):
            key = backend.api_key.strip()
            if not key.startswith(("sk_", "rk_")):
                raise ValidationError(self.env._("A Stripe secret key starts with sk_ (or rk_ for a restricted key)."))
            live = key.startswith(("sk_live_", "rk_live_"))
            test = key.startswith(("sk_test_", "rk_test_"))
            if (live and not backend.stripe_livemode) or (test and backend.stripe_livemode):
                raise ValidationError(
                    self.env._(
                        "The API key is a %(key)s key but the backend is in %(mode)s mode.",
                        key=self.env._("live") if live else self.env._("test"),
                        mode=self.env._("live") if backend.stripe_livemode else self.env._("test"),
                    )
                )

    @api.onchange("stripe_livemode", "connector_type")
    def _onchange_stripe_livemode(self):
        if self.connector_type == "stripe":
            self.rate_limit = effective_rate(0, self.stripe_livemode)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("connector_type") == "stripe" and "rate_limit" not in vals:
                vals["rate_limit"] = effective_rate(0, vals.get("stripe_livemode"))
        backends = super().create(vals_list)
        backends.filtered(lambda b: b.connector_type == "stripe")._stripe_ensure_streams()
        return backends

    def write(self, vals):
        result = super().write(vals)
        if vals.get("connector_type") == "stripe":
            self._stripe_ensure_streams()
        return result

    # ------------------------------------------------------------------
    # Helpers of the connector
    # ------------------------------------------------------------------
    def _stripe_fetch_set(self, strict=True):
        self.ensure_one()
        names = {name.strip() for name in (self.stripe_fetch_objects or "").split(",") if name.strip()}
        return names & set(FETCHABLE_OBJECTS) if strict else names

    def _stripe_ensure_streams(self):
        Stream = self.env["integration.stream"].sudo()
        for backend in self:
            existing = set(Stream.search([("backend_id", "=", backend.id)]).mapped("stream"))
            Stream.create(
                [
                    {"backend_id": backend.id, "stream": code, "scheduled": scheduled, "interval_minutes": minutes}
                    for code, scheduled, minutes in STRIPE_STREAMS
                    if code not in existing
                ]
            )

    def _payout_accounts(self):
        if self.connector_type != "stripe":
            return super()._payout_accounts()
        missing = [
            label
            for label, value in (
                (self.env._("Payment journal"), self.payment_journal_id),
                (self.env._("Stripe balance account"), self.stripe_clearing_account_id),
                (self.env._("Stripe fees account"), self.stripe_fee_account_id),
            )
            if not value
        ]
        transfer = self.stripe_transfer_account_id or self.company_id.transfer_account_id
        if not transfer:
            missing.append(self.env._("Payouts in transit"))
        if missing:
            raise BusinessError(
                f"{self.name}: payouts cannot be booked, missing {', '.join(missing)}",
                category="mapping",
                hint="An integration manager completes the Stripe tab of the backend (or clicks 'Prepare accounting'), "
                "then retries.",
            )
        return {
            "journal": self.payment_journal_id,
            "clearing": self.stripe_clearing_account_id,
            "fee": self.stripe_fee_account_id,
            "transfer": transfer,
        }

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_stripe_prepare_accounting(self):
        """Create what is missing: the Stripe journal, the balance and fees accounts.

        The journal's payment methods book on the Stripe balance account, so
        that every Stripe payment and refund waits there for its payout.
        """
        for backend in self:
            if backend.connector_type != "stripe":
                raise UserError(self.env._("%s is not a Stripe backend.", backend.name))
            company = backend.company_id
            Account = self.env["account.account"].with_company(company)
            vals = {}
            clearing = backend.stripe_clearing_account_id
            if not clearing:
                clearing = Account.create(
                    {
                        "name": self.env._("Stripe balance"),
                        "code": Account._search_new_account_code("101900"),
                        "account_type": "asset_current",
                        "reconcile": True,
                    }
                )
                vals["stripe_clearing_account_id"] = clearing.id
            elif not clearing.reconcile:
                clearing.reconcile = True
            if not backend.stripe_fee_account_id:
                vals["stripe_fee_account_id"] = Account.create(
                    {
                        "name": self.env._("Stripe fees"),
                        "code": Account._search_new_account_code("627900"),
                        "account_type": "expense",
                    }
                ).id
            if not backend.stripe_transfer_account_id and company.transfer_account_id:
                vals["stripe_transfer_account_id"] = company.transfer_account_id.id
            journal = backend.payment_journal_id
            if not journal:
                Journal = self.env["account.journal"].with_company(company)
                code = "STRP"
                while Journal.search_count([("code", "=", code), ("company_id", "=", company.id)]):
                    code = f"STR{int(code[3:]) + 1 if code[3:].isdigit() else 2}"
                journal = Journal.create(
                    {"name": self.env._("Stripe"), "code": code, "type": "bank", "company_id": company.id}
                )
                vals["payment_journal_id"] = journal.id
            journal.inbound_payment_method_line_ids.payment_account_id = clearing
            journal.outbound_payment_method_line_ids.payment_account_id = clearing
            if vals:
                backend.write(vals)
            backend.message_post(
                body=self.env._(
                    "Accounting prepared by %(user)s: journal %(journal)s books Stripe payments on %(account)s.",
                    user=self.env.user.name,
                    journal=journal.display_name,
                    account=clearing.display_name,
                )
            )
        return True

    def action_stripe_add_tax_mapping(self):
        """Propose one mapping line per sales tax of the company not mapped yet."""
        for backend in self:
            mapped = backend.stripe_tax_map_ids.tax_id
            taxes = self.env["account.tax"].search(
                [
                    ("company_id", "parent_of", backend.company_id.id),
                    ("type_tax_use", "=", "sale"),
                    ("amount_type", "=", "percent"),
                    ("id", "not in", mapped.ids),
                ]
            )
            backend.stripe_tax_map_ids = [
                Command.create({"percentage": tax.amount, "inclusive": bool(tax.price_include), "tax_id": tax.id})
                for tax in taxes
            ]
        return True
