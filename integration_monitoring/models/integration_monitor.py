"""What the monitoring endpoints read: aggregate queries only.

Each number is one ``_read_group`` (``GROUP BY`` in PostgreSQL) over the
engine's tables; nothing loops over events, exceptions or jobs, so a scrape
costs the same with ten events or ten million. Everything is read as the
superuser: the endpoints are guarded by their own credentials -- a bearer
token describes the whole database, an integration manager's session the
backends of their companies (``company_ids``).
"""

import itertools
import logging
import secrets
from datetime import timedelta

import psycopg2

from odoo import api, fields, models

from odoo.addons.integration_base.access import SYSTEM, check_rights
from odoo.addons.integration_base.const import EVENT_STATES, EXCEPTION_CATEGORIES, SEVERITIES
from odoo.addons.queue_job.job import STATES as JOB_STATES

from ..const import (
    DEFAULT_STALE_MINUTES,
    PREVIOUS_TOKEN_PARAM,
    STALE_JOBS_PARAM,
    STATUS_ORDER,
    TOKEN_PARAM,
    WAITING_JOB_STATES,
    WAITING_STATES,
)

_logger = logging.getLogger(__name__)

DIRECTIONS = ("in", "out")
OPEN_EXCEPTION_STATES = ("new", "in_progress")


