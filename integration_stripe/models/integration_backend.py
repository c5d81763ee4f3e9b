from odoo import Command, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.integration_base.access import check_rights
from odoo.addons.integration_base.exceptions import BusinessError

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

    @api.constrains("stripe_livemode")
    def _check_stripe_livemode(self):
        self._check_connector_settings()

    @api.onchange("stripe_livemode")
    def _onchange_stripe_livemode(self):
        self._onchange_connector_type()

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

    def _stripe_payout_accounts(self):
        """The Stripe tab's accounts (the connector's ``_payout_accounts``)."""
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
                self.env._(
                    "%(backend)s: payouts cannot be booked, missing %(missing)s",
                    backend=self.name,
                    missing=", ".join(missing),
                ),
                category="mapping",
                hint=self.env._(
                    "An integration manager completes the Stripe tab of the backend (or clicks 'Prepare accounting'), "
                    "then retries."
                ),
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
    def _stripe_prepare_accounting(self):
        """Create what is missing: the Stripe journal, the balance and fees accounts,
        the default income product (the connector's ``_prepare_accounting``).

        The journal's payment methods book on the Stripe balance account, so
        that every Stripe payment and refund waits there for its payout.
        """
        self.ensure_one()
        vals = {}
        clearing = self._stripe_ensure_accounts(vals)
        journal = self.payment_journal_id
        if not journal:
            journal = self._stripe_create_journal()
            vals["payment_journal_id"] = journal.id
        journal.inbound_payment_method_line_ids.payment_account_id = clearing
        journal.outbound_payment_method_line_ids.payment_account_id = clearing
        product = self.stripe_income_product_id or self._stripe_income_product()
        vals["stripe_income_product_id"] = product.id
        self.write(vals)
        self.message_post(
            body=self.env._(
                "Accounting prepared by %(user)s: journal %(journal)s books Stripe payments on %(account)s; "
                "lines of products Odoo does not know are booked with %(product)s.",
                user=self.env.user.name,
                journal=journal.display_name,
                account=clearing.display_name,
                product=product.display_name,
            )
        )

    def _stripe_income_product(self):
        """The default income product: the company's existing one (by its internal reference), else a new
        service sold in the company, booked on the company's default income account (else the sales
        journal's)."""
        company = self.company_id
        Product = self.env["product.product"].with_company(company).with_context(active_test=False)
        product = Product.search(
            [("default_code", "=", "STRIPE-INCOME"), ("company_id", "in", (False, company.id))], limit=1
        )
        if product:
            product.active = True
            return product
        journal = self.sale_journal_id or self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
        )
        income = company.income_account_id or journal.default_account_id
        return Product.create(
            {
                "name": self.env._("Subscriptions and services (Stripe)"),
                "default_code": "STRIPE-INCOME",
                "type": "service",
                "sale_ok": True,
                "purchase_ok": False,
                "company_id": company.id,
                "taxes_id": [Command.clear()],
                "property_account_income_id": income.id,
            }
        )

    def _stripe_ensure_accounts(self, vals):
        """The Stripe balance account (reconcilable), made if missing with the fees account.

        :param vals: backend values to write, completed in place
        """
        company = self.company_id
        Account = self.env["account.account"].with_company(company)
        clearing = self.stripe_clearing_account_id
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
        if not self.stripe_fee_account_id:
            vals["stripe_fee_account_id"] = Account.create(
                {
                    "name": self.env._("Stripe fees"),
                    "code": Account._search_new_account_code("627900"),
                    "account_type": "expense",
                }
            ).id
        if not self.stripe_transfer_account_id and company.transfer_account_id:
            vals["stripe_transfer_account_id"] = company.transfer_account_id.id
        return clearing

    def _stripe_create_journal(self):
        company = self.company_id
        Journal = self.env["account.journal"].with_company(company)
        code = "STRP"
        while Journal.search_count([("code", "=", code), ("company_id", "=", company.id)]):
            code = f"STR{int(code[3:]) + 1 if code[3:].isdigit() else 2}"
        return Journal.create({"name": self.env._("Stripe"), "code": code, "type": "bank", "company_id": company.id})

    def action_stripe_add_tax_mapping(self):
        """Propose one mapping line per sales tax of the company not mapped yet."""
        check_rights(self, "write")
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
