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


class SnapshotCollector:
    """A collector over one snapshot (dict of rows, see :func:`render`)."""

    def __init__(self, snapshot):
        self.snapshot = snapshot

    def collect(self):
        snap = self.snapshot
        backend_labels = ["backend", "backend_id", "connector"]

        events = GaugeMetricFamily(
            f"{PREFIX}_events",
            "Integration events by backend, direction and state.",
            labels=backend_labels + ["direction", "state"],
        )
        for row in snap["events"]:
            events.add_metric(_backend(row) + [row["direction"], row["state"]], row["count"])
        yield events

        dead = GaugeMetricFamily(
            f"{PREFIX}_dead_letters",
            "Events whose retries are exhausted (state dead), waiting for a person.",
            labels=backend_labels + ["direction"],
        )
        for row in snap["dead_letters"]:
            dead.add_metric(_backend(row) + [row["direction"]], row["count"])
        yield dead

        oldest = GaugeMetricFamily(
            f"{PREFIX}_oldest_queued_event_age_seconds",
            "Age of the oldest event waiting to be processed or sent (0: none waits).",
            labels=backend_labels,
        )
        for row in snap["oldest_queued"]:
            oldest.add_metric(_backend(row), row["age_seconds"])
        yield oldest

        exceptions = GaugeMetricFamily(
            f"{PREFIX}_open_exceptions",
            "Open integration exceptions (new or in progress) by category and severity.",
            labels=["category", "severity"],
        )
        for row in snap["exceptions"]:
            exceptions.add_metric([row["category"], row["severity"]], row["count"])
        yield exceptions

        jobs = GaugeMetricFamily(
            f"{PREFIX}_queue_jobs", "queue_job jobs by channel and state.", labels=["channel", "state"]
        )
        for row in snap["jobs"]:
            jobs.add_metric([row["channel"], row["state"]], row["count"])
        yield jobs

        circuit = StateSetMetricFamily(
            f"{PREFIX}_backend_circuit_state",
            "Circuit breaker of the backend's outbound calls (1 for the current state).",
            labels=backend_labels,
        )
        failures = GaugeMetricFamily(
            f"{PREFIX}_backend_circuit_failures",
            "Consecutive outbound failures counted by the circuit breaker.",
            labels=backend_labels,
        )
        health = StateSetMetricFamily(
            f"{PREFIX}_backend_health",
            "Health of the backend: down (circuit open), degraded (half-open or failed events in 24 h), ok.",
            labels=backend_labels,
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
