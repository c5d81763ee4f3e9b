import json
from datetime import UTC, datetime, timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_base.exceptions import PermanentError

from .common import TestConnectorMixin


@tagged("post_install", "-at_install")
class TestProcessing(TestConnectorMixin, TransactionCase):
    def test_retryable_error_backs_off_then_dead_letters(self):
        event, created = self._ingest(self._event_payload(fail="retryable"))
        self.assertTrue(created)
        before = fields.Datetime.now()  # seconds, as the stored ETA
        self.perform_jobs()
        # max_attempts = 3: three jobs, then dead with a technical exception
        self.assertEqual(event.state, "dead")
        self.assertEqual(event.attempts, 3)
        self.assertEqual(len(event.job_ids), 3)
        self.assertEqual(set(event.job_ids.mapped("state")), {"done"})
        etas = event.job_ids.sorted("id").mapped("eta")
        self.assertFalse(etas[0])
        self.assertTrue(all(eta and eta >= before for eta in etas[1:]), "retries are scheduled later")
        self.assertIn("unavailable", event.error_message)
        exc = event.exception_ids
        self.assertEqual(len(exc), 1)
        self.assertRecordValues(exc, [{"category": "technical", "kind": "technical", "state": "new"}])
        self.assertIn("3 attempts", exc.description)

    def test_permanent_error_fails_at_once_with_category(self):
        event, _created = self._ingest(self._event_payload(fail="permanent"))
        self.perform_jobs()
        self.assertEqual(event.state, "failed")
        self.assertEqual(event.attempts, 1)
        self.assertRecordValues(event.exception_ids, [{"category": "mapping", "kind": "business"}])

    def test_unexpected_error_is_a_technical_exception_with_traceback(self):
        event, _created = self._ingest(self._event_payload(fail="crash"))
        self.perform_jobs()
        self.assertEqual(event.state, "failed")
        self.assertIn("ValueError", event.error_message)
        self.assertIn("Traceback", event.error_traceback)
        self.assertEqual(event.exception_ids.category, "technical")

    def test_schema_violation_names_the_field(self):
        bad = self._message(
            "invoice",
            "in_1",
            {
                "customer_ref": "cus_x",
                "status": "open",
                "currency": "eur",
                "date": "2026-01-01",
                "lines": [],
                "total": "10.00",
            },
        )
        event, _created = self._ingest(self._event_payload([bad]))
        self.perform_jobs()
        self.assertEqual(event.state, "failed")
        exc = event.exception_ids
        self.assertEqual(exc.category, "schema_violation")
        self.assertEqual(exc.pointer, "/data/currency")
        self.assertIn("/data/currency", event.error_message)

    def test_work_of_a_failed_attempt_is_rolled_back(self):
        good = self._customer("cus_rb", name="Rolled Back")
        bad = self._message("customer", "cus_rb2", {"name": ""})
        event, _created = self._ingest(self._event_payload([good, bad]))
        self.perform_jobs()
        self.assertEqual(event.state, "failed")
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Rolled Back")]))
        self.assertFalse(self.env["integration.binding"].search([("external_id", "=", "cus_rb")]))

    def test_out_of_order_events_end_in_newest_state(self):
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        newest = self._customer("cus_ooo", name="Newest", occurred_at=t0 + timedelta(minutes=10))
        older = self._customer("cus_ooo", name="Older", occurred_at=t0 + timedelta(minutes=5))
        oldest = self._customer("cus_ooo", name="Oldest", occurred_at=t0)
        # update arrives before the create, and an old one after the new one
        for message in (older, newest, oldest):
            self._ingest(self._event_payload([message]))
        self.perform_jobs()
        partners = self.env["res.partner"].search([("name", "in", ("Newest", "Older", "Oldest"))])
        self.assertEqual(partners.mapped("name"), ["Newest"])
        binding = self.env["integration.binding"].search([("external_id", "=", "cus_ooo")])
        self.assertEqual(binding.res_id, partners.id)
        self.assertEqual(binding.source_ts, datetime(2026, 1, 1, 0, 10))
        stale_event = self.env["integration.event"].search([("note", "ilike", "stale")])
        self.assertEqual(len(stale_event), 1)
        self.assertEqual(stale_event.state, "done")
        self.assertEqual(stale_event.record_ids.action, "skipped")

    def test_source_version_beats_timestamps(self):
        now = datetime(2026, 2, 1, tzinfo=UTC)
        v2 = self._message("customer", "cus_v", {"name": "Version 2"}, occurred_at=now, source_version=2)
        v1 = self._message(
            "customer", "cus_v", {"name": "Version 1"}, occurred_at=now + timedelta(hours=1), source_version=1
        )
        first, _created = self._ingest(self._event_payload([v2]))
        second, _created = self._ingest(self._event_payload([v1]))
        self.perform_jobs()
        self.assertEqual((first.state, second.state), ("done", "done"), first.error_message)
        self.assertIn("stale", second.note)
        binding = self.env["integration.binding"].search([("external_id", "=", "cus_v")])
        self.assertEqual(binding._record().name, "Version 2")

    def test_replay_never_duplicates(self):
        event, _created = self._ingest(self._event_payload([self._customer("cus_rp", name="Replayed")]))
        self.perform_jobs()
        self.assertEqual(event.state, "done")
        event.action_replay()
        self.assertEqual(event.state, "queued")
        self.perform_jobs()
        self.assertEqual(event.state, "done")
        self.assertEqual(self.env["res.partner"].search_count([("name", "=", "Replayed")]), 1)
        self.assertEqual(self.env["integration.binding"].search_count([("external_id", "=", "cus_rp")]), 1)
        self.assertIn("Replay requested", event.message_ids.mapped("body")[0])

    def test_customer_identity_by_email_then_binding(self):
        existing = self.env["res.partner"].create({"name": "Known", "email": "known@example.com"})
        event, _created = self._ingest(
            self._event_payload([self._customer("cus_known", name="Known Inc", email="KNOWN@example.com")])
        )
        self.perform_jobs()
        self.assertEqual(event.record_ids.action, "linked")
        self.assertEqual(event.record_ids.res_id, existing.id)
        self.assertEqual(existing.name, "Known Inc")

    def test_ambiguous_customer_is_never_guessed(self):
        a = self.env["res.partner"].create({"name": "Twin A", "email": "twin@example.com"})
        b = self.env["res.partner"].create({"name": "Twin B", "vat": "BE0477472701"})
        event, _created = self._ingest(
            self._event_payload([self._customer("cus_twin", name="Twin", email="twin@example.com", vat="BE0477472701")])
        )
        self.perform_jobs()
        self.assertEqual(event.state, "failed")
        exc = event.exception_ids
        self.assertEqual(exc.category, "ambiguous_customer")
        self.assertEqual(exc.candidate_partner_ids, a | b)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Twin")]))
        # a person chooses B: the link is remembered and the event retried
        wizard = self.env["integration.exception.link.wizard"].create({"exception_id": exc.id, "partner_id": b.id})
        wizard.action_confirm()
        self.perform_jobs()
        self.assertEqual(event.state, "done")
        self.assertEqual(b.name, "Twin")
        self.assertEqual(exc.state, "resolved")
        self.assertTrue(any("linked cus_twin" in body for body in exc.message_ids.mapped("body")))

    def test_ownership_rule_blocks_non_authoritative_update(self):
        customer_type = self.env.ref("integration_base.canonical_type_customer")
        self.env["integration.ownership.rule"].create(
            {
                "canonical_type_id": customer_type.id,
                "field_names": "email, vat",
                "owner": "odoo",
                "on_conflict": "exception",
            }
        )
        self._ingest(self._event_payload([self._customer("cus_own", name="Owned", email="first@example.com")]))
        self.perform_jobs()
        partner = self.env["integration.binding"]._find_record(self.backend, "customer", "cus_own")
        self.assertEqual(partner.email, "first@example.com", "creation applies every field")
        partner.email = "odoo-owned@example.com"
        event, _created = self._ingest(
            self._event_payload([self._customer("cus_own", name="Owned Renamed", email="overwrite@example.com")])
        )
        self.perform_jobs()
        self.assertEqual(event.state, "done")
        self.assertEqual(partner.name, "Owned Renamed")
        self.assertEqual(partner.email, "odoo-owned@example.com")
        self.assertIn("email", event.note)
        self.assertRecordValues(event.exception_ids, [{"category": "ownership_conflict", "state": "new"}])

    def test_ownership_by_backend(self):
        other = self._create_backend("test", name="Other system")
        customer_type = self.env.ref("integration_base.canonical_type_customer")
        self.env["integration.ownership.rule"].create(
            {
                "canonical_type_id": customer_type.id,
                "field_names": "phone",
                "owner": "backend",
                "owner_backend_id": other.id,
            }
        )
        self._ingest(self._event_payload([self._customer("cus_ph", name="Phone", phone="+1 1")]))
        self.perform_jobs()
        partner = self.env["integration.binding"]._find_record(self.backend, "customer", "cus_ph")
        event, _created = self._ingest(self._event_payload([self._customer("cus_ph", name="Phone", phone="+2 2")]))
        self.perform_jobs()
        self.assertEqual(partner.phone, "+1 1")
        self.assertFalse(event.exception_ids, "skip rules note without an exception")
        self.assertIn("phone", event.note)

    def test_subscription_waits_for_its_customer(self):
        subscription = self._message(
            "subscription",
            "sub_1",
            {
                "customer_ref": "cus_late",
                "plan": {
                    "code": "pro",
                    "name": "Pro",
                    "amount": "49.00",
                    "currency": "USD",
                    "interval": "month",
                    "interval_count": 1,
                },
                "quantity": 2,
                "status": "active",
            },
        )
        sub_event, _created = self._ingest(self._event_payload([subscription]))
        self.perform_jobs()
        self.assertEqual(sub_event.state, "dead", "customer never came: dead letter after the retries")
        exc = sub_event.exception_ids
        self.assertEqual(exc.category, "unknown_customer")
        self.assertEqual(exc.link_external_id, "cus_late")
        # the customer arrives; retrying the exception now applies the subscription
        self._ingest(self._event_payload([self._customer("cus_late", name="Late")]))
        self.perform_jobs()
        exc.action_retry()
        self.perform_jobs()
        self.assertEqual(sub_event.state, "done")
        sub = self.env["integration.binding"]._find_record(self.backend, "subscription", "sub_1")
        self.assertRecordValues(
            sub, [{"plan_code": "pro", "quantity": 2, "entitlement_state": "active", "recurring_total": 98.0}]
        )
        self.assertEqual(exc.state, "resolved")

    def test_exception_actions_are_audited(self):
        event, _created = self._ingest(self._event_payload(fail="permanent"))
        self.perform_jobs()
        exc = event.exception_ids
        exc.action_take()
        self.assertEqual(exc.user_id, self.env.user)
        # edit the payload (drop the failure) and retry
        payload = json.loads(event.payload)
        payload.pop("fail")
        payload["messages"] = [self._customer("cus_edit", name="Edited")]
        wizard = (
            self.env["integration.exception.edit.wizard"]
            .with_context(active_id=exc.id)
            .create({"exception_id": exc.id})
        )
        self.assertIn('"fail": "permanent"', wizard.payload)
        wizard.payload = json.dumps(payload)
        wizard.action_confirm()
        self.perform_jobs()
        self.assertEqual(event.state, "done")
        self.assertEqual(exc.state, "resolved")
        bodies = " ".join(exc.message_ids.mapped("body"))
        self.assertIn("Payload edited by", bodies)
        self.assertIn("Retry requested by", bodies)
        self.assertTrue(self.env["res.partner"].search([("name", "=", "Edited")]))

    def test_ignore_needs_a_reason_and_marks_the_event(self):
        event, _created = self._ingest(self._event_payload(fail="permanent"))
        self.perform_jobs()
        exc = event.exception_ids
        with self.assertRaises(UserError):
            exc.action_ignore("  ")
        wizard = self.env["integration.exception.ignore.wizard"].create(
            {"exception_ids": [(6, 0, exc.ids)], "reason": "test noise"}
        )
        wizard.action_confirm()
        self.assertRecordValues(exc, [{"state": "ignored", "ignore_reason": "test noise"}])
        self.assertEqual(event.state, "ignored")
        self.assertIn("test noise", event.note)
        self.assertTrue(any("test noise" in body for body in exc.message_ids.mapped("body")))

    def test_bulk_retry(self):
        events = self.env["integration.event"]
        for _i in range(3):
            event, _created = self._ingest(self._event_payload(fail="permanent"))
            events |= event
        self.perform_jobs()
        exceptions = events.exception_ids
        self.assertEqual(len(exceptions), 3)
        for event in events:
            event.sudo().payload = json.dumps({"id": event.external_id, "type": "thing.updated", "messages": []})
        action = self.env.ref("integration_base.action_integration_exception_retry")
        action.with_context(active_model="integration.exception", active_ids=exceptions.ids).run()
        self.assertEqual(set(events.mapped("state")), {"queued"})
        self.perform_jobs()
        self.assertEqual(set(events.mapped("state")), {"ignored"}, "no canonical message: ignored, visibly")
        self.assertEqual(set(exceptions.mapped("state")), {"resolved"})

    def test_failed_followup_leaves_no_job_waiting(self):
        event, _created = self._ingest(self._event_payload([self._customer("cus_fu", name="Follow")]))
        self.perform_jobs()
        applier = self.env["integration.applier"]
        calls = []

        def _followup_notify(self_, event_, what):
            calls.append(what)
            raise PermanentError("helpdesk refused the note")

        type(applier)._followup_notify = _followup_notify
        try:
            event._enqueue_followup("notify", "paid")
            self.perform_jobs()
        finally:
            del type(applier)._followup_notify
        self.assertEqual(calls, ["paid"])
        self.assertEqual(event.state, "failed")
        self.assertIn("helpdesk refused", event.error_message)
        self.assertFalse(
            self.env["queue.job"].search([("state", "in", ("wait_dependencies", "pending", "enqueued", "started"))])
        )

    def test_retention_purges_payload_but_keeps_metadata(self):
        event, _created = self._ingest(self._event_payload([self._customer("cus_old", name="Old")]))
        failing, _created = self._ingest(self._event_payload(fail="permanent"))
        self.perform_jobs()
        (event | failing).write({"received_at": datetime.now() - timedelta(days=400)})
        self.env["ir.config_parameter"].set_param("integration_base.retention_days", 30)
        self.assertEqual(self.env["integration.event"]._cron_purge_payloads(), 1)
        self.assertRecordValues(event, [{"payload": False, "headers": False, "payload_purged": True, "state": "done"}])
        self.assertTrue(failing.payload, "an event with an open exception keeps its payload")
        with self.assertRaises(UserError):
            event.action_replay()

    def test_cancelled_or_failed_job_does_not_leave_the_event_queued(self):
        cancelled, _created = self._ingest(self._event_payload([self._customer("cus_cx", name="Cancelled")]))
        cancelled.job_ids.button_cancelled()
        self.assertEqual(cancelled.state, "failed")
        self.assertIn("cancelled", cancelled.error_message)
        self.assertEqual(cancelled.exception_ids.category, "technical")
        crashed, _created = self._ingest(self._event_payload([self._customer("cus_cr", name="Crashed")]))
        crashed.job_ids.sudo().write({"state": "failed", "exc_info": "Traceback: worker killed"})
        self.assertEqual(crashed.state, "failed")
        self.assertIn("worker killed", crashed.error_message)
        # retrying from the exception processes it for real
        crashed.exception_ids.action_retry()
        self.perform_jobs()
        self.assertEqual(crashed.state, "done")

    def test_routine_transitions_leave_no_chatter_but_failures_do(self):
        done, _created = self._ingest(self._event_payload([self._customer("cus_quiet", name="Quiet")]))
        failed, _created = self._ingest(self._event_payload(fail="permanent"))
        self.env = self.env(context=dict(self.env.context, tracking_disable=False))
        before = {event.id: len(event.message_ids) for event in done | failed}
        self.perform_jobs()
        self.assertEqual(len(done.message_ids), before[done.id], "queued -> processing -> done is not tracked")
        self.assertEqual(done.state, "done")
        self.assertEqual(failed.state, "failed")
        self.assertIn("Failed", failed.message_ids.tracking_value_ids.mapped("new_value_char"), "a failure is tracked")
