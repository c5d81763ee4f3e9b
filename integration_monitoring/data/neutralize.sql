-- A neutralized copy must not be scraped with the production token: an empty
-- token refuses every bearer request until an administrator sets a new one.
UPDATE ir_config_parameter SET value = ''
 WHERE key IN ('integration_monitoring.metrics_token', 'integration_monitoring.metrics_token_previous');
