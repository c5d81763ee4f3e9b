import time

from odoo.tests import BaseCase, tagged

from odoo.addons.integration_base.billing import monthly
from odoo.addons.integration_base.exceptions import SignatureError

from ..hubspot import SIGNATURE_HEADER, TIMESTAMP_HEADER, decode_uri, sign, verify

SECRET = "client-secret-current"
OLD_SECRET = "client-secret-previous"
URI = "https://odoo.example.com/integration/webhook/AbC-123_x"
BODY = b'[{"eventId":1,"subscriptionType":"contact.creation","objectId":512}]'


@tagged("post_install", "-at_install")
class TestHubspotSignature(BaseCase):
    def _headers(self, secret=SECRET, method="POST", uri=URI, body=BODY, timestamp_ms=None):
        timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, method, uri, body, timestamp)}

    def _verify(self, headers, secrets=(SECRET,), body=BODY, method="POST", uris=(URI,)):
        return verify(list(secrets), headers, body, method, list(uris))

    def test_valid(self):
        self.assertTrue(self._verify(self._headers()))

    def test_every_signed_part_counts(self):
        headers = self._headers()
        for kwargs in ({"body": BODY.replace(b"512", b"513")}, {"method": "PUT"}, {"uris": [URI + "x"]}):
            with self.assertRaisesRegex(SignatureError, "no matching signature"):
                self._verify(headers, **kwargs)
        with self.assertRaisesRegex(SignatureError, "no matching signature"):
            self._verify(self._headers(secret="guessed"))

    def test_timestamp_is_signed_and_checked(self):
        headers = self._headers()
        later = str(int(headers[TIMESTAMP_HEADER]) + 1000)
        with self.assertRaisesRegex(SignatureError, "no matching signature"):
            self._verify(dict(headers, **{TIMESTAMP_HEADER: later}))
        now_ms = int(time.time() * 1000)
        for skew in (-301_000, 301_000):
            with self.assertRaisesRegex(SignatureError, "stale"):
                self._verify(self._headers(timestamp_ms=now_ms + skew))
        self.assertTrue(self._verify(self._headers(timestamp_ms=now_ms - 290_000)))

    def test_missing_or_malformed_headers(self):
        headers = self._headers()
        for missing in headers:
            with self.assertRaisesRegex(SignatureError, "missing"):
                self._verify({key: value for key, value in headers.items() if key != missing})
        with self.assertRaisesRegex(SignatureError, "malformed"):
            self._verify(dict(headers, **{TIMESTAMP_HEADER: "2026-03-02T09:30:00Z"}))

    def test_rotated_secret(self):
        self.assertTrue(self._verify(self._headers(secret=OLD_SECRET), secrets=(SECRET, OLD_SECRET)))

    def test_uri_is_decoded_as_hubspot_does(self):
        encoded = URI + "?next=%2Fportal%3A62515&who=a%40b.example"
        self.assertEqual(decode_uri(encoded), URI + "?next=/portal:62515&who=a@b.example")
        headers = self._headers(uri=URI + "?next=/portal:62515&who=a@b.example")
        self.assertTrue(self._verify(headers, uris=[encoded]))

    def test_monthly_recurring_revenue(self):
        self.assertEqual(monthly(49.0, 3, "month", 1), 147.0)
        self.assertEqual(monthly(120.0, 1, "year", 1), 10.0)
        self.assertEqual(monthly(30.0, 1, "month", 3), 10.0)
        self.assertAlmostEqual(monthly(12.0, 1, "week", 1), 52.0)
        self.assertEqual(monthly(10.0, 1, False, 1), 0.0)
