"""Settings of the monitoring endpoints (no ORM here)."""

#: bearer token of ``/integration/metrics`` and of the health details
TOKEN_PARAM = "integration_monitoring.metrics_token"
#: the token being rotated out: still accepted until it is cleared
PREVIOUS_TOKEN_PARAM = "integration_monitoring.metrics_token_previous"
#: a pending job older than this many minutes means the runner is stopped or far behind
STALE_JOBS_PARAM = "integration_monitoring.job_stale_minutes"
DEFAULT_STALE_MINUTES = 15
#: states in which an event waits for its job
WAITING_STATES = ("received", "queued")
#: queue_job states of a job that waits for the runner
WAITING_JOB_STATES = ("pending", "enqueued")
#: the worst status wins
STATUS_ORDER = ("ok", "degraded", "down")
