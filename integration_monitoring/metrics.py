"""Prometheus exposition of a metrics snapshot (no ORM here).

The ORM side (``integration.monitor._metrics_snapshot``) reads everything
with a handful of ``GROUP BY`` queries and hands over plain rows; this module
turns them into metric families. A scrape builds a fresh
:class:`~prometheus_client.CollectorRegistry` holding one custom collector,
so nothing is kept between requests and every worker answers the same: the
numbers live in the database, not in the process (queue_job workers and HTTP
workers are different processes; process-local counters would disagree).

Every family is a gauge (a count *now*), and the series of known label
combinations are emitted even at zero, so that an alert such as
``integration_dead_letters > 0`` resolves instead of going stale.
"""

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, StateSetMetricFamily
from prometheus_client.exposition import choose_encoder

PREFIX = "integration"


BACKEND_LABELS = ["backend", "backend_id", "connector"]
#: gauges read as they are from the snapshot's rows:
#: (name, help, snapshot key, labelled by backend, own labels, value key)
GAUGES = (
    (
        "events",
        "Integration events by backend, direction and state.",
        "events",
        True,
        ["direction", "state"],
        "count",
    ),
    (
        "dead_letters",
        "Events whose retries are exhausted (state dead), waiting for a person.",
        "dead_letters",
        True,
        ["direction"],
        "count",
    ),
    (
        "oldest_queued_event_age_seconds",
        "Age of the oldest event waiting to be processed or sent (0: none waits).",
        "oldest_queued",
        True,
        [],
        "age_seconds",
    ),
    (
        "open_exceptions",
        "Open integration exceptions (new or in progress) by category and severity.",
        "exceptions",
        False,
        ["category", "severity"],
        "count",
    ),
    ("queue_jobs", "queue_job jobs by channel and state.", "jobs", False, ["channel", "state"], "count"),
)


class SnapshotCollector:
    """A collector over one snapshot (dict of rows, see :func:`render`)."""

    def __init__(self, snapshot):
        self.snapshot = snapshot

    def collect(self):
        for name, documentation, key, per_backend, labels, value in GAUGES:
            family = GaugeMetricFamily(
                f"{PREFIX}_{name}", documentation, labels=(BACKEND_LABELS if per_backend else []) + labels
            )
            for row in self.snapshot[key]:
                family.add_metric((_backend(row) if per_backend else []) + [row[label] for label in labels], row[value])
            yield family
        yield from self._backend_families()

    def _backend_families(self):
        """Circuit breaker and health: state sets, one per backend."""
        snap = self.snapshot
        circuit = StateSetMetricFamily(
            f"{PREFIX}_backend_circuit_state",
            "Circuit breaker of the backend's outbound calls (1 for the current state).",
            labels=BACKEND_LABELS,
        )
        failures = GaugeMetricFamily(
            f"{PREFIX}_backend_circuit_failures",
            "Consecutive outbound failures counted by the circuit breaker.",
            labels=BACKEND_LABELS,
        )
        health = StateSetMetricFamily(
            f"{PREFIX}_backend_health",
            "Health of the backend: down (circuit open), degraded (half-open or failed events in 24 h), ok.",
            labels=BACKEND_LABELS,
        )
        for row in snap["backends"]:
            labels = _backend(row)
            circuit.add_metric(labels, {state: state == row["circuit_state"] for state in snap["circuit_states"]})
            failures.add_metric(labels, row["circuit_failures"])
            health.add_metric(labels, {state: state == row["health"] for state in snap["health_states"]})
        yield circuit
        yield failures
        yield health


def _backend(row):
    return [row["backend"], str(row["backend_id"]), row["connector"]]


def render(snapshot, accept_header=None):
    """Encode ``snapshot`` as the scraper asked (``Accept`` header).

    :param snapshot: dict with the lists ``events``, ``dead_letters``,
        ``oldest_queued``, ``exceptions``, ``jobs``, ``backends`` and the
        state vocabularies ``circuit_states`` and ``health_states``
    :return: ``(body bytes, content type)``; Prometheus text format 0.0.4
        unless OpenMetrics is asked for
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    encoder, content_type = choose_encoder(accept_header or "")
    return encoder(registry), content_type
