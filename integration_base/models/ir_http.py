from odoo import models
from odoo.http import request

from ..controllers import guard

#: every public route of the suite lives under this path
ROUTE_PREFIX = "/integration/"


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _handle_error(cls, exception):
        """The database went away during one of the suite's requests: 503, not 500.

        The routes catch a lost connection themselves; this covers what fails
        after them (Odoo's commit of the request's transaction).
        """
        if request.httprequest.path.startswith(ROUTE_PREFIX) and guard.is_database_unreachable(exception):
            return guard.no_database()
        return super()._handle_error(exception)
