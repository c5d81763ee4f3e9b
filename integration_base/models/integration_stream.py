"""Batch streams: pull pages from a system's API into the same pipeline.

A stream saves its cursor in the same transaction as the events of the page
it just ingested, so a crash (a killed worker, a failed job) rolls both back
together and the next run starts from the last saved page: nothing is
skipped, and the inbox's unique key makes re-ingested items no-ops.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.queue_job.exception import RetryableJobError

from .. import netguard
from ..access import check_rights
from ..exceptions import RetryableError


class IntegrationStream(models.Model):
    _name = "integration.stream"
    _description = "Integration Stream"
    _inherit = ["mail.thread"]
    _order = "backend_id, stream"

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one("integration.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    stream = fields.Selection(selection="_selection_stream", required=True)
    active = fields.Boolean(default=True)
    scheduled = fields.Boolean(default=True, help="Run by the scheduler every interval; else only on demand.")
    interval_minutes = fields.Integer(default=60)
    next_run = fields.Datetime(default=fields.Datetime.now, index=True)
    state = fields.Selection(
        [("idle", "Idle"), ("running", "Running"), ("failed", "Failed")], default="idle", required=True, tracking=True
    )
    cursor = fields.Char(readonly=True, copy=False, help="Where the next page starts (saved after every page).")
    run_started = fields.Datetime(readonly=True)
    last_run_done = fields.Datetime(readonly=True)
    pages_done = fields.Integer(readonly=True)
    items_done = fields.Integer(readonly=True)
    items_new = fields.Integer(readonly=True, help="Items of this run not already in the inbox.")
    items_total = fields.Integer(readonly=True, help="Total announced by the API, when it tells.")
    progress = fields.Float(compute="_compute_progress")
    last_error = fields.Text(readonly=True)
    page_size = fields.Integer(default=100)

    _backend_stream_unique = models.Constraint("UNIQUE(backend_id, stream)", "A stream is defined once per backend.")

    @api.model
    def _selection_stream(self):
        selection = []
        for connector_type in self.env["integration.backend"]._fields["connector_type"].get_values(self.env):
            model = f"integration.connector.{connector_type}"
            if model in self.env:
                selection += self.env[model]._stream_selection()
        return selection

    @api.depends("backend_id.name", "stream")
    def _compute_name(self):
        labels = dict(self._selection_stream())
        for stream in self:
            stream.name = f"{stream.backend_id.name} / {labels.get(stream.stream, stream.stream)}"

    def _compute_progress(self):
        for stream in self:
            stream.progress = 100.0 * stream.items_done / stream.items_total if stream.items_total else 0.0

    # ------------------------------------------------------------------
    # Runs
    # ------------------------------------------------------------------
    @api.model
    def _cron_dispatch(self):
        """Scheduler: start the due streams (one job each)."""
        due = self.search(
            [("scheduled", "=", True), ("state", "!=", "running"), ("next_run", "<=", fields.Datetime.now())]
        )
        for stream in due:
            stream._start()
        return len(due)

    def action_run(self):
        """Start now (a backfill from the first page if the cursor is empty)."""
        check_rights(self, "write")
        for stream in self:
            if stream.state == "running":
                raise UserError(self.env._("%s is already running.", stream.name))
            stream._start()
            stream.message_post(body=self.env._("Run started by %s.", self.env.user.name))
        return True

    def action_reset_cursor(self):
        """Forget the cursor: the next run starts from the beginning (backfill)."""
        check_rights(self, "write")
        self.write({"cursor": False, "state": "idle", "last_error": False})
        for stream in self:
            stream.message_post(body=self.env._("Cursor reset by %s.", self.env.user.name))

    def _start(self):
        self.ensure_one()
        resume = self.state == "failed" and self.cursor
        vals = {
            "state": "running",
            "last_error": False,
            "next_run": fields.Datetime.now() + timedelta(minutes=self.interval_minutes),
        }
        if not resume:
            vals.update(run_started=fields.Datetime.now(), pages_done=0, items_done=0, items_new=0, items_total=0)
        self.write(vals)
        self._enqueue_page()

    def _enqueue_page(self):
        self.with_delay(
            channel=self.backend_id.job_channel,
            description=f"Stream {self.name}, page {self.pages_done + 1}",
            identity_key=f"integration.stream:{self.id}:{self.pages_done + 1}:{self.cursor or ''}",
        )._run_page()

    def _run_page(self):
        """Job: fetch one page from the saved cursor, ingest it, save the cursor."""
        self.ensure_one()
        if self.state != "running":
            return f"stream is {self.state}: nothing to do"
        backend = self.backend_id
        try:
            with netguard.guarded(backend._outbound_policy()):
                page = backend._connector()._stream_fetch(self, self.cursor or False)
        except RetryableError as exc:
            raise RetryableJobError(exc.message, seconds=int(exc.retry_after or 60)) from exc
        except Exception as exc:
            self.write({"state": "failed", "last_error": f"{exc.__class__.__name__}: {exc}"})
            self.message_post(
                body=self.env._("Run stopped at page %(page)s: %(error)s", page=self.pages_done + 1, error=exc)
            )
            return f"failed: {exc}"
        Event = self.env["integration.event"].sudo()
        new = 0
        for item in page["items"]:
            _event, created = Event._ingest(
                backend,
                {
                    "external_id": item["external_id"],
                    "event_type": item["event_type"],
                    "occurred_at": item.get("occurred_at"),
                },
                item["payload"],
                correlation_id=item.get("correlation_id"),
                source="stream",
            )
            new += created
        vals = {
            "cursor": page.get("cursor") or self.cursor,
            "pages_done": self.pages_done + 1,
            "items_done": self.items_done + len(page["items"]),
            "items_new": self.items_new + new,
        }
        if page.get("total"):
            vals["items_total"] = page["total"]
        if page.get("has_more"):
            self.write(vals)
            self._enqueue_page()
        else:
            vals.update(state="idle", last_run_done=fields.Datetime.now())
            self.write(vals)
        return f"page {vals['pages_done']}: {len(page['items'])} item(s), {new} new"

    def _on_page_failed(self, **fail_vals):
        """queue_job on_fail hook: the run stops, the cursor stays for a resume."""
        self.write({"state": "failed", "last_error": fail_vals.get("exc_message") or fail_vals.get("exc_info")})
