"""Retry delays: exponential backoff with jitter, capped."""

import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def backoff_seconds(attempt, base=30, cap=6 * 3600, rng=random):
    """Seconds to wait before attempt ``attempt + 1``.

    "Equal jitter": half of the exponential delay is fixed, the other half
    random, so that a burst of failures does not retry in lockstep while the
    delay still grows with every attempt.

    :param attempt: number of attempts made so far (1 after the first failure)
    :param base: delay after the first failure, in seconds
    :param cap: upper bound of the delay
    :return: delay in seconds (float)
    """
    delay = min(cap, base * 2 ** max(attempt - 1, 0))
    return delay / 2 + rng.uniform(0, delay / 2)


def parse_retry_after(value):
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0, int((when - datetime.now(timezone.utc)).total_seconds()))
