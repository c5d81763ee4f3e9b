import secrets
from contextlib import contextmanager
from datetime import timedelta

from odoo import api, fields, models

from .. import netguard
from ..access import MANAGER, SYSTEM, check_rights
from ..const import DEFAULT_CHANNEL, DEFAULT_MAX_BODY_BYTES
from ..exceptions import CircuitOpen, RateLimited, RetryableError
from ..races import lock_rows


def _new_reference():
    return secrets.token_urlsafe(24)


class IntegrationBackend(models.Model):
    """One connected system instance (a Stripe account, a CRM portal...).

    The connector type selects the implementation: the abstract model
    ``integration.connector.<connector_type>`` (see ``integration.connector``).
    """

    _name = "integration.backend"
    _description = "Integration Backend"
    _inherit = ["mail.thread"]
    _order = "sequence, name"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    connector_type = fields.Selection(
        selection=[("canonical", "Canonical JSON (Standard Webhooks)")],
        required=True,
        tracking=True,
        help="Which system this backend talks to. Each connector addon adds its own type.",
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    reference = fields.Char(
        required=True,
        copy=False,
        readonly=True,
        default=lambda self: _new_reference(),
        groups="integration_base.group_integration_manager",
        help="Unguessable token in the webhook URL. Regenerate it if the URL leaked.",
    )
    webhook_url = fields.Char(compute="_compute_webhook_url", groups="integration_base.group_integration_manager")
    # ------------------------------------------------------------------
    # Secrets: system administrators only, never copied, neutralized.
    # ------------------------------------------------------------------
    webhook_secret = fields.Char(
        copy=False, groups="base.group_system", help="Secret used to verify the signature of incoming webhooks."
    )
    webhook_secret_previous = fields.Char(
        copy=False,
        groups="base.group_system",
        help="The secret being rotated out: signatures made with it are still accepted until it is cleared.",
    )
    api_key = fields.Char(copy=False, groups="base.group_system", string="API Key")
    api_url = fields.Char(
        string="API URL",
        help="Base URL of the system's API, or of the outbound endpoint. Changed by anyone but a system "
        "administrator, it clears the API key: only they decide where the key is sent.",
    )
    has_webhook_secret = fields.Boolean(compute="_compute_has_webhook_secret")
    # ------------------------------------------------------------------
    # Limits and processing
    # ------------------------------------------------------------------
    max_body_bytes = fields.Integer(default=DEFAULT_MAX_BODY_BYTES, help="Larger webhook bodies get HTTP 413.")
    job_channel = fields.Char(
        default=DEFAULT_CHANNEL, required=True, help="queue_job channel of this backend's jobs (bounds concurrency)."
    )
    max_attempts = fields.Integer(default=8, help="Attempts before an event is dead-lettered.")
    retry_base_seconds = fields.Integer(default=30, help="Delay after the first failure; doubles every attempt.")
    timeout = fields.Float(default=15.0, help="Timeout of every outbound HTTP call, in seconds.")
    rate_limit = fields.Float(default=10.0, help="Outbound calls per second and worker process (0: no limit).")
    circuit_threshold = fields.Integer(default=5, help="Consecutive outbound failures that open the circuit.")
    circuit_cooldown = fields.Integer(default=60, help="Seconds the circuit stays open before one probe call.")
    circuit_state = fields.Selection(
        [("closed", "Closed"), ("open", "Open"), ("half_open", "Half-open")],
        default="closed",
        readonly=True,
        copy=False,
    )
    circuit_failures = fields.Integer(readonly=True, copy=False)
    circuit_open_until = fields.Datetime(readonly=True, copy=False)
    sale_journal_id = fields.Many2one(
        "account.journal",
        domain="[('type', '=', 'sale'), ('company_id', '=', company_id)]",
        help="Journal of the customer invoices this system sends (default: the first sales journal).",
    )
    payment_journal_id = fields.Many2one(
        "account.journal",
        domain="[('type', 'in', ('bank', 'cash')), ('company_id', '=', company_id)]",
        help="Journal of the payments this system collects (default: the first bank journal).",
    )
    escalation_user_id = fields.Many2one(
        "res.users",
        string="Escalate to",
        domain=lambda self: [("all_group_ids", "in", self.env.ref("integration_base.group_integration_manager").id)],
        help="The integration manager who gets the exceptions people escalate "
        "(default: the manager with the fewest open ones).",
    )
    # ------------------------------------------------------------------
    # Identity resolution and outbound subscriptions
    # ------------------------------------------------------------------
    match_partner_email = fields.Boolean(string="Match customers by email", default=True)
    match_partner_vat = fields.Boolean(string="Match customers by VAT", default=True)
    match_partner_registry = fields.Boolean(string="Match customers by company registry", default=True)
    outbound_type_ids = fields.Many2many(
        "integration.canonical.type",
        string="Push to this system",
        help="Odoo changes of these canonical types are sent to this system.",
    )
    # ------------------------------------------------------------------
    # Health
    # ------------------------------------------------------------------
    event_ids = fields.One2many("integration.event", "backend_id")
    last_event_date = fields.Datetime(compute="_compute_health")
    event_count = fields.Integer(compute="_compute_health")
    failed_event_count = fields.Integer(compute="_compute_health")
    open_exception_count = fields.Integer(compute="_compute_health")
    health = fields.Selection(
        [("ok", "Healthy"), ("degraded", "Degraded"), ("down", "Down")], compute="_compute_health"
    )

    _reference_unique = models.Constraint("UNIQUE(reference)", "The webhook reference must be unique.")
    _positive_limits = models.Constraint(
        "CHECK(max_body_bytes > 0 AND max_attempts > 0 AND timeout > 0)",
        "Body size limit, attempts and timeout must be positive.",
    )

    @api.depends("reference")
    def _compute_webhook_url(self):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for backend in self:
            backend.webhook_url = f"{base}/integration/webhook/{backend.reference}" if backend.reference else False

    def _compute_has_webhook_secret(self):
        for backend in self:
            backend.has_webhook_secret = bool(backend.sudo().webhook_secret)

    def _compute_health(self):
        Event = self.env["integration.event"]
        since = fields.Datetime.now() - timedelta(days=1)
        stats = {
            backend.id: (count, last)
            for backend, count, last in Event._read_group(
                [("backend_id", "in", self.ids)], ["backend_id"], ["__count", "received_at:max"]
            )
        }
        failed = dict(
            Event._read_group(
                [("backend_id", "in", self.ids), ("state", "in", ("failed", "dead")), ("received_at", ">=", since)],
                ["backend_id"],
                ["__count"],
            )
        )
        exceptions = dict(
            self.env["integration.exception"]._read_group(
                [("backend_id", "in", self.ids), ("state", "in", ("new", "in_progress"))], ["backend_id"], ["__count"]
            )
        )
        for backend in self:
            count, last = stats.get(backend.id, (0, False))
            backend.event_count = count
            backend.last_event_date = last
            backend.failed_event_count = failed.get(backend, 0)
            backend.open_exception_count = exceptions.get(backend, 0)
            if backend.circuit_state == "open":
                backend.health = "down"
            elif backend.circuit_state == "half_open" or backend.failed_event_count:
                backend.health = "degraded"
            else:
                backend.health = "ok"

    # ------------------------------------------------------------------
    # Lifecycle: the connector completes, checks and sets up its backends
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("connector_type"):
                self.env[f"integration.connector.{vals['connector_type']}"]._backend_create_vals(vals)
        backends = super().create(vals_list)
        for backend in backends:
            backend._connector()._backend_setup(backend)
        return backends

    def write(self, vals):
        result = super().write(vals)
        if vals.get("connector_type"):
            for backend in self:
                backend._connector()._backend_setup(backend)
        return result

    @api.constrains("connector_type", "api_key")
    def _check_connector_settings(self):
        for backend in self.sudo():
            backend._connector()._backend_check(backend)

    @api.onchange("connector_type")
    def _onchange_connector_type(self):
        if self.connector_type:
            self._connector()._backend_onchange(self)

    # ------------------------------------------------------------------
    # Connector resolution: the one extension point
    # ------------------------------------------------------------------
    def _connector(self):
        """The connector implementation of this backend.

        :return: the abstract model ``integration.connector.<connector_type>``
            with this backend in context, e.g. ``integration.connector.stripe``
        """
        self.ensure_one()
        return self.env[f"integration.connector.{self.connector_type}"].with_context(integration_backend_id=self.id)

    def _payout_accounts(self):
        """Where payouts of this system are booked: the connector's
        :meth:`~integration.connector._payout_accounts`."""
        self.ensure_one()
        return self._connector()._payout_accounts(self)

    def _get_webhook_secrets(self):
        """Active webhook secrets, the current one first (rotation keeps two)."""
        self.ensure_one()
        backend = self.sudo()
        return [secret for secret in (backend.webhook_secret, backend.webhook_secret_previous) if secret]

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_test_connection(self):
        """Call the system with the backend's credentials (managers: it uses the key)."""
        check_rights(self, "write", MANAGER)
        self.ensure_one()
        with netguard.guarded(self._outbound_policy()):
            message = self._connector()._test_connection(self)
        # the system answered: an outage reported for it is over
        self.env["integration.exception"]._clear_causes(self)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": self.env._("Connection works"), "message": message, "type": "success"},
        }

    def action_rotate_webhook_secret(self):
        """Keep the current secret as previous and generate a new one (system administrators)."""
        check_rights(self, "write", SYSTEM)
        for backend in self.sudo():
            backend.write(
                {
                    "webhook_secret_previous": backend.webhook_secret,
                    "webhook_secret": backend._connector()._generate_webhook_secret(backend),
                }
            )
            backend.message_post(body=self.env._("Webhook secret rotated; the previous one is still accepted."))

    def action_regenerate_reference(self):
        check_rights(self, "write", MANAGER)
        for backend in self:
            backend.reference = _new_reference()
            backend.message_post(body=self.env._("Webhook URL regenerated: update it in the sending system."))

    def action_prepare_accounting(self):
        """Create the journals and accounts the connector books on (its ``_prepare_accounting``)."""
        check_rights(self, "write", MANAGER)
        for backend in self:
            backend._connector()._prepare_accounting(backend)
        return True

    def action_view_events(self):
        check_rights(self, "read")
        action = self.env["ir.actions.act_window"]._for_xml_id("integration_base.action_integration_event")
        action["domain"] = [("backend_id", "in", self.ids)]
        action["context"] = {}
        return action

    def action_view_exceptions(self):
        check_rights(self, "read")
        action = self.env["ir.actions.act_window"]._for_xml_id("integration_base.action_integration_exception")
        action["domain"] = [("backend_id", "in", self.ids)]
        action["context"] = {"search_default_open": 1}
        return action

    # ------------------------------------------------------------------
    # Circuit breaker (shared by all workers through this record): the whole
    # bookkeeping is here; the outbound runner only guards its delivery with
    # _circuit() and reports a failed attempt with _circuit_record_failure().
    # ------------------------------------------------------------------
    @contextmanager
    def _circuit(self):
        """Guard one outbound delivery.

        Refuses the call while the circuit is open (:class:`CircuitOpen`: the
        event waits without using an attempt).
        After the cool-down the circuit goes half-open and lets calls through
        as probes; a success closes it. A retryable failure of the call is
        marked to be counted: the attempt's work is rolled back, so
        :meth:`_circuit_record_failure` counts it afterwards. Rate limiting
        (:class:`RateLimited`) is not a failure of the peer and is not counted.

        The bookkeeping is best effort under concurrency: when another job
        just changed the backend's circuit, this one leaves it to that job
        (no failing statement, see ``races``).
        """
        self.ensure_one()
        self._circuit_check()
        try:
            yield
        except RateLimited:
            raise
        except RetryableError as exc:
            exc.circuit_failure = True
            raise
        self._circuit_success()

    def _circuit_check(self):
        if self.circuit_state != "open":
            return
        now = fields.Datetime.now()
        if self.circuit_open_until and self.circuit_open_until > now:
            raise CircuitOpen(
                f"circuit open for {self.name} until {self.circuit_open_until}",
                retry_after=(self.circuit_open_until - now).total_seconds() + 1,
            )
        if self._circuit_lock():
            self.circuit_state = "half_open"

    def _circuit_lock(self):
        """Lock the backend's row for a circuit update; False when another job just changed it."""
        self.env.flush_all()
        return lock_rows(self.env.cr, self._table, self.ids)

    def _circuit_success(self):
        if (self.circuit_state != "closed" or self.circuit_failures) and self._circuit_lock():
            self.action_reset_circuit()

    def action_reset_circuit(self):
        check_rights(self, "write", MANAGER)
        self.write({"circuit_state": "closed", "circuit_failures": 0, "circuit_open_until": False})

    def _circuit_record_failure(self, error):
        """Count ``error`` when :meth:`_circuit` marked it as a failure of the peer.

        A failure of a half-open probe, or the threshold reached, opens the circuit.
        """
        if not getattr(error, "circuit_failure", False) or not self._circuit_lock():
            return
        failures = self.circuit_failures + 1
        vals = {"circuit_failures": failures}
        if self.circuit_state == "half_open" or failures >= self.circuit_threshold:
            vals.update(
                circuit_state="open",
                circuit_open_until=fields.Datetime.now() + timedelta(seconds=self.circuit_cooldown),
            )
        self.write(vals)
