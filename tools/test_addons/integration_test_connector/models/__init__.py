from . import integration_backend, integration_connector_test
