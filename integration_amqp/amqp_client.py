"""Every AMQP call of the suite goes through here (no ORM here).

As ``integration_base.http_client`` is the one HTTP entry point, this module
is the one broker entry point:

* :class:`BrokerSettings` -- where and how to connect, parsed from the
  backend's ``amqp://`` / ``amqps://`` URL (credentials are separate fields,
  never in the URL);
* :func:`connect` -- a connection with a connect timeout, a write timeout and
  a bounded AMQP handshake;
* :class:`Publisher` -- persistent messages to a durable topic exchange with
  publisher confirms, each confirm awaited at most ``io_timeout`` seconds;
* :func:`broker_error` -- every failure mapped onto the engine's
  retryable/permanent hierarchy, with a message a person can read.

The client is py-amqp (``amqp`` on PyPI, the client under Celery and kombu).
It was chosen over pika because its publish waits for the broker's confirm
with a timeout and its socket has write timeouts: a broker that stops
answering (a blocked port, a partition) costs a job at most ``io_timeout``
seconds. pika's BlockingConnection waits for a confirm until heartbeats fail
the connection (heartbeat + 5 s at best) and logs each lost connection at
ERROR.

A confirm that never came is an error here: the caller keeps the message and
publishes it again later, with the same ``message_id``; consumers deduplicate
on it. Nothing here sleeps or retries in a loop: the queue job that called
turns a :class:`RetryableError` into a later attempt.
"""

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import amqp
from amqp import exceptions as amqp_exc

from odoo.addons.integration_base.exceptions import IntegrationError, PermanentError, RetryableError

from .const import APP_ID, CONTENT_TYPE, PERSISTENT

_logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671}

#: errors that mean "the connection is gone" (broker restart, network, proxy)
CONNECTION_ERRORS = (
    OSError,  # ConnectionError, socket.timeout (TimeoutError) included
    amqp_exc.RecoverableConnectionError,
    amqp_exc.ConnectionForced,
    amqp_exc.IrrecoverableConnectionError,
)


@dataclass(frozen=True)
class BrokerSettings:
    """Where a backend's broker is and how long to wait for it."""

    host: str
    port: int
    virtual_host: str = "/"
    userid: str = "guest"
    password: str = field(default="guest", repr=False)
    ssl: bool = False
    connect_timeout: float = 5.0
    #: write timeout and the longest wait for a publisher confirm
    io_timeout: float = 10.0
    #: heartbeat of consumers (publishers use none: see :class:`Publisher`)
    heartbeat: int = 30
    #: ``connection_name`` shown by ``rabbitmqctl list_connections``
    name: str = "odoo-integration"

    @classmethod
    def from_url(cls, url, userid="guest", password="guest", **kwargs):
        """Settings from ``amqp[s]://host[:port][/virtual-host]``.

        :raise ValueError: a readable reason when the URL is not usable
        """
        parts = parse_url(url)
        return cls(userid=userid or "guest", password=password or "", **parts, **kwargs)

    @property
    def address(self):
        return f"{self.host}:{self.port}"


def parse_url(url):
    """Host, port, virtual host and TLS of a broker URL.

    Credentials in the URL are refused: they would be readable by everyone
    who sees the backend; they go to the backend's user and password fields.

    :return: dict of ``host``, ``port``, ``virtual_host``, ``ssl``
    :raise ValueError: with a reason a person can act on
    """
    split = urlsplit((url or "").strip())
    if split.scheme not in DEFAULT_PORTS:
        raise ValueError(f"the broker URL must start with amqp:// or amqps://, not {url!r}")
    if split.username or split.password:
        raise ValueError("put the broker user and password in their own fields, not in the URL")
    if not split.hostname:
        raise ValueError(f"the broker URL {url!r} has no host")
    try:
        port = split.port or DEFAULT_PORTS[split.scheme]
    except ValueError as exc:
        raise ValueError(f"the broker URL {url!r} has an invalid port") from exc
    if split.query or split.fragment:
        raise ValueError("the broker URL takes no query string: use the backend's fields")
    path = split.path[1:] if split.path.startswith("/") else split.path
    return {
        "host": split.hostname,
        "port": port,
        "virtual_host": unquote(path) if path else "/",
        "ssl": split.scheme == "amqps",
    }


def connect(settings, heartbeat=None, confirm_publish=False, role="publisher"):
    """An open connection to the broker.

    :param heartbeat: seconds, 0 for none; default ``settings.heartbeat``
    :raise RetryableError: / :raise PermanentError: (see :func:`broker_error`)
    """
    connection = amqp.Connection(
        host=settings.address,
        userid=settings.userid,
        password=settings.password,
        virtual_host=settings.virtual_host,
        ssl=settings.ssl,
        connect_timeout=settings.connect_timeout,
        write_timeout=settings.io_timeout,
        heartbeat=settings.heartbeat if heartbeat is None else heartbeat,
        confirm_publish=confirm_publish,
        client_properties={"connection_name": f"{settings.name} {role}"},
    )
    try:
        connection.connect()
    except Exception as exc:
        close_quietly(connection)
        raise broker_error(exc, settings, "connect") from exc
    return connection


def close_quietly(connection):
    try:
        connection.collect()  # drops the socket without a closing handshake
    except Exception:
        _logger.debug("closing a broken AMQP connection", exc_info=True)


