from urllib.parse import parse_qs, urlsplit

from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_base.tests.common import local_http_server

from .common import TestConnectorMixin

ITEMS = [{"id": f"evt_{i:03d}", "type": "thing.updated", "created": 1767225600 + i, "messages": []} for i in range(25)]


@tagged("post_install", "-at_install")
class TestStream(TestConnectorMixin, TransactionCase):
    def _responder(self, fail_on_cursor=None):
        state = {"failed": False}

        def responder(method, path, headers, body):
            query = parse_qs(urlsplit(path).query)
            cursor = query.get("cursor", [""])[0]
            limit = int(query["limit"][0])
            if cursor == fail_on_cursor and not state["failed"]:
                state["failed"] = True
                return 400, {}, {"error": "bad cursor"}
            start = next((i + 1 for i, item in enumerate(ITEMS) if item["id"] == cursor), 0)
            page = ITEMS[start : start + limit]
            return 200, {}, {"data": page, "has_more": start + limit < len(ITEMS), "total": len(ITEMS)}

        return responder

    def test_backfill_resumes_from_its_cursor_after_an_interruption(self):
        stream = self.env["integration.stream"].create(
            {"backend_id": self.backend.id, "stream": "items", "page_size": 10}
        )
        with local_http_server(self._responder(fail_on_cursor="evt_009")) as server:
            self.backend.api_url = server.url
            stream.action_run()
            self.perform_jobs()
            self.assertEqual(stream.state, "failed")
            self.assertEqual(stream.cursor, "evt_009", "the cursor of the last complete page is kept")
            self.assertEqual(stream.pages_done, 1)
            self.assertIn("400", stream.last_error)
            self.assertEqual(len(self._events(self.backend)), 10)
            stream.action_run()
            self.perform_jobs()
        self.assertEqual(stream.state, "idle")
        self.assertEqual(stream.pages_done, 3)
        self.assertEqual(stream.items_done, 25)
        self.assertEqual(stream.items_total, 25)
        self.assertEqual(stream.progress, 100.0)
        self.assertEqual(stream.cursor, "evt_024")
        events = self._events(self.backend)
        self.assertEqual(len(events), 25)
        self.assertEqual(sorted(events.mapped("external_id")), [item["id"] for item in ITEMS])
        self.assertEqual(set(events.mapped("source")), {"stream"})
        self.assertEqual(set(events.mapped("state")), {"ignored"}, "items without messages are visible as ignored")
        # the first request started from no cursor; the resume asked for the page after evt_009 again
        cursors = [parse_qs(urlsplit(call["path"]).query).get("cursor", [""])[0] for call in server.calls]
        self.assertEqual(cursors, ["", "evt_009", "evt_009", "evt_019"])

    def test_second_run_from_scratch_creates_no_duplicates(self):
        stream = self.env["integration.stream"].create(
            {"backend_id": self.backend.id, "stream": "items", "page_size": 50}
        )
        with local_http_server(self._responder()) as server:
            self.backend.api_url = server.url
            stream.action_run()
            self.perform_jobs()
            stream.action_reset_cursor()
            stream.action_run()
            self.perform_jobs()
        self.assertEqual(len(self._events(self.backend)), 25)
        self.assertEqual(stream.items_new, 0)

    def test_cron_starts_due_streams_only(self):
        due = self.env["integration.stream"].create(
            {"backend_id": self.backend.id, "stream": "items", "next_run": "2000-01-01"}
        )
        other = self._create_backend("test", name="Not due")
        later = self.env["integration.stream"].create(
            {"backend_id": other.id, "stream": "items", "next_run": "2999-01-01"}
        )
        self.assertEqual(self.env["integration.stream"]._cron_dispatch(), 1)
        self.assertEqual(due.state, "running")
        self.assertEqual(later.state, "idle")
