"""Where a backend's calls and credentials go: as privileged as reading the credentials.

* The API URL must be an allowed destination (``netguard``): the connector's
  declared hosts over https, or a host a system administrator allow-lists;
  the backend's :meth:`_outbound_policy` is what every outbound call of the
  engine runs under.
* Anyone but a system administrator who changes where calls go (the API
  URL, the connector type) clears the credentials the connector sends there
  (``_sent_credential_fields``): a manager cannot point the API key at a
  listener of their own.
"""

from odoo import api, models
from odoo.exceptions import ValidationError

from .. import netguard
from ..access import SYSTEM


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    def write(self, vals):
        moved = self._credentials_moved(vals)
        result = super().write(vals)
        self._clear_moved_credentials(moved)
        return result

    @api.constrains("api_url", "connector_type")
    def _check_api_url(self):
        for backend in self.filtered("api_url"):
            try:
                backend._outbound_policy().check_url(backend.api_url)
            except netguard.BlockedDestination as exc:
                raise ValidationError(self.env._("This API URL is not allowed: %s", exc)) from exc

    def _credential_destination_fields(self):
        """Fields that decide where the backend's credentials are sent.

        Connectors with another such field (a second host, a region) add it.
        """
        return {"api_url", "connector_type"}

    def _credentials_moved(self, vals):
        """``{backend: fields}``: the credentials that would go somewhere else after a
        non-administrator writes ``vals`` (those of the connector before and after)."""
        changing = self._credential_destination_fields() & set(vals)
        if not changing or self.env.su or self.env.user.has_group(SYSTEM):
            return {}
        moved = {}
        for backend in self:
            if not any((backend[name] or False) != (vals[name] or False) for name in changing):
                continue
            names = set(backend._connector()._sent_credential_fields(backend))
            if vals.get("connector_type"):
                names |= set(
                    self.env[f"integration.connector.{vals['connector_type']}"]._sent_credential_fields(backend)
                )
            names = {name for name in names if backend.sudo()[name]}
            if names:
                moved[backend] = names
        return moved

    def _clear_moved_credentials(self, moved):
        for backend, names in moved.items():
            backend.sudo().write(dict.fromkeys(names, False))
            backend.message_post(
                body=self.env._(
                    "%(user)s changed where this backend's calls go: its credentials (%(fields)s) were cleared, "
                    "because only a system administrator decides where they are sent. A system administrator "
                    "enters them again.",
                    user=self.env.user.name,
                    fields=", ".join(sorted(backend._fields[name].string for name in names)),
                )
            )

    def _outbound_policy(self):
        """Where this backend's calls may go (:class:`netguard.OutboundPolicy`)."""
        self.ensure_one()
        allowed = self.env["ir.config_parameter"].sudo().get_param(netguard.ALLOWED_HOSTS_PARAM, "")
        return netguard.OutboundPolicy(
            hosts=tuple(self._connector()._outbound_hosts(self)), allowed=netguard.parse_allow_list(allowed)
        )
