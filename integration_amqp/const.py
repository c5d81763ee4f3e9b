"""Constants of the AMQP connector (no ORM here)."""

#: the topic exchange canonical events are published to (per backend setting)
DEFAULT_EXCHANGE = "integration.events"
#: the queue a consuming backend reads (per backend setting)
DEFAULT_QUEUE = "integration.odoo.inbox"
#: ``app_id`` of every message the suite publishes
APP_ID = "odoo-integration"
CONTENT_TYPE = "application/json"

#: AMQP headers of a published message (besides the standard properties
#: message_id, correlation_id, type, timestamp, app_id, content_type)
HEADER_CORRELATION = "x-correlation-id"
HEADER_SCHEMA_VERSION = "x-schema-version"
HEADER_CANONICAL_TYPE = "x-canonical-type"
HEADER_ACTION = "x-event-action"
HEADER_SOURCE = "x-source"
#: Standard Webhooks signature headers, carried as AMQP headers
HEADER_SIGNATURE_ID = "webhook-id"
HEADER_SIGNATURE_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"

#: delivery_mode of a message the broker writes to disk
PERSISTENT = 2

AUTH_MODES = [
    ("signature", "Signature (Standard Webhooks HMAC in the message headers)"),
    ("trusted_users", "Trusted producers (broker-validated user_id)"),
]

#: consumer states shown on the backend
CONSUMER_STATES = [
    ("off", "Off"),
    ("connected", "Connected"),
    ("reconnecting", "Reconnecting"),
]

#: seconds between two connection attempts of a consumer: doubles up to the cap
RECONNECT_BASE = 1.0
RECONNECT_CAP = 30.0
#: seconds between two looks at the backends (added, changed, archived)
RESCAN_SECONDS = 10.0
#: the backoff of the outbound relay after a broker failure is capped here (seconds)
RELAY_BACKOFF_CAP = 300
