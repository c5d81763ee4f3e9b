from odoo import models


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _helpdesk_emit_billing(self):
        """The billing of these customers changed: push it to the helpdesks subscribed to it.

        One ``customer_billing`` outbound event per commercial entity and
        helpdesk backend that knows the customer (``_outbound_accepts``);
        several changes in one transaction make one event.
        """
        customers = self.commercial_partner_id
        if customers:
            self.env["integration.event"]._emit_outbound("customer_billing", customers, action="updated")
