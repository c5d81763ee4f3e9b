-- The billing-context API of a neutralized copy accepts no production key.
UPDATE integration_backend SET helpdesk_api_key_previous = NULL;
