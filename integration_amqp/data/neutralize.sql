-- A neutralized copy must neither consume production queues nor publish to
-- the production exchange: stop the consumers, blank the broker password.
UPDATE integration_backend
   SET amqp_consume = FALSE,
       amqp_password = NULL,
       amqp_url = 'amqp://neutralized.invalid/'
 WHERE connector_type = 'amqp';
