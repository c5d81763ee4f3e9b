from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .. import amqp_client
from ..const import AUTH_MODES, CONSUMER_STATES, DEFAULT_EXCHANGE, DEFAULT_QUEUE
from ..consumer import Topology


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    connector_type = fields.Selection(selection_add=[("amqp", "RabbitMQ (AMQP)")], ondelete={"amqp": "cascade"})
    # ------------------------------------------------------------------
    # The broker: where it is is an infrastructure decision (system
    # administrators only, like the secrets), see readme/CONFIGURE.md
    # ------------------------------------------------------------------
    amqp_url = fields.Char(
        string="Broker URL",
        default="amqp://127.0.0.1:5672/",
        groups="base.group_system",
        help="amqp://host[:port][/virtual-host] or amqps:// for TLS. The user and password have their own fields.",
    )
    amqp_username = fields.Char(string="Broker user", default="guest", groups="base.group_system")
    amqp_password = fields.Char(string="Broker password", copy=False, groups="base.group_system")
    # ------------------------------------------------------------------
    # Out: the exchange
    # ------------------------------------------------------------------
    amqp_exchange = fields.Char(
        string="Exchange",
        default=DEFAULT_EXCHANGE,
        help="Topic exchange Odoo publishes canonical events to, routing key <type>.<action> (e.g. invoice.paid).",
    )
    # ------------------------------------------------------------------
    # In: the queue
    # ------------------------------------------------------------------
    amqp_consume = fields.Boolean(
        string="Consume the queue",
        help="Odoo's AMQP consumer (a server-wide module) reads this backend's queue and feeds the inbox.",
    )
    amqp_queue = fields.Char(
        string="Queue", default=DEFAULT_QUEUE, help="Declared durable, dead-lettering to <queue>.dlx."
    )
    amqp_bind_exchange = fields.Char(
        string="Bind to exchange",
        help="Topic exchange the queue is bound to (declared if missing). Empty: producers publish to the queue "
        "directly (default exchange, routing key = queue name).",
    )
    amqp_binding_keys = fields.Char(
        string="Binding keys", default="#", help="Comma-separated, e.g. customer.*,invoice.#"
    )
    amqp_prefetch = fields.Integer(
        string="Prefetch", default=50, help="Messages the broker sends before waiting for acknowledgements."
    )
    amqp_batch_size = fields.Integer(
        string="Batch size",
        default=20,
        help="Messages stored per database transaction (acknowledged after its commit).",
    )
    amqp_auth_mode = fields.Selection(AUTH_MODES, string="Accept messages by", default="signature", required=True)
    amqp_trusted_users = fields.Char(
        string="Trusted producers",
        help="Comma-separated broker users whose messages (user_id property, validated by RabbitMQ) are accepted.",
    )
    amqp_consumer_state = fields.Selection(CONSUMER_STATES, string="Consumer", default="off", readonly=True, copy=False)
    amqp_consumer_error = fields.Char(string="Consumer error", readonly=True, copy=False)
    amqp_consumer_since = fields.Datetime(string="Consumer state since", readonly=True, copy=False)

    _amqp_batch_positive = models.Constraint(
        "CHECK((amqp_prefetch IS NULL OR amqp_prefetch > 0) AND (amqp_batch_size IS NULL OR amqp_batch_size > 0))",
        "Prefetch and batch size must be positive.",
    )

    @api.constrains("amqp_url")
    def _check_amqp_url(self):
        self._check_connector_settings()  # the connector's _backend_check

    @api.constrains("amqp_prefetch", "amqp_batch_size")
    def _check_amqp_batch(self):
        for backend in self:
            if backend.amqp_batch_size and backend.amqp_prefetch and backend.amqp_batch_size > backend.amqp_prefetch:
                raise ValidationError(
                    self.env._(
                        "The batch size of %s cannot exceed its prefetch: a batch would never fill.", backend.name
                    )
                )

    # ------------------------------------------------------------------
    # Settings for the ORM-free client and consumer
    # ------------------------------------------------------------------
    def _amqp_settings(self):
        """:class:`amqp_client.BrokerSettings` of this backend (read as superuser)."""
        self.ensure_one()
        backend = self.sudo()
        return amqp_client.BrokerSettings.from_url(
            backend.amqp_url,
            userid=backend.amqp_username,
            password=backend.amqp_password,
            io_timeout=backend.timeout,
            name=f"odoo-integration {self.env.cr.dbname} backend {backend.id}",
        )

    def _amqp_topology(self):
        self.ensure_one()
        keys = [key.strip() for key in (self.amqp_binding_keys or "#").split(",") if key.strip()]
        return Topology.for_queue(self.amqp_queue or DEFAULT_QUEUE, self.amqp_bind_exchange, keys)

    def _amqp_trusted_users(self):
        return {user.strip() for user in (self.amqp_trusted_users or "").split(",") if user.strip()}

    def _amqp_set_consumer_state(self, state, error=None):
        """Record what the consumer is doing (called by the runner when it changes)."""
        self.sudo().write(
            {
                "amqp_consumer_state": state,
                "amqp_consumer_error": error or False,
                "amqp_consumer_since": fields.Datetime.now(),
            }
        )
