# Run by e2e.py inside `odoo shell` (env is given): the ORM work of N
# subscription lifecycles done directly, one transaction per lifecycle as the
# jobs do, without the middleware (no route, no event, no job, no mapping,
# no schema, no binding). Prints one JSON line: {"direct": {...}}.
# ruff: noqa: F821
import json as _json
import os as _os
import time as _time

from odoo import Command as _Command

_n = int(_os.environ["BENCH_DIRECT_N"])
_run = _os.environ["BENCH_DIRECT_RUN"]
_usd = env["res.currency"].search([("name", "=", "USD")], limit=1)
_company = env.company
_sale = env["account.journal"].search([("type", "=", "sale"), ("company_id", "=", _company.id)], limit=1)
_bank = env["account.journal"].search([("type", "=", "bank"), ("company_id", "=", _company.id)], limit=1)
_start = _time.perf_counter()
for _i in range(_n):
    _partner = env["res.partner"].create(
        {"name": f"Direct {_run} {_i}", "email": f"direct-{_run}-{_i}@example.com", "company_id": False}
    )
    env["integration.subscription"].create(
        {
            "name": f"Pro - {_partner.name}",
            "partner_id": _partner.id,
            "plan_code": "pro",
            "plan_name": "Pro",
            "amount": 20.0,
            "currency_id": _usd.id,
            "interval": "month",
            "quantity": 1,
            "status": "active",
        }
    )
    _move = env["account.move"].create(
        {
            "move_type": "out_invoice",
            "partner_id": _partner.id,
            "currency_id": _usd.id,
            "journal_id": _sale.id,
            "ref": f"DIRECT-{_run}-{_i}",
            "invoice_line_ids": [
                _Command.create({"name": "Pro plan", "quantity": 1, "price_unit": 20.0, "tax_ids": [_Command.set([])]})
            ],
        }
    )
    _move.action_post()
    env["account.payment.register"].with_context(active_model="account.move", active_ids=_move.ids).create(
        {"amount": 20.0, "journal_id": _bank.id, "payment_difference_handling": "open"}
    )._create_payments()
    env.cr.commit()
_elapsed = _time.perf_counter() - _start
print(_json.dumps({"direct": {"lifecycles": _n, "seconds": _elapsed}}))
