"""Canonical payout -> the fees and the bank transfer of a payment platform's payout.

Booked on the accounts the connector names (``_payout_accounts``) and
reconciled with the payments and refunds the payout settles, on the
clearing account; every difference is an exception for finance and leaves
the payout unreconciled (inbound only).
"""

from odoo import Command, models

from ..values import to_amount, to_date


class IntegrationCanonicalPayout(models.AbstractModel):
    _name = "integration.canonical.payout"
    _inherit = ["integration.applier", "integration.exporter"]
    _description = "Canonical payout (account.move)"

    def _apply_record(self, message, event, entry):
        if entry:
            return self._skip_known(message, event, entry)
        data = message["data"]
        if data["status"] != "paid":
            event._add_note(f"payout {message['external_id']} is {data['status']}: nothing to book yet.")
            return None
        backend = event.backend_id
        accounts = backend._payout_accounts()
        currency = self._currency(data["currency"])
        settled, fees, problems = self._payout_settlement(backend, data, accounts["clearing"], currency)
        reference = data.get("reference") or message["external_id"]
        entry = self._payout_entry(backend, data, accounts, currency, fees, reference)
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
            (settled | entry.line_ids.filtered(lambda ln: ln.account_id == accounts["clearing"])).reconcile()
            event._add_note(f"payout {reference} booked ({entry.name}) and reconciled with {len(settled)} item(s).")
        return self._finish(message, event, entry, "created")

    def _payout_settlement(self, backend, data, clearing, currency):
        """What the payout settles.

        :return: ``(settled clearing items, fees, problems)``
        """
        fees = expected = 0.0
        settled = self.env["account.move.line"]
        problems = []
        for txn in data["transactions"]:
            amount, fee = to_amount(txn["amount"]), to_amount(txn.get("fee"))
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
        payout_amount = to_amount(data["amount"])
        if currency.compare_amounts(expected, payout_amount):
            problems.append(
                f"the transactions sum to {expected:.{currency.decimal_places}f} {currency.name}, "
                f"the payout is {payout_amount:.{currency.decimal_places}f}"
            )
        return settled, fees, problems

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

    def _payout_entry(self, backend, data, accounts, currency, fees, reference):
        """The posted entry: the transfer to the bank and the fees, both out of the clearing account."""
        company = backend.company_id
        date = to_date(data["date"])
        payout_amount = to_amount(data["amount"])

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

        commands = [
            line(f"Payout {reference}", accounts["transfer"], payout_amount),
            line(f"Payout {reference}", accounts["clearing"], -payout_amount),
        ]
        if not currency.is_zero(fees):
            commands += [
                line(f"Fees of payout {reference}", accounts["fee"], fees),
                line(f"Fees of payout {reference}", accounts["clearing"], -fees),
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
        return entry
