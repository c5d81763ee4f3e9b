from . import integration_backend
from . import integration_connector
from . import integration_helpdesk_connector
from . import integration_connector_zendesk
from . import integration_helpdesk_billing_context
