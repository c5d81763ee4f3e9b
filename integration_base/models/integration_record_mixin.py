from odoo import models

from ..access import check_rights


class IntegrationRecordMixin(models.AbstractModel):
    """For records that point at an Odoo record with ``res_model`` and ``res_id``
    (bindings, records touched by an event, exceptions)."""

    _name = "integration.record.mixin"
    _description = "Integration Record Reference"

    def _linked_record(self):
        """The Odoo record pointed at, if its model is installed and it still exists; else None."""
        self.ensure_one()
        if not self.res_model or self.res_model not in self.env or not self.res_id:
            return None
        return self.env[self.res_model].browse(self.res_id).exists()

    def action_open_record(self):
        check_rights(self, "read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }
