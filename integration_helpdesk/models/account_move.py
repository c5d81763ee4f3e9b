from datetime import timedelta

from odoo import api, fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    integration_ticket_count = fields.Integer(string="Support tickets", compute="_compute_integration_ticket_count")

    def _compute_integration_ticket_count(self):
        """Support tickets about this invoice (named in them, or its failed payment)."""
        Ticket = self.env["integration.support.ticket"]
        counts = {}
        if Ticket.has_access("read"):
            counts = {
                invoice.id: count
                for invoice, count in Ticket._read_group([("invoice_id", "in", self.ids)], ["invoice_id"], ["__count"])
            }
        for move in self:
            move.integration_ticket_count = counts.get(move.id, 0)

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        posted.filtered(
            lambda move: move.move_type in ("out_invoice", "out_refund")
        ).partner_id._helpdesk_emit_billing()
        return posted

    def _invoice_paid_hook(self):
        result = super()._invoice_paid_hook()
        self.filtered(lambda move: move.move_type == "out_invoice").partner_id._helpdesk_emit_billing()
        return result

    @api.model
    def _cron_helpdesk_overdue(self):
        """Daily: customers whose invoices fell overdue since the last run get their billing pushed.

        An invoice becomes overdue with time, not with a write: nothing else
        would tell the helpdesk. Unchanged billing is not sent again.
        """
        cron = self.env.ref("integration_helpdesk.ir_cron_helpdesk_overdue", raise_if_not_found=False)
        today = fields.Date.context_today(self)
        since = cron.lastcall.date() if cron and cron.lastcall else today - timedelta(days=1)
        invoices = self.sudo().search(
            [
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
                ("invoice_date_due", ">=", since - timedelta(days=1)),
                ("invoice_date_due", "<", today),
            ]
        )
        invoices.partner_id._helpdesk_emit_billing()
        return len(invoices)
