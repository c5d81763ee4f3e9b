-- A neutralized copy of a database must not talk to, nor be reached by, the
-- production systems: blank every secret, change every webhook URL, stop
-- outbound pushes and scheduled pulls.
UPDATE integration_backend
   SET webhook_secret = NULL,
       webhook_secret_previous = NULL,
       api_key = NULL,
       reference = 'neutralized-' || id || '-' || md5(random()::text);
DELETE FROM integration_backend_integration_canonical_type_rel;
UPDATE integration_stream SET scheduled = FALSE;
