from . import crm_lead
from . import integration_backend
from . import integration_connector_hubspot
