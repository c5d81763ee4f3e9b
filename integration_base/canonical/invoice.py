"""Canonical invoice <-> customer invoice (``account.move``).

Connector policies asked here: ``_sale_tax`` (the system's own tax mapping)
and ``_default_income_product`` (product of lines whose product Odoo does
not know).
"""

from odoo import Command, fields, models
from odoo.tools import float_compare

from ..exceptions import BusinessError
from ..values import money, to_amount, to_date

#: statuses of an invoice that is posted in Odoo
POSTED_STATUSES = ("open", "paid", "uncollectible")


class IntegrationCanonicalInvoice(models.AbstractModel):
    _name = "integration.canonical.invoice"
    _inherit = ["integration.applier", "integration.exporter"]
    _description = "Canonical invoice (account.move)"

    # ------------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------------
    def _apply_record(self, message, event, move):
        if move:
            return self._update_invoice(message, event, move)
        data = message["data"]
        if data["status"] == "void":
            event._add_note(f"invoice {message['external_id']} voided before Odoo knew it: nothing to cancel.")
            return None
        backend = event.backend_id
        company = backend.company_id
        journal = backend.sale_journal_id or self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
        )
        currency = self._currency(data["currency"])
        self._ensure_price_digits(currency, event)
        move = (
            self.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": self._partner_of(backend, data["customer_ref"]).id,
                    "currency_id": currency.id,
                    "journal_id": journal.id,
                    "invoice_date": to_date(data["date"]),
                    "invoice_date_due": to_date(data.get("due_date")),
                    "ref": data.get("number") or message["external_id"],
                    "invoice_line_ids": self._invoice_line_commands(data, company, backend),
                }
            )
        )
        self._check_invoice_total(move, data)
        if data["status"] in POSTED_STATUSES:
            move.action_post()
        return self._finish(message, event, move, "created")

    def _in_final_state(self, move, binding):
        return move.state == "cancel" or super()._in_final_state(move, binding)

    def _is_final_message(self, message):
        return message["data"].get("status") == "void" or super()._is_final_message(message)

    def _update_invoice(self, message, event, move):
        data = message["data"]
        status = data["status"]
        if status == "void":
            if move.state != "cancel":
                if move.state == "posted":
                    move.button_draft()
                move.button_cancel()
            return self._finish(message, event, move, "updated")
        if move.state == "draft":
            self._ensure_price_digits(move.currency_id, event)
            move.write(
                {
                    "invoice_line_ids": [
                        Command.clear(),
                        *self._invoice_line_commands(data, move.company_id, event.backend_id),
                    ],
                    "invoice_date": to_date(data["date"]),
                    "invoice_date_due": to_date(data.get("due_date")),
                    "ref": data.get("number") or move.ref,
                }
            )
            self._check_invoice_total(move, data)
            if status in POSTED_STATUSES:
                move.action_post()
        elif move.state == "posted":
            self._check_invoice_total(move, data)
        return self._finish(message, event, move, "updated")

    def _ensure_price_digits(self, currency, event):
        """Unit prices keep every decimal of the invoice's currency.

        Odoo rounds unit prices to the *Product Price* precision (2 decimals
        by default): a 3-decimal currency (KWD 12.345) would become 12.35.
        The precision is raised to the currency's decimals, once (noted).
        """
        precision = self.env["decimal.precision"].sudo().search([("name", "=", "Product Price")], limit=1)
        if precision and precision.digits < currency.decimal_places:
            event._add_note(
                f"Product Price precision raised from {precision.digits} to {currency.decimal_places} decimals "
                f"for {currency.name} prices."
            )
            precision.digits = currency.decimal_places

    def _invoice_line_commands(self, data, company, backend):
        commands = []
        for line in data["lines"]:
            quantity = line["quantity"] or 1
            unit = to_amount(line["unit_amount"])
            amount = to_amount(line["amount"])
            gross = unit * quantity
            discount = 0.0
            if line.get("discount_amount") and gross:
                discount = 100.0 * to_amount(line["discount_amount"]) / gross
            elif gross and float_compare(gross, amount, precision_digits=6) and not line.get("discount_amount"):
                unit = amount / quantity
            vals = {
                "name": line["description"] or "/",
                "quantity": quantity,
                "price_unit": unit,
                "discount": discount,
                "tax_ids": [Command.set([self._sale_tax(company, tax, backend).id for tax in line.get("taxes") or []])],
            }
            product = self._line_product(backend, line)
            if product:
                vals["product_id"] = product.id
            commands.append(Command.create(vals))
        return commands

    def _sale_tax(self, company, tax, backend):
        """The Odoo sales tax of a canonical line tax: the connector's mapping, else the same rate.

        :param tax: dict with ``percentage``, ``inclusive`` and optional ``ref``
        :raise BusinessError: (mapping) when no tax matches
        """
        mapped = backend._connector()._sale_tax(backend, tax)
        if mapped:
            return mapped
        taxes = self.env["account.tax"].search(
            [
                ("company_id", "parent_of", company.id),
                ("type_tax_use", "=", "sale"),
                ("amount_type", "=", "percent"),
                ("amount", "=", tax["percentage"]),
            ]
        )
        taxes = taxes.filtered(lambda t: bool(t.price_include) == bool(tax.get("inclusive")))
        if not taxes:
            raise BusinessError(
                self.env._("no tax-included sales tax of %s%% in Odoo", tax["percentage"])
                if tax.get("inclusive")
                else self.env._("no sales tax of %s%% in Odoo", tax["percentage"]),
                category="mapping",
                hint=self.env._(
                    "Create (or activate) the sales tax in Accounting > Configuration > Taxes, then retry."
                ),
            )
        return taxes[:1]

    def _line_product(self, backend, line):
        """The product bound to the line's ``product_ref``, else the connector's default (may be empty)."""
        if line.get("product_ref"):
            product = self.env["integration.binding"]._find_record(backend, "product", line["product_ref"])
            if product:
                return product
        return backend._connector()._default_income_product(backend, line)

    def _check_invoice_total(self, move, data):
        expected = to_amount(data["total"])
        if move.currency_id.compare_amounts(move.amount_total, expected):
            raise BusinessError(
                self.env._(
                    "invoice total differs: %(theirs)s at the source, %(odoo)s in Odoo",
                    theirs=move.currency_id.format(expected),
                    odoo=move.currency_id.format(move.amount_total),
                ),
                category="amount_mismatch",
                records=move if move.id else None,
            )

    # ------------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------------
    def _export_data(self, move, event):
        status = {"draft": "draft", "cancel": "void"}.get(move.state) or (
            "paid" if move.payment_state in ("paid", "in_payment") else "open"
        )
        return {
            "customer_ref": self._ref(event, "customer", move.partner_id),
            "number": move.name,
            "status": status,
            "currency": move.currency_id.name,
            "date": fields.Date.to_string(move.invoice_date or move.date),
            "due_date": fields.Date.to_string(move.invoice_date_due) if move.invoice_date_due else None,
            "lines": [self._export_line(line) for line in move.invoice_line_ids if line.display_type == "product"],
            "subtotal": money(move.amount_untaxed),
            "tax": money(move.amount_tax),
            "total": money(move.amount_total),
            "amount_due": money(move.amount_residual),
            "amount_paid": money(move.amount_total - move.amount_residual),
            "metadata": {"odoo_model": move._name, "odoo_id": move.id},
        }

    def _export_line(self, line):
        return {
            "description": line.name or "/",
            "quantity": line.quantity,
            "unit_amount": money(line.price_unit),
            "amount": money(line.price_subtotal),
            "taxes": [
                {"name": tax.name, "percentage": tax.amount, "inclusive": bool(tax.price_include)}
                for tax in line.tax_ids
                if tax.amount_type == "percent"
            ],
        }
