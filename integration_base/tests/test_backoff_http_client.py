import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from odoo.tests import BaseCase, tagged

from ..backoff import backoff_seconds, parse_retry_after
from ..http_client import TokenBucket, redact_data, redact_headers


@tagged("at_install", "-post_install")
class TestBackoff(BaseCase):
    def test_delay_grows_with_jitter_and_cap(self):
        rng = random.Random(42)
        delays = [backoff_seconds(attempt, base=30, cap=600, rng=rng) for attempt in range(1, 8)]
        for attempt, delay in enumerate(delays, start=1):
            full = min(600, 30 * 2 ** (attempt - 1))
            self.assertGreaterEqual(delay, full / 2)
            self.assertLessEqual(delay, full)
        self.assertLessEqual(max(delays), 600)
        self.assertNotEqual(len({round(d, 6) for d in delays[-3:]}), 1, "capped delays still differ (jitter)")

    def test_retry_after(self):
        self.assertEqual(parse_retry_after("120"), 120)
        future = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
        self.assertAlmostEqual(parse_retry_after(future), 90, delta=2)
        self.assertIsNone(parse_retry_after(""))
        self.assertIsNone(parse_retry_after("soon"))

    def test_token_bucket(self):
        bucket = TokenBucket(rate=1000, capacity=2)
        self.assertEqual(bucket.acquire(max_wait=0), 0)
        self.assertEqual(bucket.acquire(max_wait=0), 0)
        slow = TokenBucket(rate=0.1, capacity=1)
        self.assertEqual(slow.acquire(max_wait=0), 0)
        self.assertGreater(slow.acquire(max_wait=0), 5)

    def test_redaction(self):
        self.assertEqual(
            redact_headers({"Authorization": "Bearer x", "X-Vendor-Key": "k", "Content-Type": "application/json"}),
            {"Authorization": "***", "X-Vendor-Key": "***", "Content-Type": "application/json"},
            "an allow-list: headers nobody declared harmless are masked",
        )
        self.assertEqual(redact_headers({"X-Event-Id": "e1"}, safe=("x-event-id",)), {"X-Event-Id": "e1"})
        self.assertEqual(
            redact_data({"customer": {"name": "A", "api_key": "k"}, "items": [{"password": "p"}]}),
            {"customer": {"name": "A", "api_key": "***"}, "items": [{"password": "***"}]},
        )
