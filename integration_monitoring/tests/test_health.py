from odoo.tests import HttpCase, tagged

from ..const import STALE_JOBS_PARAM, TOKEN_PARAM
from .common import MonitoringCaseMixin

HEALTH = "/integration/health"


@tagged("post_install", "-at_install")
class TestHealthEndpoint(MonitoringCaseMixin, HttpCase):
    def _health(self, authenticated=False):
        headers = {}
        if authenticated:
            headers["Authorization"] = "Bearer " + self.env["ir.config_parameter"].sudo().get_param(TOKEN_PARAM)
        self.env.flush_all()
        return self.url_open(HEALTH, headers=headers)

    def test_ok_without_details_for_anonymous_callers(self):
        self._create_backend("canonical", name="Quiet backend")
        response = self._health()
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            response.json(),
            {
                "status": "ok",
                "checks": {"database": {"status": "ok"}, "job_runner": {"status": "ok"}, "backends": {"status": "ok"}},
            },
        )

    def test_open_circuit_degrades_with_details_for_the_token(self):
        self._build_world()
        self.env["ir.config_parameter"].sudo().set_param(STALE_JOBS_PARAM, "60")
        anonymous = self._health()
        self.assertEqual(anonymous.status_code, 200)
        self.assertEqual(anonymous.json()["status"], "degraded")
        self.assertNotIn("Monitored CRM", anonymous.text, "backend names only for authenticated callers")

        response = self._health(authenticated=True)
        self.assertEqual(response.status_code, 200)
        report = response.json()
        self.assertEqual(report["status"], "degraded")
        self.assertEqual(report["checks"]["database"]["status"], "ok")
        self.assertEqual(
            report["checks"]["job_runner"],
            {
                "status": "ok",
                "stale_jobs": 0,
                "stale_after_minutes": 60,
                "detail": "no job waits for more than 60 minutes",
            },
        )
        backends = {row["name"]: row for row in report["checks"]["backends"]["backends"]}
        self.assertEqual(report["checks"]["backends"]["status"], "degraded")
        self.assertEqual(
            {key: backends["Monitored CRM"][key] for key in ("health", "circuit_state")},
            {"health": "down", "circuit_state": "open"},
        )
        self.assertEqual(
            {key: backends["Monitored billing"][key] for key in ("health", "failed_events_24h", "open_exceptions")},
            {"health": "degraded", "failed_events_24h": 2, "open_exceptions": 2},
        )

    def test_stale_jobs_mean_down_with_503(self):
        backend = self._create_backend("canonical", name="Stalled backend")
        event = self._ingest_message(backend, self._message("customer", "cus_stalled", {"name": "Stalled"}))
        self.assertEqual(self._health().status_code, 200, "a fresh job is not stale")
        self.env.cr.execute(
            "UPDATE queue_job SET date_created = date_created - interval '20 minutes' WHERE id IN %s",
            (tuple(event.job_ids.ids),),
        )
        response = self._health(authenticated=True)
        self.assertEqual(response.status_code, 503, response.text)
        report = response.json()
        self.assertEqual(report["status"], "down")
        self.assertEqual(report["checks"]["job_runner"]["status"], "down")
        self.assertEqual(report["checks"]["job_runner"]["stale_jobs"], 1)
        self.assertEqual(report["checks"]["backends"]["status"], "ok")

        # a longer allowance, or a job planned for later, is not stale
        self.env["ir.config_parameter"].sudo().set_param(STALE_JOBS_PARAM, "30")
        self.assertEqual(self._health().status_code, 200)
        self.env["ir.config_parameter"].sudo().set_param(STALE_JOBS_PARAM, "15")
        self.assertEqual(self._health().status_code, 503)
        self.env.cr.execute(
            "UPDATE queue_job SET eta = now() at time zone 'UTC' + interval '1 hour' WHERE id IN %s",
            (tuple(event.job_ids.ids),),
        )
        self.assertEqual(self._health().status_code, 200)
        # a job whose planned time passed long ago is stale again
        self.env.cr.execute(
            "UPDATE queue_job SET eta = now() at time zone 'UTC' - interval '1 hour' WHERE id IN %s",
            (tuple(event.job_ids.ids),),
        )
        self.assertEqual(self._health().status_code, 503)
