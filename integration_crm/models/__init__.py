from . import crm_lead
from . import integration_backend
from . import integration_crm_stage_map
from . import integration_connector_hubspot
from . import integration_hubspot_outbound
from . import integration_connector_salesforce
