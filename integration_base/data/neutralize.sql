-- A neutralized copy of a database must not talk to, nor be reached by, the
-- production systems: blank every secret and API URL, change every webhook
-- URL, stop outbound pushes and scheduled pulls, and cancel -- visibly -- the
-- outbound work that was waiting when the copy was made.
UPDATE integration_backend
   SET webhook_secret = NULL,
       webhook_secret_previous = NULL,
       api_key = NULL,
       api_url = NULL,
       reference = 'neutralized-' || id || '-' || md5(random()::text);
DELETE FROM integration_backend_integration_canonical_type_rel;

-- jobs that would send to a system (outbound events) or pull from it (streams)
UPDATE queue_job
   SET state = 'cancelled',
       date_cancelled = now() at time zone 'UTC',
       result = 'Cancelled: the database was neutralized (a copy never sends to nor pulls from production).'
 WHERE state IN ('wait_dependencies', 'pending', 'enqueued', 'started')
   AND (model_name = 'integration.stream'
        OR id IN (SELECT rel.queue_job_id
                    FROM integration_event_queue_job_rel rel
                    JOIN integration_event event ON event.id = rel.integration_event_id
                   WHERE event.direction = 'out'));
UPDATE integration_event
   SET state = 'ignored',
       next_retry_at = NULL,
       done_at = now() at time zone 'UTC',
       note = concat_ws(E'\n', note, 'Not sent: the database was neutralized (a copy never sends to production).')
 WHERE direction = 'out' AND state IN ('received', 'queued', 'processing');
UPDATE integration_stream
   SET last_error = 'Stopped: the database was neutralized (a copy never pulls from production).'
 WHERE state = 'running';
UPDATE integration_stream SET scheduled = FALSE, state = 'idle' WHERE scheduled OR state = 'running';
