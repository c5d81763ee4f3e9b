from prometheus_client.parser import text_string_to_metric_families

from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..const import TOKEN_PARAM
from .common import BILLING_CHANNEL, CRM_CHANNEL, MonitoringCaseMixin

METRICS = "/integration/metrics"


def _samples(text):
    """{metric sample name: {frozenset(labels): value}} of an exposition."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


@tagged("post_install", "-at_install")
class TestMetricsEndpoint(MonitoringCaseMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = cls.env["ir.config_parameter"].sudo().get_param(TOKEN_PARAM)

    def _scrape(self, token=None, **headers):
        if token is not False:
            headers["Authorization"] = f"Bearer {token or self.token}"
        self.env.flush_all()
        return self.url_open(METRICS, headers=headers)

    def _value(self, samples, name, **labels):
        return samples[name][frozenset({key: str(value) for key, value in labels.items()}.items())]

    def _backend_labels(self, backend):
        return {"backend": backend.name, "backend_id": backend.id, "connector": "canonical"}

    def test_token_is_generated_at_install(self):
        self.assertTrue(self.token)
        self.assertGreaterEqual(len(self.token), 40)

    @mute_logger("odoo.addons.integration_monitoring.controllers.main")
    def test_refused_without_valid_credentials(self):
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": f"Basic {self.token}"},
            {"Authorization": "Bearer "},
        ):
            self.env.flush_all()
            response = self.url_open(METRICS, headers=headers)
            self.assertEqual(response.status_code, 401, headers)
            self.assertEqual(response.headers["WWW-Authenticate"], 'Bearer realm="integration"')
            self.assertNotIn("integration_events", response.text)

    @mute_logger("odoo.addons.integration_monitoring.controllers.main")
    def test_empty_token_parameter_refuses_every_bearer(self):
        self.env["ir.config_parameter"].sudo().set_param(TOKEN_PARAM, "")
        # an empty stored token must not match an empty or any sent token
        self.assertEqual(self._scrape(token=" ").status_code, 401)
        self.assertEqual(self._scrape(token="x").status_code, 401)

    @mute_logger("odoo.addons.integration_monitoring.controllers.main")
    def test_neutralized_copy_refuses_the_production_token(self):
        self.assertEqual(self._scrape().status_code, 200)
        for query in get_neutralization_queries(["integration_monitoring"]):
            self.env.cr.execute(query)
        self.env.registry.clear_cache("stable")
        self.assertFalse(self.env["ir.config_parameter"].sudo().get_param(TOKEN_PARAM))
        self.assertEqual(self._scrape().status_code, 401)

    @mute_logger("odoo.addons.integration_monitoring.controllers.main")
    def test_manager_session_is_accepted_user_session_is_not(self):
        new_test_user(
            self.env, login="mon_user", groups="integration_base.group_integration_user", password="mon_user_pw1"
        )
        self.authenticate("mon_user", "mon_user_pw1")
        self.assertEqual(self._scrape(token=False).status_code, 401)
        self.authenticate("admin", "admin")
        response = self._scrape(token=False)
        self.assertEqual(response.status_code, 200)
        self.assertIn("integration_events", response.text)
        # a wrong token is refused even with a manager's session
        self.assertEqual(self._scrape(token="wrong").status_code, 401)

    def test_metrics_describe_the_engine_state(self):
        baseline = _samples(self._scrape().text)
        self._build_world()
        response = self._scrape()
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        samples = _samples(response.text)
        billing, crm = self._backend_labels(self.billing), self._backend_labels(self.crm)

        # events by backend, direction and state; zeros are emitted too
        for state, count in {"done": 1, "failed": 1, "dead": 1, "queued": 1, "processing": 0, "ignored": 0}.items():
            self.assertEqual(
                self._value(samples, "integration_events", direction="in", state=state, **billing), count, state
            )
        self.assertEqual(self._value(samples, "integration_events", direction="out", state="queued", **crm), 1)
        self.assertEqual(self._value(samples, "integration_events", direction="in", state="queued", **crm), 0)

        # dead letters
        self.assertEqual(self._value(samples, "integration_dead_letters", direction="in", **billing), 1)
        self.assertEqual(self._value(samples, "integration_dead_letters", direction="out", **crm), 0)

        # oldest waiting event: received five minutes ago
        age = self._value(samples, "integration_oldest_queued_event_age_seconds", **billing)
        self.assertGreaterEqual(age, 300)
        self.assertLess(age, 400)
        self.assertLess(self._value(samples, "integration_oldest_queued_event_age_seconds", **crm), 100)

        # open exceptions by category and severity: one more of each
        def exceptions(metrics, category):
            return self._value(metrics, "integration_open_exceptions", category=category, severity="medium")

        self.assertEqual(exceptions(samples, "schema_violation") - exceptions(baseline, "schema_violation"), 1)
        self.assertEqual(exceptions(samples, "unknown_customer") - exceptions(baseline, "unknown_customer"), 1)
        self.assertEqual(exceptions(samples, "amount_mismatch"), exceptions(baseline, "amount_mismatch"))

        # queue_job jobs by channel and state: 3 done + the waiting one; the send and its retry
        self.assertEqual(self._value(samples, "integration_queue_jobs", channel=BILLING_CHANNEL, state="done"), 3)
        self.assertEqual(self._value(samples, "integration_queue_jobs", channel=BILLING_CHANNEL, state="pending"), 1)
        self.assertEqual(self._value(samples, "integration_queue_jobs", channel=BILLING_CHANNEL, state="failed"), 0)
        self.assertEqual(self._value(samples, "integration_queue_jobs", channel=CRM_CHANNEL, state="done"), 1)
        self.assertEqual(self._value(samples, "integration_queue_jobs", channel=CRM_CHANNEL, state="pending"), 1)

        # circuit breaker and health (state sets: 1 for the current state)
        circuit = "integration_backend_circuit_state"
        self.assertEqual(self._value(samples, circuit, integration_backend_circuit_state="open", **crm), 1)
        self.assertEqual(self._value(samples, circuit, integration_backend_circuit_state="closed", **crm), 0)
        self.assertEqual(self._value(samples, circuit, integration_backend_circuit_state="closed", **billing), 1)
        self.assertEqual(self._value(samples, "integration_backend_circuit_failures", **crm), 1)
        health = "integration_backend_health"
        self.assertEqual(self._value(samples, health, integration_backend_health="down", **crm), 1)
        self.assertEqual(self._value(samples, health, integration_backend_health="degraded", **billing), 1)
        self.assertEqual(self._value(samples, health, integration_backend_health="ok", **billing), 0)

    def test_archived_backend_keeps_its_event_series_only(self):
        self._build_world()
        self.crm.active = False
        samples = _samples(self._scrape().text)
        crm = self._backend_labels(self.crm)
        self.assertEqual(self._value(samples, "integration_events", direction="out", state="queued", **crm), 1)
        self.assertNotIn(
            frozenset({k: str(v) for k, v in crm.items()}.items()), samples["integration_backend_circuit_failures"]
        )

    def test_openmetrics_is_served_when_asked(self):
        response = self._scrape(Accept="application/openmetrics-text; version=1.0.0")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("application/openmetrics-text"))
        self.assertTrue(response.text.endswith("# EOF\n"))


@tagged("post_install", "-at_install")
class TestMetricsQueries(MonitoringCaseMixin, TransactionCase):
    def _snapshot_queries(self):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        snapshot = self.env["integration.monitor"]._metrics_snapshot()
        return self.env.cr.sql_log_count - before, snapshot

    def test_query_count_does_not_grow_with_the_data(self):
        self._build_world()
        queries, snapshot = self._snapshot_queries()
        for index in range(15):
            self._ingest_message(
                self.billing, self._message("customer", f"cus_more_{index}", {"name": f"More {index}"})
            )
        queries_after, snapshot_after = self._snapshot_queries()
        self.assertEqual(queries_after, queries, "aggregate queries only: no query per event")
        queued = {
            row["count"]
            for row in snapshot_after["events"]
            if row["backend_id"] == self.billing.id and row["direction"] == "in" and row["state"] == "queued"
        }
        self.assertEqual(queued, {16})
