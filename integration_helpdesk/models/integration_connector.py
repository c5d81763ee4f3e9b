from odoo import models


class IntegrationConnector(models.AbstractModel):
    _inherit = "integration.connector"

    def _offers_billing_context(self, backend):
        """True for helpdesk connectors: their backend answers the billing-context API
        (``/integration/helpdesk/<reference>/billing-context``)."""
        return False
