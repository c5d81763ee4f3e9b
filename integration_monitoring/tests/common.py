"""A small integration world built through the engine, for the monitoring tests.

Two backends of the built-in canonical connector, each on its own job
channel so the job counts are exact:

* *Monitored billing* (inbound): one event done, one failed (schema
  violation), one dead (unknown customer, attempts exhausted), one still
  queued and received five minutes ago;
* *Monitored CRM* (outbound customers): its endpoint answers 503, so the
  circuit breaker (threshold 1) opens and the outbound event waits for its
  retry.
"""

import json
import uuid

from odoo.addons.integration_base.tests.common import IntegrationCaseMixin, local_http_server

BILLING_CHANNEL = "root.integration.monitoring_billing"
CRM_CHANNEL = "root.integration.monitoring_crm"


class MonitoringCaseMixin(IntegrationCaseMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))

    def _ingest_message(self, backend, message):
        """What the webhook route does with a canonical message: store once, enqueue."""
        headers = {"webhook-id": f"msg_{uuid.uuid4().hex}"}
        identity = backend._connector()._webhook_identity(backend, message, headers)
        event, created = self.env["integration.event"]._ingest(backend, identity, json.dumps(message), headers=headers)
        self.assertTrue(created)
        return event

    def _build_world(self):
        self.billing = self._create_backend(
            "canonical", name="Monitored billing", job_channel=BILLING_CHANNEL, max_attempts=1
        )
        done = self._ingest_message(
            self.billing, self._message("customer", "cus_mon_1", {"name": "Monitored Ltd", "email": "mon@example.com"})
        )
        failed = self._ingest_message(
            self.billing, self._message("customer", "cus_mon_2", {"email": "nameless@example.com"})
        )
        dead = self._ingest_message(
            self.billing,
            self._message(
                "subscription",
                "sub_mon_1",
                {"customer_ref": "cus_unknown", "plan": {"code": "pro"}, "quantity": 1, "status": "active"},
            ),
        )
        self.perform_jobs()
        self.assertRecordValues(done | failed | dead, [{"state": "done"}, {"state": "failed"}, {"state": "dead"}])
        self.queued = self._ingest_message(self.billing, self._message("customer", "cus_mon_3", {"name": "Waiting"}))
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE integration_event SET received_at = received_at - interval '300 seconds' WHERE id = %s",
            (self.queued.id,),
        )
        self.queued.invalidate_recordset(["received_at"])

        self.crm = self._create_backend(
            "canonical",
            name="Monitored CRM",
            job_channel=CRM_CHANNEL,
            max_attempts=5,
            circuit_threshold=1,
            outbound_type_ids=[(6, 0, self.env.ref("integration_base.canonical_type_customer").ids)],
        )
        with local_http_server(lambda *args: (503, {}, {"error": "maintenance"})) as server:
            self.crm.api_url = server.url
            self.env["res.partner"].create({"name": "Pushed to CRM"})
            outbound = self._events(self.crm, direction="out")
            self.assertEqual(len(outbound), 1)
            self._run_job(outbound.job_ids.uuid)
        self.assertEqual(len(server.calls), 1)
        self.assertEqual(outbound.state, "queued", "the 503 is retried later")
        self.assertEqual(self.crm.circuit_state, "open")
        self.outbound = outbound
        self.env.flush_all()
