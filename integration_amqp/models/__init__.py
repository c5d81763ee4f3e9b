from . import (
    integration_amqp_inbox,
    integration_amqp_relay,
    integration_backend,
    integration_connector_amqp,
    integration_event,
)
