"""Load generation (open and closed loops) and statistics of the answers."""

import asyncio
import contextlib
import statistics
import time

import httpx


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summarize(latencies_s):
    ms = [v * 1000 for v in latencies_s]
    return {
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
        "mean_ms": statistics.fmean(ms) if ms else None,
    }


class Tally:
    """Outcomes of a series of requests."""

    def __init__(self):
        self.latencies, self.statuses, self.errors = [], {}, {}
        self.ok = 0
        self.first = self.last = None

    def add(self, status, latency, error=None):
        now = time.monotonic()
        self.first = self.first or now
        self.last = now
        if error:
            self.errors[error] = self.errors.get(error, 0) + 1
            return
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(latency)
        if 200 <= status < 300:
            self.ok += 1

    @property
    def count(self):
        return sum(self.statuses.values()) + sum(self.errors.values())

    def count_range(self, low, high):
        return sum(n for status, n in self.statuses.items() if low <= status < high)

    def report(self, elapsed):
        return {
            "sent": self.count,
            "accepted": self.ok,
            "accepted_per_s": self.ok / elapsed if elapsed else 0,
            "4xx": self.count_range(400, 500),
            "5xx": self.count_range(500, 600),
            "errors": dict(self.errors),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            **summarize(self.latencies),
        }


async def post_one(client, url, body, headers, tally, timeout=30.0):
    start = time.monotonic()
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout)
        tally.add(response.status_code, time.monotonic() - start)
        return response.status_code
    except httpx.TimeoutException:
        tally.add(None, None, "timeout")
    except httpx.HTTPError as exc:
        tally.add(None, None, exc.__class__.__name__)
    return None


async def open_loop(client, url, requests_, rate, tally, max_in_flight=512, timeout=30.0):
    """Send ``requests_`` (iterable of (body, headers-callable)) at ``rate``/s,
    without waiting for answers (an open loop: a slow server does not slow
    the sender); at most ``max_in_flight`` outstanding (the rest counted as
    ``client_saturated``)."""
    start = time.monotonic()
    tasks = set()
    for k, (body, headers) in enumerate(requests_):
        due = start + k / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(tasks) >= max_in_flight:
            tally.add(None, None, "client_saturated")
            continue
        task = asyncio.create_task(post_one(client, url, body, headers(), tally, timeout))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=timeout + 5)
    return time.monotonic() - start


async def closed_loop(client, url, requests_, concurrency, tally, timeout=30.0, deadline=None):
    """``concurrency`` senders, each posting its next request when answered."""
    iterator = iter(requests_)
    start = time.monotonic()

    async def sender():
        for body, headers in iterator:
            if deadline and time.monotonic() > deadline:
                return
            await post_one(client, url, body, headers(), tally, timeout)

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return time.monotonic() - start


def new_client(max_connections=256):
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections), timeout=30.0
    )


async def post_until_acknowledged(url, events, senders, timeout, max_attempts, deadline):
    """Every event posted until 2xx, retried as Stripe would; the answers tallied."""
    acked, out = set(), {"statuses": {}, "unanswered": {}, "latencies": [], "gave_up": 0}
    queue = list(reversed(events))

    async def sender(client):
        while queue and time.monotonic() < deadline:
            event = queue.pop()
            for attempt in range(max_attempts):
                start = time.monotonic()
                delay = min(30.0, 0.5 * 2**attempt)
                try:
                    response = await client.post(url, content=event.body, headers=event.headers(), timeout=timeout)
                except httpx.HTTPError as exc:  # no answer: the failure this run counts
                    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else exc.__class__.__name__
                    out["unanswered"][kind] = out["unanswered"].get(kind, 0) + 1
                    await asyncio.sleep(delay)
                    continue
                status = response.status_code
                out["statuses"][status] = out["statuses"].get(status, 0) + 1
                if 200 <= status < 300:
                    out["latencies"].append(time.monotonic() - start)
                    acked.add(event.event_id)
                    break
                with contextlib.suppress(TypeError, ValueError):
                    delay = float(response.headers.get("Retry-After"))
                await asyncio.sleep(delay)
            else:
                out["gave_up"] += 1

    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    async with httpx.AsyncClient(limits=limits) as client:
        await asyncio.gather(*(sender(client) for _ in range(senders)))
    return acked, out