class IntegrationMonitor(models.AbstractModel):
    _name = "integration.monitor"
    _description = "Integration Monitoring"

    # ------------------------------------------------------------------
    # Token
    # ------------------------------------------------------------------
    @api.model
    def _ensure_token(self):
        """Create the metrics bearer token unless one is set; return it."""
        params = self.env["ir.config_parameter"].sudo()
        token = params.get_param(TOKEN_PARAM)
        if not token:
            token = secrets.token_urlsafe(32)
            params.set_param(TOKEN_PARAM, token)
        return token

    @api.model
    def action_rotate_metrics_token(self):
        """A new metrics token; the current one stays accepted as previous (system administrators).

        Give Prometheus the new token, then clear
        ``integration_monitoring.metrics_token_previous``.
        """
        check_rights(self.env["ir.config_parameter"], "write", SYSTEM)
        params = self.env["ir.config_parameter"].sudo()
        params.set_param(PREVIOUS_TOKEN_PARAM, params.get_param(TOKEN_PARAM) or "")
        params.set_param(TOKEN_PARAM, secrets.token_urlsafe(32))
        return True

    # ------------------------------------------------------------------
    # Metrics
    # ------------------------------------------------------------------
    @api.model
    def _backend_row(self, backend):
        return {"backend": backend.name, "backend_id": backend.id, "connector": backend.connector_type}

    @api.model
    def _metrics_snapshot(self, company_ids=None):
        """Every number of ``/integration/metrics`` as plain rows.

        :param company_ids: only the backends (and their events and
            exceptions) of these companies; None: the whole database
        :return: dict of lists of dicts, see :func:`..metrics.render`
        """
        env = self.env(su=True, context=dict(self.env.context, active_test=False))
        scope = [] if company_ids is None else [("company_id", "in", company_ids)]
        # archived backends appear only while they still have events
        active = env["integration.backend"].search([("active", "=", True)] + scope, order="id")
        states = [state for state, _label in EVENT_STATES]
        Backend = env["integration.backend"]
        return {
            "events": self._event_rows(env, scope, ["direction", "state"], [DIRECTIONS, states], active),
            "dead_letters": self._event_rows(
                env, [("state", "=", "dead")] + scope, ["direction"], [DIRECTIONS], active
            ),
            "oldest_queued": self._oldest_queued_rows(env, scope, active),
            "exceptions": self._exception_rows(env, scope),
            "jobs": self._job_rows(env),
            "backends": [
                dict(
                    self._backend_row(backend),
                    circuit_state=backend.circuit_state or "closed",
                    circuit_failures=backend.circuit_failures,
                    health=backend.health,
                )
                for backend in active
            ],
            "circuit_states": [code for code, _label in Backend._fields["circuit_state"].selection],
            "health_states": [code for code, _label in Backend._fields["health"].selection],
        }

    @api.model
    def _event_rows(self, env, domain, groupby, values, active):
        """Event counts per backend and ``groupby`` fields, sorted; every active
        backend has a row for each combination of ``values`` (0 when none)."""
        counts = {
            (backend, *keys): count
            for backend, *keys, count in env["integration.event"]._read_group(
                domain, ["backend_id", *groupby], ["__count"]
            )
        }
        for backend in active:
            for combination in itertools.product(*values):
                counts.setdefault((backend, *combination), 0)
        return [
            dict(self._backend_row(key[0]), **dict(zip(groupby, key[1:], strict=True)), count=count)
            for key, count in sorted(counts.items(), key=lambda item: (item[0][0].id, *item[0][1:]))
        ]

    @api.model
    def _oldest_queued_rows(self, env, scope, active):
        now = fields.Datetime.now()
        oldest = dict(
            env["integration.event"]._read_group(
                [("state", "in", WAITING_STATES)] + scope, ["backend_id"], ["received_at:min"]
            )
        )
        return [
            dict(
                self._backend_row(backend),
                age_seconds=max((now - oldest[backend]).total_seconds(), 0.0) if oldest.get(backend) else 0.0,
            )
            for backend in active.union(*oldest).sorted("id")
        ]

    @api.model
    def _exception_rows(self, env, scope):
        counts = {
            (category, severity): count
            for category, severity, count in env["integration.exception"]._read_group(
                [("state", "in", OPEN_EXCEPTION_STATES)] + scope, ["category", "severity"], ["__count"]
            )
        }
        return [
            {"category": category, "severity": severity, "count": counts.get((category, severity), 0)}
            for category, _label in EXCEPTION_CATEGORIES
            for severity, _label in SEVERITIES
        ]

    @api.model
    def _job_rows(self, env):
        counts = {
            (channel or "", state): count
            for channel, state, count in env["queue.job"]._read_group([], ["channel", "state"], ["__count"])
        }
        for channel in {channel for channel, _state in counts}:
            for state, _label in JOB_STATES:
                counts.setdefault((channel, state), 0)
        return [
            {"channel": channel, "state": state, "count": count} for (channel, state), count in sorted(counts.items())
        ]

    # ------------------------------------------------------------------
    # Health
    # ------------------------------------------------------------------
    @api.model
    def _check_database(self):
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute("SELECT pg_is_in_recovery()")
                in_recovery = self.env.cr.fetchone()[0]
        except psycopg2.Error as exc:
            return {"status": "down", "detail": f"database error: {exc.__class__.__name__}"}
        if in_recovery:
            return {
                "status": "down",
                "detail": "the database is a read-only replica (in recovery): nothing can be stored",
            }
        return {"status": "ok", "detail": "the database accepts writes"}

    @api.model
    def _check_job_runner(self):
        params = self.env["ir.config_parameter"].sudo()
        try:
            minutes = int(params.get_param(STALE_JOBS_PARAM, DEFAULT_STALE_MINUTES))
        except ValueError:
            minutes = DEFAULT_STALE_MINUTES
        minutes = max(minutes, 1)
        limit = fields.Datetime.now() - timedelta(minutes=minutes)
        # due for longer than the limit: created that long ago without an
        # ETA, or an ETA that long past
        domain = [
            ("state", "in", WAITING_JOB_STATES),
            "|",
            "&",
            ("eta", "=", False),
            ("date_created", "<", limit),
            ("eta", "<", limit),
        ]
        [(count, oldest)] = self.env["queue.job"].sudo()._read_group(domain, [], ["__count", "date_created:min"])
        result = {"stale_jobs": count, "stale_after_minutes": minutes}
        if count:
            result.update(
                status="down",
                detail=f"{count} job(s) waiting for more than {minutes} minutes: "
                "the job runner is stopped or far behind",
                oldest_stale_job=fields.Datetime.to_string(oldest),
            )
        else:
            result.update(status="ok", detail=f"no job waits for more than {minutes} minutes")
        return result

    @api.model
    def _check_backends(self, company_ids=None):
        scope = [] if company_ids is None else [("company_id", "in", company_ids)]
        backends = self.env["integration.backend"].sudo().search(scope, order="id")
        rows = [
            {
                "name": backend.name,
                "id": backend.id,
                "connector": backend.connector_type,
                "health": backend.health,
                "circuit_state": backend.circuit_state or "closed",
                "failed_events_24h": backend.failed_event_count,
                "open_exceptions": backend.open_exception_count,
            }
            for backend in backends
        ]
        unhealthy = [row for row in rows if row["health"] != "ok"]
        if unhealthy:
            return {
                "status": "degraded",
                "detail": f"{len(unhealthy)} of {len(rows)} backend(s) not healthy",
                "backends": rows,
            }
        return {"status": "ok", "detail": f"{len(rows)} backend(s) healthy", "backends": rows}

    @api.model
    def _health_report(self, details=False, company_ids=None):
        """The health of the integration service.

        ``down`` when nothing can be processed (database not writable, job
        runner stopped), ``degraded`` when a backend is unhealthy (open
        circuit, recent failures), ``ok`` otherwise.

        :param details: include counts and backend names (authenticated callers)
        :param company_ids: only the backends of these companies; None: all
        :return: dict ``{"status", "checks": {"database", "job_runner", "backends"}}``
        """
        checks = {"database": self._check_database()}
        if checks["database"]["status"] == "down":
            # nothing else can be read reliably
            checks["job_runner"] = {"status": "down", "detail": "not checked: the database is down"}
            checks["backends"] = {"status": "down", "detail": "not checked: the database is down"}
        else:
            checks["job_runner"] = self._check_job_runner()
            checks["backends"] = self._check_backends(company_ids)
        status = max((check["status"] for check in checks.values()), key=STATUS_ORDER.index)
        if not details:
            checks = {name: {"status": check["status"]} for name, check in checks.items()}
        return {"status": status, "checks": checks}
