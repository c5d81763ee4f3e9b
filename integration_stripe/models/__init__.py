from . import integration_backend
from . import integration_stripe_tax_map
from . import integration_connector_stripe
from . import integration_stripe_mapper
from . import integration_stripe_dispute
from . import integration_stripe_outbound
