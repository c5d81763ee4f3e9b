"""Appliers: canonical messages -> Odoo records, exactly once.

One method per canonical type, ``_apply_<type>(message, event)``. Each
serializes on the external object (advisory lock), resolves it through its
binding, skips stale messages, obeys ownership rules on updates, then writes
and binds. Connectors never write Odoo records themselves: they produce
canonical messages and this model applies them. Extend it with ``_inherit``
to change how a type is applied.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from odoo import Command, api, models
from odoo.tools import float_compare

from ..exceptions import AmbiguousMatch, BusinessError, MissingReference, PermanentError


def _dt(value):
    if not value:
        return False
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _date(value):
    return date.fromisoformat(value) if value else False


def _amount(value):
    return float(Decimal(value)) if value not in (None, "") else 0.0


class IntegrationApplier(models.AbstractModel):
    _name = "integration.applier"
    _description = "Integration Applier (canonical messages to Odoo records)"

    @api.model
    def _apply(self, message, event):
        """Apply one validated canonical message on behalf of ``event``."""
        applier = self.with_context(
            tracking_disable=False,  # the event's own routine writes are untracked, Odoo records are not
            integration_origin_backend_id=event.backend_id.id,
            integration_correlation_id=event.correlation_id,
        ).sudo()
        handler = getattr(applier, f"_apply_{message['type']}", None)
        if handler is None:
            raise PermanentError(f"no applier for canonical type {message['type']}")
        return handler(message, event)

    @api.model
    def _run_followup(self, event, method, *args):
        """Job: a chained step (``_followup_<method>``) with the event's error handling."""
        self, event = self.sudo(), event.sudo().with_context(tracking_disable=True)

        def retry(eta):
            job = self.with_delay(channel=event.backend_id.job_channel, eta=eta)._run_followup(event, method, *args)
            event._link_job(job)

        return event._run_attempt(lambda: getattr(self.sudo(), f"_followup_{method}")(event, *args), retry)

    # ------------------------------------------------------------------
    # Shared steps
    # ------------------------------------------------------------------
    def _begin(self, message, event):
        """Lock the external object and return ``(binding, record)``, or None when stale."""
        Binding = self.env["integration.binding"]
        backend = event.backend_id
        Binding._lock(backend, message["type"], message["external_id"])
        binding = Binding._find(backend, message["type"], message["external_id"])
        if binding and binding._is_stale(message):
            event._add_note(
                f"{message['type']} {message['external_id']}: stale message ({message.get('occurred_at')}) "
                f"older than the applied state ({binding.source_ts}); not applied."
            )
            record = binding._record()
            if record:
                event._touch(record, "skipped")
            return None
        return binding, (binding._record() if binding else None)

    def _owned_filter(self, message, event, record):
        """Drop the fields the sending backend does not own (updates only)."""
        data = message["data"]
        allowed, refused, raising = self.env["integration.ownership.rule"]._filter_update(
            message["type"], event.backend_id, data
        )
        if refused:
            text = (
                f"{message['type']} {message['external_id']}: fields {', '.join(sorted(refused))} "
                f"are owned by another system; not applied."
            )
            event._add_note(text)
            if raising:
                self.env["integration.exception"]._open(event, "ownership_conflict", text, records=record)
        return allowed

    def _partner_of(self, backend, customer_ref):
        partner = self.env["integration.binding"]._find_record(backend, "customer", customer_ref)
        if not partner:
            raise MissingReference(
                f"customer {customer_ref} is not known in Odoo yet", canonical_type="customer", external_id=customer_ref
            )
        return partner

    def _currency(self, code):
        currency = (
            self.env["res.currency"].with_context(active_test=False).search([("name", "=", code.upper())], limit=1)
        )
        if not currency or not currency.active:
            raise BusinessError(
                f"currency {code} is {'not active' if currency else 'unknown'} in Odoo",
                category="currency",
                records=currency or None,
            )
        return currency

    def _archive_deleted(self, message, event, record):
        """A delete message archives the bound record (and keeps its binding as a tombstone)."""
        if not record:
            event._add_note(f"{message['type']} {message['external_id']} deleted before Odoo knew it.")
            return None
        record.active = False
        return self._finish(message, event, record, "deleted")

    def _finish(self, message, event, record, action):
        self.env["integration.binding"]._bind(
            event.backend_id, message["type"], message["external_id"], record, message, event
        )
        event._touch(record, action)
        return record

    # ------------------------------------------------------------------
    # customer -> res.partner
    # ------------------------------------------------------------------
    def _customer_vals(self, data):
        vals = {}
        simple = {
            "name": "name",
            "email": "email",
            "phone": "phone",
            "vat": "vat",
            "company_registry": "company_registry",
        }
        for key, field in simple.items():
            if key in data:
                vals[field] = data[key] or False
        if "is_company" in data:
            vals["is_company"] = data["is_company"]
        if "address" in data:
            address = data["address"] or {}
            country = (
                self.env["res.country"].search([("code", "=", address["country"])], limit=1)
                if address.get("country")
                else self.env["res.country"]
            )
            state = self.env["res.country.state"]
            if country and address.get("state"):
                state = self.env["res.country.state"].search(
                    [
                        ("country_id", "=", country.id),
                        "|",
                        ("code", "=", address["state"]),
                        ("name", "=ilike", address["state"]),
                    ],
                    limit=1,
                )
            vals.update(
                street=address.get("line1") or False,
                street2=address.get("line2") or False,
                city=address.get("city") or False,
                zip=address.get("zip") or False,
                country_id=country.id,
                state_id=state.id,
            )
        if data.get("lang"):
            lang = self.env["res.lang"]._get_data(code=data["lang"].replace("-", "_"))
            if lang and lang.active:
                vals["lang"] = lang.code
        return vals

    def _match_partner(self, backend, external_id, data):
        """Find the partner of a new external customer by the configured keys.

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
        candidates = candidates.filtered(lambda p: not p.parent_id or p.is_company)
        if len(candidates) > 1:
            raise AmbiguousMatch(
                f"{len(candidates)} contacts match customer {external_id} ({data.get('email') or data.get('vat')})",
                candidates=candidates,
                canonical_type="customer",
                external_id=external_id,
                records=candidates,
            )
        return candidates

    def _apply_customer(self, message, event):
        begun = self._begin(message, event)
        if begun is None:
            return None
        binding, partner = begun
        backend = event.backend_id
        if message.get("action") == "delete":
            return self._archive_deleted(message, event, partner)
        if partner:
            data = self._owned_filter(message, event, partner)
            vals = self._customer_vals(data)
            changed = {
                key: value
                for key, value in vals.items()
                if partner._fields[key].convert_to_write(partner[key], partner) != value
            }
            if changed:
                partner.write(changed)
            return self._finish(message, event, partner, "updated")
        partner = self._match_partner(backend, message["external_id"], message["data"])
        if partner:
            data = self._owned_filter(message, event, partner)
            partner.write(self._customer_vals(data))
            return self._finish(message, event, partner, "linked")
        vals = self._customer_vals(message["data"])
        vals.setdefault("company_id", False)
        partner = self.env["res.partner"].create(vals)
        return self._finish(message, event, partner, "created")

    # ------------------------------------------------------------------
    # subscription -> integration.subscription
    # ------------------------------------------------------------------
    def _apply_subscription(self, message, event):
        begun = self._begin(message, event)
        if begun is None:
            return None
        binding, subscription = begun
        data = message["data"]
        backend = event.backend_id
        partner = self._partner_of(backend, data["customer_ref"])
        plan = data["plan"]
        vals = {
            "partner_id": partner.id,
            "plan_code": plan["code"],
            "plan_name": plan.get("name") or plan["code"],
            "amount": _amount(plan.get("amount")),
            "currency_id": self._currency(plan["currency"]).id if plan.get("currency") else False,
            "interval": plan.get("interval") or False,
            "interval_count": plan.get("interval_count") or 1,
            "quantity": data["quantity"],
            "status": data["status"],
            "current_period_start": _dt(data.get("current_period_start")),
            "current_period_end": _dt(data.get("current_period_end")),
            "trial_end": _dt(data.get("trial_end")),
            "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
            "canceled_at": _dt(data.get("canceled_at")),
        }
        if message.get("action") == "delete":
            vals["status"] = "canceled"
        if subscription:
            allowed = self._owned_filter(message, event, subscription)
            if "plan" not in allowed:
                for key in ("plan_code", "plan_name", "amount", "currency_id", "interval", "interval_count"):
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

    # ------------------------------------------------------------------
    # support_ticket -> integration.support.ticket
    # ------------------------------------------------------------------
    def _apply_support_ticket(self, message, event):
        begun = self._begin(message, event)
        if begun is None:
            return None
        binding, ticket = begun
        data = message["data"]
        backend = event.backend_id
        partner = self.env["res.partner"]
        if data.get("customer_ref"):
            partner = self.env["integration.binding"]._find_record(backend, "customer", data["customer_ref"]) or partner
        if not partner and data.get("requester_email"):
            partner = self.env["res.partner"].search([("email", "=ilike", data["requester_email"])], limit=2)
            partner = partner if len(partner) == 1 else self.env["res.partner"]
        vals = {
            "name": data["subject"],
            "description": data.get("description") or False,
            "status": data["status"],
            "priority": data.get("priority") or "normal",
            "tags": ", ".join(data.get("tags") or []) or False,
            "requester_email": data.get("requester_email") or False,
            "requester_name": data.get("requester_name") or False,
            "opened_at": _dt(data.get("created_at")),
            "updated_at": _dt(data.get("updated_at")),
            "partner_id": partner.id,
        }
        if ticket:
            ticket.write(vals)
            return self._finish(message, event, ticket, "updated")
        vals.update(backend_id=backend.id, company_id=backend.company_id.id)
        ticket = self.env["integration.support.ticket"].create(vals)
        return self._finish(message, event, ticket, "created")

    # ------------------------------------------------------------------
    # invoice -> account.move (customer invoice)
    # ------------------------------------------------------------------
    def _sale_tax(self, company, tax, backend=None):
        """The Odoo sales tax of a canonical line tax (hook: connectors map their tax rates first).

        :param tax: dict with ``percentage``, ``inclusive`` and optional ``ref``
        :raise BusinessError: (mapping) when no tax matches
        """
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
                f"no {'tax-included ' if tax.get('inclusive') else ''}sales tax of {tax['percentage']}% in Odoo",
                category="mapping",
                hint="Create (or activate) the sales tax in Accounting > Configuration > Taxes, then retry.",
            )
        return taxes[:1]

    def _invoice_line_product(self, backend, line):
        """The product of a canonical invoice line: the one bound to its ``product_ref``.

        Hook: a connector may fall back on a default product.
        :return: a ``product.product`` (possibly empty)
        """
        if backend and line.get("product_ref"):
            product = self.env["integration.binding"]._find_record(backend, "product", line["product_ref"])
            if product:
                return product
        return self.env["product.product"]

    def _invoice_line_commands(self, data, company, backend=None):
        commands = []
        for line in data["lines"]:
            quantity = line["quantity"] or 1
            unit = _amount(line["unit_amount"])
            amount = _amount(line["amount"])
            gross = unit * quantity
            discount = 0.0
            if line.get("discount_amount") and gross:
                discount = 100.0 * _amount(line["discount_amount"]) / gross
            elif gross and float_compare(gross, amount, precision_digits=6) and not line.get("discount_amount"):
                unit = amount / quantity
            vals = {
                "name": line["description"] or "/",
                "quantity": quantity,
                "price_unit": unit,
                "discount": discount,
                "tax_ids": [Command.set([self._sale_tax(company, tax, backend).id for tax in line.get("taxes") or []])],
            }
            product = self._invoice_line_product(backend, line)
            if product:
                vals["product_id"] = product.id
            commands.append(Command.create(vals))
        return commands

    def _check_invoice_total(self, move, data):
        expected = _amount(data["total"])
        if move.currency_id.compare_amounts(move.amount_total, expected):
            raise BusinessError(
                f"invoice total differs: {expected} {move.currency_id.name} at the source, {move.amount_total} in Odoo",
                category="amount_mismatch",
                records=move if move.id else None,
            )

    def _apply_invoice(self, message, event):
        begun = self._begin(message, event)
        if begun is None:
            return None
        binding, move = begun
        data = message["data"]
        backend = event.backend_id
        status = data["status"]
        if move:
            return self._update_invoice(message, event, move)
        if status == "void":
            event._add_note(f"invoice {message['external_id']} voided before Odoo knew it: nothing to cancel.")
            return None
        partner = self._partner_of(backend, data["customer_ref"])
        currency = self._currency(data["currency"])
        company = backend.company_id
        journal = backend.sale_journal_id or self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
        )
        move = (
            self.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "currency_id": currency.id,
                    "journal_id": journal.id,
                    "invoice_date": _date(data["date"]),
                    "invoice_date_due": _date(data.get("due_date")),
                    "ref": data.get("number") or message["external_id"],
                    "invoice_line_ids": self._invoice_line_commands(data, company, backend),
                }
            )
        )
        self._check_invoice_total(move, data)
        if status in ("open", "paid", "uncollectible"):
            move.action_post()
        return self._finish(message, event, move, "created")

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
            move.write(
                {
                    "invoice_line_ids": [
                        Command.clear(),
                        *self._invoice_line_commands(data, move.company_id, event.backend_id),
                    ],
                    "invoice_date": _date(data["date"]),
                    "invoice_date_due": _date(data.get("due_date")),
                    "ref": data.get("number") or move.ref,
                }
            )
            self._check_invoice_total(move, data)
            if status in ("open", "paid", "uncollectible"):
                move.action_post()
        elif move.state == "posted":
            self._check_invoice_total(move, data)
        return self._finish(message, event, move, "updated")

    # ------------------------------------------------------------------
    # payment -> account.payment (reconciled with its invoice)
    # ------------------------------------------------------------------
    def _payment_journal(self, backend):
        journal = backend.payment_journal_id or self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", backend.company_id.id)], limit=1
        )
        if not journal:
            raise BusinessError("no bank journal to register payments in", category="mapping")
        return journal

    def _apply_payment(self, message, event):
        begun = self._begin(message, event)
        if begun is None:
            return None
        binding, payment = begun
        data = message["data"]
        backend = event.backend_id
        if payment:
            event._add_note(f"payment {message['external_id']} already registered: {payment.display_name}.")
            return self._finish(message, event, payment, "skipped")
        partner = self._partner_of(backend, data["customer_ref"])
        if data["status"] != "succeeded":
            if data["status"] == "failed":
                self.env["integration.exception"]._open(
                    event,
                    "payment_failed",
                    f"payment of {data['amount']} {data['currency']} by {partner.display_name} failed: "
                    f"{data.get('failure_reason') or 'no reason given'}",
                    severity="medium",
                    records=partner,
                )
            event._add_note(f"payment {message['external_id']} is {data['status']}: nothing to book.")
            return None
        currency = self._currency(data["currency"])
        amount = _amount(data["amount"])
        journal = self._payment_journal(backend)
        invoice = self.env["account.move"]
        if data.get("invoice_ref"):
            invoice = self.env["integration.binding"]._find_record(backend, "invoice", data["invoice_ref"])
            if not invoice:
                raise MissingReference(
                    f"payment {message['external_id']} is for invoice {data['invoice_ref']}, which is not in Odoo",
                    canonical_type="invoice",
                    external_id=data["invoice_ref"],
                )
        if invoice:
            if invoice.state == "draft":
                invoice.action_post()
            if invoice.currency_id != currency:
                raise BusinessError(
                    f"payment in {currency.name} for an invoice in {invoice.currency_id.name}",
                    category="currency",
                    records=invoice,
                )
            if currency.compare_amounts(amount, invoice.amount_residual) > 0:
                raise BusinessError(
                    f"payment of {amount} {currency.name} exceeds the {invoice.amount_residual} "
                    f"still due on {invoice.name}",
                    category="amount_mismatch",
                    records=invoice,
                )
            wizard = (
                self.env["account.payment.register"]
                .with_context(active_model="account.move", active_ids=invoice.ids)
                .create(
                    {
                        "amount": amount,
                        "currency_id": currency.id,
                        "journal_id": journal.id,
                        "payment_date": _date(data["date"]),
                        "payment_difference_handling": "open",
                        "communication": f"{invoice.name} {message['external_id']}",
                    }
                )
            )
            payment = wizard._create_payments()
        else:
            payment = self.env["account.payment"].create(
                {
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": partner.id,
                    "amount": amount,
                    "currency_id": currency.id,
                    "journal_id": journal.id,
                    "date": _date(data["date"]),
                    "memo": message["external_id"],
                }
            )
            payment.action_post()
        return self._finish(message, event, payment, "created")

    # ------------------------------------------------------------------
    # refund -> credit note + refund payment
    # ------------------------------------------------------------------
    def _apply_refund(self, message, event):
        begun = self._begin(message, event)
        if begun is None:
            return None
        binding, credit_note = begun
        data = message["data"]
        backend = event.backend_id
        if credit_note:
            event._add_note(f"refund {message['external_id']} already booked: {credit_note.display_name}.")
            return self._finish(message, event, credit_note, "skipped")
        if data["status"] != "succeeded":
            event._add_note(f"refund {message['external_id']} is {data['status']}: nothing to book.")
            return None
        Binding = self.env["integration.binding"]
        payment = Binding._find_record(backend, "payment", data["payment_ref"])
        if not payment:
            raise MissingReference(
                f"refund {message['external_id']} is for payment {data['payment_ref']}, which is not in Odoo",
                canonical_type="payment",
                external_id=data["payment_ref"],
            )
        currency = self._currency(data["currency"])
        amount = _amount(data["amount"])
        invoice = Binding._find_record(backend, "invoice", data["invoice_ref"]) if data.get("invoice_ref") else None
        invoice = invoice or payment.reconciled_invoice_ids[:1]
        refunded = (
            sum(
                self.env["account.move"]
                .search([("reversed_entry_id", "=", invoice.id), ("state", "=", "posted")])
                .mapped("amount_total")
            )
            if invoice
            else 0.0
        )
        if currency.compare_amounts(amount + refunded, payment.amount) > 0:
            raise BusinessError(
                f"refund of {amount} {currency.name} exceeds what remains of payment {payment.name} "
                f"({payment.amount - refunded:.2f})",
                category="refund_exceeds",
                records=payment,
            )
        journal = self._payment_journal(backend)
        if invoice:
            ratio = amount / invoice.amount_total if invoice.amount_total else 1.0
            credit_note = self.env["account.move"].create(
                {
                    "move_type": "out_refund",
                    "partner_id": invoice.partner_id.id,
                    "currency_id": currency.id,
                    "journal_id": invoice.journal_id.id,
                    "invoice_date": _date(data["date"]),
                    "reversed_entry_id": invoice.id,
                    "ref": f"Refund {message['external_id']}" + (f": {data['reason']}" if data.get("reason") else ""),
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": line.name,
                                "quantity": line.quantity,
                                "price_unit": line.price_unit * ratio,
                                "discount": line.discount,
                                "tax_ids": [Command.set(line.tax_ids.ids)],
                            }
                        )
                        for line in invoice.invoice_line_ids.filtered(lambda ln: ln.display_type == "product")
                    ],
                }
            )
            difference = currency.round(amount - credit_note.amount_total)
            if difference:
                # Proportional lines with taxes cannot always hit the refunded
                # amount to the cent: book the rounding difference, untaxed.
                credit_note.write(
                    {
                        "invoice_line_ids": [
                            Command.create({"name": "Rounding difference", "quantity": 1, "price_unit": difference})
                        ]
                    }
                )
            credit_note.action_post()
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=credit_note.ids
            ).create(
                {
                    "amount": amount,
                    "journal_id": journal.id,
                    "payment_date": _date(data["date"]),
                    "payment_difference_handling": "open",
                }
            )._create_payments()
            return self._finish(message, event, credit_note, "created")
        refund_payment = self.env["account.payment"].create(
            {
                "payment_type": "outbound",
                "partner_type": "customer",
                "partner_id": payment.partner_id.id,
                "amount": amount,
                "currency_id": currency.id,
                "journal_id": journal.id,
                "date": _date(data["date"]),
                "memo": f"Refund {message['external_id']}",
            }
        )
        refund_payment.action_post()
        return self._finish(message, event, refund_payment, "created")

    # ------------------------------------------------------------------
    # product -> product.product (a service sold by the source)
    # ------------------------------------------------------------------
    def _product_vals(self, data, company):
        vals = {}
        if "name" in data:
            vals["name"] = data["name"]
        if "description" in data:
            vals["description_sale"] = data["description"] or False
        if "active" in data:
            vals["active"] = bool(data["active"])
        if data.get("sku"):
            vals["default_code"] = data["sku"]
        # a list price only makes sense in the company's currency
        if data.get("list_price") not in (None, "") and data.get("currency") == company.currency_id.name:
            vals["list_price"] = _amount(data["list_price"])
        return vals

    def _apply_product(self, message, event):
        begun = self._begin(message, event)
        if begun is None:
            return None
        binding, product = begun
        backend = event.backend_id
        company = backend.company_id
        if message.get("action") == "delete":
            return self._archive_deleted(message, event, product)
        data = message["data"]
        if product:
            vals = self._product_vals(self._owned_filter(message, event, product), company)
            changed = {
                key: value
                for key, value in vals.items()
                if product._fields[key].convert_to_write(product[key], product) != value
            }
            if changed:
                product.write(changed)
            return self._finish(message, event, product, "updated")
        vals = self._product_vals(data, company)
        Product = self.env["product.product"].with_context(active_test=False)
        if data.get("sku"):
            product = Product.search(
                [("default_code", "=", data["sku"]), ("company_id", "in", (False, company.id))], limit=2
            )
            if len(product) > 1:
                raise BusinessError(
                    f"{len(product)} products have the internal reference {data['sku']}",
                    category="mapping",
                    hint="Give each product its own internal reference, then retry.",
                    records=product,
                )
            if product:
                product.write(vals)
                return self._finish(message, event, product, "linked")
        vals.update(type="service", sale_ok=True, purchase_ok=False)
        product = Product.create(vals)
        return self._finish(message, event, product, "created")

    # ------------------------------------------------------------------
    # payout -> fees and bank transfer booked on the clearing account,
    # reconciled with the payments and refunds it settles
    # ------------------------------------------------------------------
    def _payout_settled_lines(self, backend, txn, clearing):
        """Unreconciled clearing-account items of the Odoo record a payout transaction settles.

        :return: ``(lines, problem)``; ``lines`` is None for transactions
            without an Odoo counterpart (fees, adjustments)
        """
        Binding = self.env["integration.binding"]
        if txn["type"] == "payment":
            payments = (
                Binding._find_record(backend, "payment", txn.get("payment_ref")) if txn.get("payment_ref") else None
            )
            if not payments:
                return None, f"{txn['ref']}: payment {txn.get('payment_ref') or '?'} of {txn['amount']} is not in Odoo"
        elif txn["type"] == "refund":
            record = Binding._find_record(backend, "refund", txn.get("refund_ref")) if txn.get("refund_ref") else None
            if not record:
                return None, f"{txn['ref']}: refund {txn.get('refund_ref') or '?'} of {txn['amount']} is not in Odoo"
            payments = (
                record
                if record._name == "account.payment"
                else record.matched_payment_ids | record._get_reconciled_payments()
            )
        else:
            return None, None
        lines = payments.move_id.line_ids.filtered(lambda ln: ln.account_id == clearing and not ln.reconciled)
        if not lines:
            return None, (
                f"{txn['ref']}: {', '.join(payments.mapped('display_name'))} is not open on the clearing account "
                f"{clearing.display_name} (booked elsewhere or already settled by another payout)"
            )
        return lines, None

    def _apply_payout(self, message, event):
        begun = self._begin(message, event)
        if begun is None:
            return None
        binding, entry = begun
        if entry:
            event._add_note(f"payout {message['external_id']} already booked: {entry.display_name}.")
            return self._finish(message, event, entry, "skipped")
        data = message["data"]
        if data["status"] != "paid":
            event._add_note(f"payout {message['external_id']} is {data['status']}: nothing to book yet.")
            return None
        backend = event.backend_id
        accounts = backend._payout_accounts()
        clearing = accounts["clearing"]
        currency = self._currency(data["currency"])
        company = backend.company_id
        payout_amount = _amount(data["amount"])
        fees = 0.0
        expected = 0.0
        settled = self.env["account.move.line"]
        problems = []
        for txn in data["transactions"]:
            amount, fee = _amount(txn["amount"]), _amount(txn.get("fee"))
            expected += amount - fee
            fees += fee + (-amount if txn["type"] == "fee" else 0.0)
            lines, problem = self._payout_settled_lines(backend, txn, clearing)
            if lines is not None:
                booked = sum(lines.mapped("amount_currency")) if lines.currency_id == currency else None
                if booked is None or currency.compare_amounts(booked, amount):
                    problem = (
                        f"{txn['ref']}: {amount:.{currency.decimal_places}f} {currency.name} at the source, "
                        f"{booked if booked is not None else 'another currency'} in Odoo"
                    )
                else:
                    settled |= lines
            elif txn["type"] in ("adjustment", "other"):
                problem = (
                    f"{txn['ref']}: {txn.get('description') or txn['type']} of {txn['amount']} has no Odoo counterpart"
                )
            if problem:
                problems.append(problem)
        if currency.compare_amounts(expected, payout_amount):
            problems.append(
                f"the transactions sum to {expected:.{currency.decimal_places}f} {currency.name}, "
                f"the payout is {payout_amount:.{currency.decimal_places}f}"
            )
        date = _date(data["date"])

        def line(name, account, amount):
            balance = currency._convert(amount, company.currency_id, company, date)
            return Command.create(
                {
                    "name": name,
                    "account_id": account.id,
                    "amount_currency": amount,
                    "currency_id": currency.id,
                    "balance": balance,
                }
            )

        reference = data.get("reference") or message["external_id"]
        commands = [
            line(f"Payout {reference}", accounts["transfer"], payout_amount),
            line(f"Payout {reference}", clearing, -payout_amount),
        ]
        if not currency.is_zero(fees):
            commands += [
                line(f"Fees of payout {reference}", accounts["fee"], fees),
                line(f"Fees of payout {reference}", clearing, -fees),
            ]
        entry = (
            self.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": "entry",
                    "journal_id": accounts["journal"].id,
                    "date": date,
                    "ref": f"Payout {reference}",
                    "line_ids": commands,
                }
            )
        )
        entry.action_post()
        if problems:
            for problem in problems:
                self.env["integration.exception"]._open(
                    event,
                    "reconciliation",
                    f"Payout {reference}: {problem}",
                    severity="medium",
                    records=entry,
                    key=f"payout:{message['external_id']}:{problem.split(':')[0]}",
                )
            event._add_note(
                f"payout {reference} booked ({entry.name}) but not reconciled: {len(problems)} difference(s)."
            )
        else:
            (settled | entry.line_ids.filtered(lambda ln: ln.account_id == clearing)).reconcile()
            event._add_note(f"payout {reference} booked ({entry.name}) and reconciled with {len(settled)} item(s).")
        return self._finish(message, event, entry, "created")
