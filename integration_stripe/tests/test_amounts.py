"""Minor units <-> canonical amounts, without a database."""

from odoo.tests import BaseCase, tagged

from ..amounts import iso, iso_date, to_decimal, to_minor
from ..client import effective_rate
from ..const import RATE_LIMIT_LIVE, RATE_LIMIT_TEST


@tagged("at_install", "-post_install")
class TestAmounts(BaseCase):
    def test_two_zero_and_three_decimal_currencies(self):
        cases = [
            (1250, "usd", "12.50"),
            (-2400, "eur", "-24.00"),
            (0, "usd", "0.00"),
            (1250, "jpy", "1250"),
            (3960, "JPY", "3960"),
            (500, "krw", "500"),
            (12340, "kwd", "12.340"),
            (1005, "bhd", "1.005"),
            ("4410.5", "usd", "44.105"),
            ("3333.3333333333", "eur", "33.333333"),
        ]
        for minor, currency, expected in cases:
            with self.subTest(minor=minor, currency=currency):
                self.assertEqual(to_decimal(minor, currency), expected)
        self.assertIsNone(to_decimal(None, "usd"))

    def test_back_to_minor_units_refuses_what_stripe_cannot_take(self):
        self.assertEqual(to_minor("12.50", "usd"), 1250)
        self.assertEqual(to_minor("1250", "jpy"), 1250)
        self.assertEqual(to_minor("12.340", "kwd"), 12340)
        self.assertEqual(to_minor(130.18, "usd"), 13018)
        for amount, currency in (("12.505", "usd"), ("1.5", "jpy"), ("1.235", "kwd"), ("abc", "usd")):
            with self.subTest(amount=amount, currency=currency), self.assertRaises(ValueError):
                to_minor(amount, currency)

    def test_timestamps(self):
        self.assertEqual(iso(1767225600), "2026-01-01T00:00:00Z")
        self.assertEqual(iso_date(1767225600 + 86399), "2026-01-01")
        self.assertIsNone(iso(None))

    def test_rate_limit_is_capped_by_stripe(self):
        self.assertEqual(effective_rate(0, False), RATE_LIMIT_TEST)
        self.assertEqual(effective_rate(0, True), RATE_LIMIT_LIVE)
        self.assertEqual(effective_rate(500, False), 25.0)
        self.assertEqual(effective_rate(500, True), 100.0)
        self.assertEqual(effective_rate(5, True), 5.0)
