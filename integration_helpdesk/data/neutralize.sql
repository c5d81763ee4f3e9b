-- The billing-context API of a neutralized copy accepts no production key,
-- and the copy holds no credential of the production helpdesk.
UPDATE integration_backend SET helpdesk_api_key_previous = NULL, helpdesk_api_token = NULL;
