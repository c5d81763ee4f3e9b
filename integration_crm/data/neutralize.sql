-- a neutralized copy must not reach the production Salesforce organization
UPDATE integration_backend SET salesforce_client_id = NULL;
