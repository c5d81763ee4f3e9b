from odoo import models

from ..exceptions import PermanentError


class QueueJob(models.Model):
    _inherit = "queue.job"

    def write(self, vals):
        result = super().write(vals)
        if vals.get("state") in ("failed", "cancelled"):
            self._integration_job_failed()
        return result

    def _integration_job_failed(self):
        """A job of an event failed outside the engine's own handling.

        The engine catches the errors it knows; this covers the rest (queue_job
        gave up after repeated concurrency failures, a worker crash loop...):
        the event must not stay *queued* forever without anyone knowing.
        """
        events = (
            self.env["integration.event"]
            .sudo()
            .search([("job_ids", "in", self.ids), ("state", "in", ("queued", "processing"))])
        )
        for event in events:
            job = (self & event.job_ids)[:1]
            if job.state == "cancelled":
                error = PermanentError(f"job {job.uuid} was cancelled: the event was not processed")
            else:
                error = PermanentError(f"job {job.uuid} failed: {(job.exc_info or job.exc_message or '')[-2000:]}")
            event._set_failed(error)
            self.env["integration.exception"]._open_for_event(event, error)
