"""The AMQP consumer runner: queue messages into the inbox, continuously.

How it runs
-----------
Like queue_job's job runner, the consumer lives in the Odoo server itself:
add ``integration_amqp`` to the server-wide modules (``setup/run`` does)::

    server_wide_modules = base,web,queue_job,integration_amqp

* **With workers** (prefork, production): the master process spawns one
  ``WorkerAmqpConsumer`` process beside the HTTP and cron workers and
  supervises it as it does them: killed, crashed or over its memory limit,
  it is spawned again within a second; on shutdown it gets the same signal
  as the others and stops cleanly. Nothing else to deploy, start or watch.
* **Threaded server** (``workers = 0``, development): a thread.

Why not a separate process started by a script: it would need its own
supervision, its own configuration and its own copy of the registry-loading
code, and would go unnoticed when it dies; the prefork master already does
all of that for its workers. Several Odoo servers consuming the same queue
are competing consumers: the broker shares the messages out, each message
is stored once (message id), so scaling out needs no coordination.

What it does
------------
Every ``RESCAN_SECONDS`` it looks, in each database with integration_amqp
installed (``db_name`` of the configuration, else every database), for
active backends of type ``amqp`` with *Consume the queue* set, and keeps one
:class:`~.consumer.QueueConsumer` per backend (re-created when its settings
change, closed when the backend is archived). Then it pumps them in turn:
fetch a batch (``amqp_batch_size``), store it with
``integration.amqp.inbox._receive`` in one transaction, **commit, then
settle** (ack / dead-letter). If the database fails, nothing is settled and
the messages go back to the queue.

A consumer whose broker is away reconnects with exponential backoff and
jitter (1 s doubling to 30 s) and shows *Reconnecting* and the reason on its
backend. Stopping closes every connection with the AMQP closing handshake:
what was fetched and not settled is returned to the queue by the broker.
"""

import logging
import threading
import time

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.service import server
from odoo.sql_db import db_connect
from odoo.tools import config

from .const import RESCAN_SECONDS

_logger = logging.getLogger(__name__)

#: the Worker loop gets control back this often (watchdog ping, memory and CPU limits)
WORK_SLICE_SECONDS = 10.0
WATCHDOG_SECONDS = 120


def is_enabled():
    return "integration_amqp" in (config["server_wide_modules"] or [])


def _databases():
    names = config["db_name"] or []
    if isinstance(names, str):
        names = [name for name in names.split(",") if name]
    if not names:
        from odoo.service.db import list_dbs

        names = list_dbs(force=True)
    found = []
    for name in names:
        try:
            with db_connect(name).cursor() as cr:
                cr.execute("SELECT 1 FROM ir_module_module WHERE name = 'integration_amqp' AND state = 'installed'")
                if cr.fetchone():
                    found.append(name)
        except Exception:
            _logger.debug("AMQP runner: database %s skipped", name, exc_info=True)
    return found


