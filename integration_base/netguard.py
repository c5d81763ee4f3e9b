"""Where outbound calls may go (no ORM here).

A backend's API URL is typed by a person; without a guard, "Test
connection" is a port scanner and the suite's credentials go wherever the URL
points. Every outbound call therefore goes through a :class:`GuardedSession`
and an :class:`OutboundPolicy`:

* the URL is ``https`` (``http`` only to an allow-listed host), names a
  host and carries no user info;
* the host is one its connector declares (Stripe: ``api.stripe.com``), unless
  the connector talks to hosts of the customer's choosing (canonical JSON);
* the address actually connected to is public: loopback, private,
  link-local (cloud metadata), shared (CGNAT), multicast, reserved and
  unspecified addresses are refused. The check runs on the addresses the
  name resolves to, inside the connection (so DNS re-binding between check
  and connect cannot slip through), and the connection is made to the
  checked address;
* redirects are never followed (a 3xx is an answer, not a new destination).

A system administrator lets a host through -- a sandbox, an in-house system,
the tests' local servers -- with the system parameter
``integration_base.outbound_allowed_hosts``: host names, IP addresses or
networks (CIDR), each optionally with ``:port``, separated by commas or
spaces (``localhost:8420, 10.1.0.0/16, billing.internal``). An allow-listed
destination may be private, plain ``http``, and outside the declared hosts.

Outbound calls ignore the ``HTTP(S)_PROXY`` environment variables (a proxy
would connect on our behalf, out of the guard's sight).
"""

import fnmatch
import ipaddress
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection as urllib3_connection

ALLOWED_HOSTS_PARAM = "integration_base.outbound_allowed_hosts"
DEFAULT_PORTS = {"http": 80, "https": 443}


class BlockedDestination(Exception):
    """The destination of an outbound call is not allowed (never retried)."""


def describe_address(ip):
    """Why ``ip`` is not public, in a few words (None when it is public)."""
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    checks = (
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local (cloud metadata)"),
        ("is_private", "a private"),
        ("is_multicast", "a multicast"),
        ("is_unspecified", "an unspecified"),
        ("is_reserved", "a reserved"),
    )
    for attribute, words in checks:
        if getattr(ip, attribute):
            return f"{words} address"
    if not ip.is_global:
        return "a non-public address"
    return None


@dataclass(frozen=True)
class AllowEntry:
    """One allow-list entry: a host name pattern or a network, and maybe a port."""

    host: str = ""
    network: object = None
    port: int = None

    @classmethod
    def parse(cls, text):
        text = text.strip().lower()
        port = None
        if text.startswith("["):  # [v6]:port
            address, _sep, rest = text[1:].partition("]")
            text, port = address, (int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None)
        elif text.count(":") == 1:
            text, _sep, port_text = text.partition(":")
            port = int(port_text) if port_text.isdigit() else None
        try:
            return cls(network=ipaddress.ip_network(text, strict=False), port=port)
        except ValueError:
            return cls(host=text.rstrip("."), port=port)

    def matches(self, host, port, ip=None):
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            candidates = [ip] if ip is not None else []
            literal = _ip_literal(host)
            if literal is not None:
                candidates.append(literal)
            return any(
                candidate.version == self.network.version and candidate in self.network for candidate in candidates
            )
        return fnmatch.fnmatchcase(host.lower().rstrip("."), self.host)


def parse_allow_list(text):
    """The entries of the allow-list parameter (commas, spaces or new lines)."""
    return tuple(AllowEntry.parse(item) for item in (text or "").replace(",", " ").split() if item.strip())


def _ip_literal(host):
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class OutboundPolicy:
    """Where one backend's calls may go.

    :param hosts: host name patterns the connector declares
        (``*.zendesk.com``); empty: any public host
    :param allowed: :class:`AllowEntry` items of the system parameter
    """

    hosts: tuple = ()
    allowed: tuple = field(default=())

    def _allow_listed(self, host, port, ip=None):
        return any(entry.matches(host, port, ip) for entry in self.allowed)

    def check_url(self, url):
        """Refuse a URL that cannot be a destination.

        :return: ``(host, port)``
        :raise BlockedDestination: with the reason, in words for a person
        """
        parts = urlsplit(url or "")
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise BlockedDestination(f"{_short(url)} is not an http(s) URL with a host")
        if parts.username or parts.password:
            raise BlockedDestination("a URL must not carry a user name or password: use the backend's API key")
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError as exc:
            raise BlockedDestination(f"{_short(url)} has an invalid port") from exc
        host = parts.hostname.lower()
        if self._allow_listed(host, port):
            return host, port
        if scheme != "https":
            raise BlockedDestination(f"only https URLs are allowed for {host} (it is not in {ALLOWED_HOSTS_PARAM})")
        if self.hosts and not any(fnmatch.fnmatchcase(host, pattern) for pattern in self.hosts):
            raise BlockedDestination(
                f"{host} is not a host this connector talks to ({', '.join(self.hosts)}); "
                f"a system administrator can allow it in {ALLOWED_HOSTS_PARAM}"
            )
        literal = _ip_literal(host)
        if literal is not None and describe_address(literal):
            raise BlockedDestination(self._address_refusal(host, literal))
        return host, port

    def check_address(self, host, port, ip):
        """Refuse connecting to ``ip`` (what ``host`` resolved to) unless it is public or allow-listed."""
        if describe_address(ip) and not self._allow_listed(host, port, ip):
            raise BlockedDestination(self._address_refusal(host, ip))

    @staticmethod
    def _address_refusal(host, ip):
        target = host if str(ip) == host.strip("[]") else f"{host} ({ip})"
        return (
            f"{target} is {describe_address(ip)}: not allowed for outbound calls; "
            f"a system administrator can allow it in {ALLOWED_HOSTS_PARAM}"
        )


#: what applies when no backend said otherwise: public https hosts only
DEFAULT_POLICY = OutboundPolicy()
_state = threading.local()


def current_policy():
    return getattr(_state, "policy", None) or DEFAULT_POLICY


@contextmanager
def guarded(policy):
    """Apply ``policy`` to the outbound calls made in this block (this thread)."""
    previous = getattr(_state, "policy", None)
    _state.policy = policy
    try:
        yield policy
    finally:
        _state.policy = previous


def _short(url, limit=80):
    url = str(url or "")
    return url if len(url) <= limit else url[:limit] + "…"


# ----------------------------------------------------------------------
# The guard inside the connection
# ----------------------------------------------------------------------
class _GuardedConnectionMixin:
    """Resolve, check every address, connect to a checked one."""

    def _new_conn(self):
        policy = current_policy()
        try:
            infos = socket.getaddrinfo(self._dns_host, self.port, 0, socket.SOCK_STREAM)
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to resolve {self._dns_host}: {exc}") from exc
        refusal = None
        error = None
        for _family, _type, _proto, _name, sockaddr in infos:
            ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
            try:
                policy.check_address(self.host, self.port, ip)
            except BlockedDestination as exc:
                refusal = exc
                continue
            try:
                return urllib3_connection.create_connection(
                    (str(ip), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                error = exc
        if error is not None:
            raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error
        raise refusal or BlockedDestination(f"{self.host} resolves to no address")


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        result = super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }
        return result


class GuardedSession(requests.Session):
    """A session whose every connection is checked and that never follows redirects."""

    def __init__(self):
        super().__init__()
        self.trust_env = False
        self.mount("http://", GuardedAdapter())
        self.mount("https://", GuardedAdapter())

    def request(self, method, url, *args, **kwargs):
        current_policy().check_url(url)
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)

    def get_redirect_target(self, response):
        return None
