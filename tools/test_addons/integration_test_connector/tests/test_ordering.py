"""Events of the same second: the object decides, not the arrival order.

A canceled subscription (a final state) is never reopened by an event of
the same time, unless the connector's API says the object is in another
state now (``_current_message``: the test connector reads it from its API
URL).
"""

from datetime import UTC, datetime

from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_base.tests.common import local_http_server

from .common import TestConnectorMixin

T0 = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)


@tagged("post_install", "-at_install")
class TestSameSecondOrdering(TestConnectorMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        self._ingest(self._event_payload([self._customer("cus_tie", name="Tie Customer")]))
        self.perform_jobs()

    def _subscription(self, status, occurred_at=T0, action="upsert"):
        data = {"customer_ref": "cus_tie", "plan": {"code": "pro"}, "quantity": 1, "status": status}
        return self._message("subscription", "sub_tie", data, occurred_at=occurred_at, action=action)

    def _feed(self, *messages):
        events = self.env["integration.event"]
        for message in messages:
            events |= self._ingest(self._event_payload([message]))[0]
        self.perform_jobs()
        return events

    def _sub(self):
        return self.env["integration.binding"]._find_record(self.backend, "subscription", "sub_tie")

    def test_a_final_state_is_not_left_by_an_event_of_the_same_second(self):
        self._feed(self._subscription("active", occurred_at=datetime(2026, 6, 1, tzinfo=UTC)))
        canceled, reopened = self._feed(self._subscription("canceled"), self._subscription("active"))
        self.assertEqual(self._sub().status, "canceled")
        self.assertEqual(reopened.state, "done")
        self.assertIn("a final state is only left by a newer event", reopened.note)
        self.assertEqual(reopened.record_ids.action, "skipped")
        # the same event one second later is newer: applied
        self._feed(self._subscription("active", occurred_at=datetime(2026, 6, 1, 12, 0, 1, tzinfo=UTC)))
        self.assertEqual(self._sub().status, "active")

    def test_the_object_decides_when_the_api_can_tell(self):
        current = {"status": "canceled"}

        def api(method, path, headers, body):
            if path == "/current/subscription/sub_tie":
                data = {"customer_ref": "cus_tie", "plan": {"code": "pro"}, "quantity": 1, "status": current["status"]}
                return 200, {}, self._message("subscription", "sub_tie", data, occurred_at=T0)
            return 404, {}, {"error": "not found"}

        self._feed(self._subscription("active", occurred_at=datetime(2026, 6, 1, tzinfo=UTC)))
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            self._feed(self._subscription("canceled"), self._subscription("active"))
            self.assertEqual(self._sub().status, "canceled", "the API says canceled: the update was older")
            self.assertIn("/current/subscription/sub_tie", [call["path"] for call in server.calls])
            # at the source the subscription is active again (a same-second reactivation the API confirms)
            current["status"] = "active"
            reactivated = self._feed(self._subscription("active"))
            self.assertEqual(self._sub().status, "active")
            self.assertIn("the current state read from", reactivated.note)

    def test_a_delete_is_final_for_any_type(self):
        self._feed(self._customer("cus_gone", name="Gone", occurred_at=datetime(2026, 6, 1, tzinfo=UTC)))
        deleted = self._message("customer", "cus_gone", {"name": "Gone"}, occurred_at=T0, action="delete")
        revived = self._customer("cus_gone", name="Revived", occurred_at=T0)
        self._feed(deleted, revived)
        partner = self.env["integration.binding"]._find_record(self.backend, "customer", "cus_gone")
        self.assertEqual((partner.name, partner.active), ("Gone", False))
