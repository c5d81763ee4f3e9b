from odoo import models


class IntegrationConnector(models.AbstractModel):
    _inherit = "integration.connector"

    def _offers_billing_context(self, backend):
        """True for helpdesk connectors: their backend answers the billing-context API
        (``/integration/helpdesk/<reference>/billing-context``)."""
        return False

    def _helpdesk_ticket_url(self, backend, ticket_ref):
        """Where an agent opens ticket ``ticket_ref`` in the helpdesk (False when unknown)."""
        return False