class ConsumerRunner:
    """Keeps one consumer per consuming backend and pumps them in turn."""

    def __init__(self, databases=None):
        self.fixed_databases = databases
        self.stopping = threading.Event()
        #: (db, backend id) -> dict(key=settings tuple, consumer=QueueConsumer, batch=int)
        self.consumers = {}
        self.next_scan = 0.0

    # ------------------------------------------------------------------
    # Backends
    # ------------------------------------------------------------------
    def _cursor(self, db):
        return Registry(db).cursor()

    def _wanted(self, db):
        with self._cursor(db) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backends = env["integration.backend"].search([("connector_type", "=", "amqp"), ("amqp_consume", "=", True)])
            return {
                (db, backend.id): {
                    "settings": backend._amqp_settings(),
                    "topology": backend._amqp_topology(),
                    "prefetch": backend.amqp_prefetch or 50,
                    "batch": backend.amqp_batch_size or 20,
                    "name": backend.name,
                }
                for backend in backends
            }

    def scan(self):
        """Start, restart or stop consumers to match the backends."""
        from .consumer import QueueConsumer

        wanted, failed_dbs = {}, set()
        for db in self.fixed_databases or _databases():
            try:
                wanted.update(self._wanted(db))
            except Exception as exc:
                failed_dbs.add(db)
                _logger.info("AMQP runner: cannot read the backends of %s: %s", db, exc)
        for key in list(self.consumers):
            entry = self.consumers[key]
            spec = wanted.get(key)
            if key[0] in failed_dbs:
                continue
            if spec is None or (spec["settings"], spec["topology"], spec["prefetch"]) != entry["key"]:
                entry["consumer"].close()
                del self.consumers[key]
                if spec is None:
                    self._report(key, "off")
        for key, spec in wanted.items():
            if key in self.consumers:
                self.consumers[key]["batch"] = spec["batch"]
                continue
            consumer = QueueConsumer(
                spec["settings"],
                spec["topology"],
                prefetch=spec["prefetch"],
                on_state=lambda state, error, key=key: self._report(key, state, error),
                sleep=self.stopping.wait,
            )
            self.consumers[key] = {
                "key": (spec["settings"], spec["topology"], spec["prefetch"]),
                "consumer": consumer,
                "batch": spec["batch"],
            }
        self.next_scan = time.monotonic() + RESCAN_SECONDS

    def _report(self, key, state, error=None):
        db, backend_id = key
        try:
            with self._cursor(db) as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env["integration.backend"].browse(backend_id).exists()._amqp_set_consumer_state(state, error)
        except Exception as exc:
            _logger.info("AMQP runner: cannot record the consumer state of backend %s: %s", backend_id, exc)

    # ------------------------------------------------------------------
    # Messages
    # ------------------------------------------------------------------
    def pump(self, key, wait):
        """One batch of one backend: fetch, store and commit, then settle.

        :return: the number of deliveries handled
        """
        entry = self.consumers[key]
        consumer = entry["consumer"]
        deliveries = consumer.fetch(entry["batch"], wait)
        if not deliveries:
            return 0
        db, backend_id = key
        try:
            with self._cursor(db) as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                backend = env["integration.backend"].browse(backend_id)
                acks, rejects = env["integration.amqp.inbox"]._receive(backend, deliveries)
            # the cursor committed on leaving the block: now the broker may forget them
        except Exception as exc:
            _logger.info("AMQP runner: batch of %s not stored (%s): requeued", len(deliveries), exc)
            consumer.settle(requeues=deliveries)
            self.stopping.wait(1.0)
            return 0
        consumer.settle(acks=acks, rejects=rejects)
        return len(deliveries)

    def run_once(self, wait=1.0):
        if time.monotonic() >= self.next_scan:
            self.scan()
        if not self.consumers:
            self.stopping.wait(wait)
            return 0
        handled = 0
        for key in list(self.consumers):
            if self.stopping.is_set():
                break
            handled += self.pump(key, wait / len(self.consumers))
        return handled

    def run(self, duration=None):
        """Pump until stopped (or for ``duration`` seconds, then return with the connections open)."""
        deadline = time.monotonic() + duration if duration else None
        while not self.stopping.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                self.run_once()
            except Exception:
                _logger.exception("AMQP runner: unexpected error, going on in 5 s")
                self.stopping.wait(5)

    def stop(self):
        """Ask :meth:`run` to return (safe from a signal handler or another thread)."""
        self.stopping.set()

    def close(self):
        for entry in self.consumers.values():
            entry["consumer"].close()
        for key in list(self.consumers):
            self._report(key, "off")
        self.consumers = {}


# ----------------------------------------------------------------------
# Server integration (as queue_job's jobrunner/__init__.py)
# ----------------------------------------------------------------------
class ConsumerThread(threading.Thread):
    def __init__(self):
        super().__init__(name="integration_amqp consumer", daemon=True)
        self.runner = ConsumerRunner()

    def run(self):
        self.runner.run()
        self.runner.close()


class WorkerAmqpConsumer(server.Worker):
    """The consumer as a prefork worker, supervised by the master."""

    def __init__(self, multi):
        super().__init__(multi)
        self.watchdog_timeout = WATCHDOG_SECONDS
        self.runner = ConsumerRunner()

    def sleep(self):
        pass  # the runner waits on the broker's sockets itself

    def signal_handler(self, sig, frame):
        result = super().signal_handler(sig, frame)
        self.runner.stop()
        return result

    def process_work(self):
        self.runner.run(duration=WORK_SLICE_SECONDS)

    def stop(self):
        self.runner.close()
        return super().stop()


_thread = None
_orig_prefork_init = server.PreforkServer.__init__
_orig_process_spawn = server.PreforkServer.process_spawn
_orig_worker_pop = server.PreforkServer.worker_pop
_orig_threaded_start = server.ThreadedServer.start
_orig_threaded_stop = server.ThreadedServer.stop


def _prefork_init(self, app):
    _orig_prefork_init(self, app)
    self.integration_amqp_consumers = {}


def _process_spawn(self):
    _orig_process_spawn(self)
    consumers = getattr(self, "integration_amqp_consumers", None)
    if consumers is not None and not consumers and is_enabled():
        self.worker_spawn(WorkerAmqpConsumer, consumers)


def _worker_pop(self, pid):
    result = _orig_worker_pop(self, pid)
    getattr(self, "integration_amqp_consumers", {}).pop(pid, None)
    return result


def _threaded_start(self, *args, **kwargs):
    global _thread
    result = _orig_threaded_start(self, *args, **kwargs)
    if is_enabled() and not kwargs.get("stop") and not config["stop_after_init"] and _thread is None:
        _logger.info("starting the AMQP consumer thread")
        _thread = ConsumerThread()
        _thread.start()
    return result


def _threaded_stop(self):
    global _thread
    if _thread is not None:
        _thread.runner.stop()
        _thread.join(timeout=15)
        _thread = None
    return _orig_threaded_stop(self)


server.PreforkServer.__init__ = _prefork_init
server.PreforkServer.process_spawn = _process_spawn
server.PreforkServer.worker_pop = _worker_pop
server.ThreadedServer.start = _threaded_start
server.ThreadedServer.stop = _threaded_stop