def broker_error(exc, settings, doing):
    """Map an exception of the AMQP client onto the engine's hierarchy.

    Everything that may heal by itself (connection refused or lost, a broker
    restart, a confirm that never came, a nack, a refused login while the
    broker restarts) is retryable; a topology that contradicts the broker's
    (an exchange or queue declared with other settings) is permanent.

    :param doing: what was being done, for the message (``connect``, ``publish``...)
    """
    if isinstance(exc, IntegrationError):
        return exc  # already classified (by :func:`connect`)
    where = f"broker {settings.address}{settings.virtual_host if settings.virtual_host != '/' else ''}"
    if isinstance(exc, amqp_exc.MessageNacked):
        return RetryableError(f"{where} refused the message (nack) during {doing}: it is published again later")
    if isinstance(exc, amqp_exc.PreconditionFailed):
        return PermanentError(
            f"{where}: {exc.reply_text or exc} during {doing}",
            hint="An exchange or queue of this name exists with other settings: rename it in the backend, "
            "or have the broker's administrator delete it.",
        )
    if isinstance(exc, amqp_exc.AccessRefused):
        return RetryableError(
            f"{where} refused access during {doing} ({exc.reply_text or exc}): check the user, its password "
            "and its permissions on the virtual host"
        )
    if isinstance(exc, amqp_exc.NotFound):
        return RetryableError(f"{where}: {exc.reply_text or exc} during {doing}")
    if isinstance(exc, TimeoutError | socket.timeout):
        return RetryableError(f"{where} did not answer within {settings.io_timeout:g} s during {doing}")
    if isinstance(exc, CONNECTION_ERRORS):
        return RetryableError(f"{where} unreachable or connection lost during {doing}: {exc or type(exc).__name__}")
    if isinstance(exc, amqp_exc.AMQPError):
        return RetryableError(f"{where} error during {doing}: {exc}")
    return PermanentError(f"{where}: unexpected {type(exc).__name__} during {doing}: {exc}")


class Publisher:
    """Publishes persistent messages with publisher confirms to one exchange.

    A publisher keeps its connection between calls (one per worker thread,
    see :func:`publisher_for`). Publishing connections use no heartbeat: an
    idle Odoo worker does not pump the socket, so the broker would close it
    between jobs. A pooled connection found dead when used is replaced once,
    at once; a failure on a fresh connection is the caller's to retry later.
    """

    def __init__(self, settings, exchange):
        self.settings = settings
        self.exchange = exchange
        self.connection = None
        self.channel = None

    def _open(self):
        connection = connect(self.settings, heartbeat=0, confirm_publish=True)
        try:
            channel = connection.channel()
            channel.exchange_declare(self.exchange, "topic", durable=True, auto_delete=False)
        except Exception as exc:
            close_quietly(connection)
            raise broker_error(exc, self.settings, f"declaring exchange {self.exchange}") from exc
        self.connection, self.channel = connection, channel

    def publish(self, routing_key, body, message_id, correlation_id=None, type_=None, headers=None, timestamp=None):
        """Publish one message and wait for the broker's confirm.

        :param body: bytes (JSON)
        :param message_id: the stable id consumers deduplicate on
        :param timestamp: when the event occurred (Unix seconds)
        :raise RetryableError: no confirm (timeout, nack, connection lost):
            the message may or may not have reached the broker; publish it
            again with the same ``message_id``
        """
        message = amqp.Message(
            body,
            content_type=CONTENT_TYPE,
            content_encoding="utf-8",
            delivery_mode=PERSISTENT,
            message_id=message_id,
            correlation_id=correlation_id,
            type=type_,
            app_id=APP_ID,
            timestamp=int(timestamp or time.time()),
            application_headers=headers or {},
        )
        reused = self.connection is not None
        for attempt in (1, 2):
            if self.connection is None:
                self._open()
            try:
                self.channel.basic_publish_confirm(
                    message,
                    exchange=self.exchange,
                    routing_key=routing_key,
                    timeout=self.settings.io_timeout,
                    confirm_timeout=self.settings.io_timeout,
                )
                return
            except Exception as exc:
                self.close()
                # A pooled connection the broker dropped while we were idle
                # fails on its first write: replace it once, at once.
                lost = isinstance(exc, OSError | amqp_exc.RecoverableConnectionError)
                stale = reused and attempt == 1 and lost and not isinstance(exc, TimeoutError)
                if not stale:
                    raise broker_error(exc, self.settings, f"publish to {self.exchange}") from exc
                _logger.info("AMQP publisher: pooled connection to %s was closed, reconnecting", self.settings.address)

    def close(self):
        if self.connection is not None:
            close_quietly(self.connection)
        self.connection = self.channel = None


_local = threading.local()


def publisher_for(settings, exchange):
    """The calling thread's publisher for ``settings`` and ``exchange`` (kept open)."""
    pool = getattr(_local, "publishers", None)
    if pool is None:
        pool = _local.publishers = {}
    key = (settings, exchange)
    publisher = pool.get(key)
    if publisher is None:
        publisher = pool[key] = Publisher(settings, exchange)
    return publisher


def close_publishers():
    """Close the calling thread's pooled publishers (tests, shutdown)."""
    for publisher in getattr(_local, "publishers", {}).values():
        publisher.close()
    _local.publishers = {}
