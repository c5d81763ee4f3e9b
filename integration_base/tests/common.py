"""Test helpers shared by every integration_* addon.

* :class:`IntegrationCaseMixin` -- backends, canonical messages, and
  :meth:`~IntegrationCaseMixin.perform_jobs`, which runs the ``queue.job``
  rows stored by the code under test the way queue_job's runner does
  (retryable errors postponed, failures stored and ``on_fail`` called).
* :class:`LocalHttpServer` / :func:`local_http_server` -- a real HTTP
  server on 127.0.0.1 with a scripted responder, for outbound and API calls
  (``http_server.py``, shared with bench/).
"""

import json
import traceback
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from odoo import fields
from odoo.tests import common

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job

from ..netguard import ALLOWED_HOSTS_PARAM
from .http_server import LocalHttpServer, local_http_server

__all__ = ["IntegrationCaseMixin", "LocalHttpServer", "local_http_server", "new_id"]


class IntegrationCaseMixin:
    """Helpers for TransactionCase / HttpCase tests of the suite."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the tests' local servers (and localstripe) listen on 127.0.0.1:
        # outbound calls may reach them, as a system administrator would allow
        cls.env["ir.config_parameter"].sudo().set_param(ALLOWED_HOSTS_PARAM, "127.0.0.1")

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # Odoo raises timeouts under 10 s to 10 s during tests; our timeout
        # tests talk to a local server and need the configured value.
        if urlsplit(r.url).hostname in ("127.0.0.1", "localhost"):
            return common._super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    @classmethod
    def _create_backend(cls, connector_type, **vals):
        values = {
            "name": f"{connector_type} backend",
            "connector_type": connector_type,
            "webhook_secret": "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=",
            "retry_base_seconds": 1,
        }
        values.update(vals)
        return cls.env["integration.backend"].create(values)

    @staticmethod
    def _message(type_, external_id, data, occurred_at=None, **envelope):
        occurred = occurred_at or datetime.now(UTC)
        message = {
            "type": type_,
            "schema_version": "1.0",
            "source": "test",
            "external_id": external_id,
            "occurred_at": occurred.isoformat().replace("+00:00", "Z") if isinstance(occurred, datetime) else occurred,
            "data": data,
        }
        message.update(envelope)
        return message

    def perform_jobs(self, max_rounds=30):
        """Run every pending job (ignoring ETAs) until none is left.

        :return: the number of job executions
        """
        runs = 0
        for _round in range(max_rounds):
            records = self.env["queue.job"].sudo().search([("state", "=", "pending")], order="date_created, id")
            if not records:
                return runs
            for record in records:
                self._run_job(record.uuid)
                runs += 1
        raise AssertionError(f"jobs still pending after {max_rounds} rounds")

    def _run_job(self, uuid_):
        env = self.env(su=True)
        job = Job.load(env, uuid_)
        job.set_started()
        job.store()
        try:
            with env.cr.savepoint():
                job.perform()
            job.set_done()
            job.store()
        except RetryableJobError as err:
            job.postpone(result=str(err), seconds=err.seconds)
            job.set_pending(reset_retry=False)
            job.store()
        except Exception as err:
            vals = {"exc_name": err.__class__.__name__, "exc_message": str(err), "exc_info": traceback.format_exc()}
            job.set_failed(**vals)
            job.store()
            job.on_fail(vals)
        env.flush_all()

    def _ingest_canonical(self, backend, messages):
        """Store each canonical message as an inbound event of ``backend`` (what
        the canonical connector's route stores), run the jobs, return the events."""
        Event = self.env["integration.event"]
        events = Event
        for message in messages:
            event, _created = Event._ingest(
                backend,
                {"external_id": uuid.uuid4().hex, "event_type": message["type"], "occurred_at": None},
                json.dumps(message),
            )
            events |= event
        self.perform_jobs()
        return events

    def _events(self, backend, **domain):
        search = [("backend_id", "=", backend.id)] + [(key, "=", value) for key, value in domain.items()]
        return self.env["integration.event"].search(search)

    @staticmethod
    def _now():
        return fields.Datetime.now()


def new_id(prefix="evt"):
    return f"{prefix}_{uuid.uuid4().hex[:16]}"
