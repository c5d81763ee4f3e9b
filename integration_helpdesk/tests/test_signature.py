from datetime import UTC, datetime, timedelta

from odoo.tests import BaseCase, tagged

from odoo.addons.integration_base.exceptions import SignatureError

from ..zendesk import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify
from .common import OLD_SECRET, SECRET, zendesk_timestamp

BODY = b'{"type":"zen:event-type:ticket.created","id":"evt-1"}'


@tagged("post_install", "-at_install")
class TestZendeskSignature(BaseCase):
    def _headers(self, body=BODY, secret=SECRET, moment=None):
        timestamp = zendesk_timestamp(moment)
        return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}

    def test_signature_is_base64_hmac_of_timestamp_then_body(self):
        # computed independently: base64(HMAC-SHA256(secret, "2021-07-25T10:00:00Z" + body))
        self.assertEqual(
            sign("HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=", "2021-07-25T10:00:00Z", b'{"say": "hello"}'),
            "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=",
        )

    def test_valid_signature(self):
        self.assertTrue(verify([SECRET], self._headers(), BODY))

    def test_tampered_body(self):
        with self.assertRaisesRegex(SignatureError, "no matching signature"):
            verify([SECRET], self._headers(), BODY.replace(b"evt-1", b"evt-2"))

    def test_wrong_secret(self):
        with self.assertRaisesRegex(SignatureError, "no matching signature"):
            verify([SECRET], self._headers(secret="not-the-secret"), BODY)

    def test_stale_and_future_timestamps(self):
        now = datetime.now(UTC)
        for moment in (now - timedelta(seconds=301), now + timedelta(seconds=301)):
            with self.assertRaisesRegex(SignatureError, "stale"):
                verify([SECRET], self._headers(moment=moment), BODY)
        self.assertTrue(verify([SECRET], self._headers(moment=now - timedelta(seconds=290)), BODY))

    def test_missing_or_malformed_headers(self):
        headers = self._headers()
        for missing in (SIGNATURE_HEADER, TIMESTAMP_HEADER):
            partial = {key: value for key, value in headers.items() if key != missing}
            with self.assertRaisesRegex(SignatureError, "missing"):
                verify([SECRET], partial, BODY)
        with self.assertRaisesRegex(SignatureError, "malformed"):
            verify([SECRET], dict(headers, **{TIMESTAMP_HEADER: "yesterday"}), BODY)
        with self.assertRaisesRegex(SignatureError, "malformed"):
            verify([SECRET], dict(headers, **{TIMESTAMP_HEADER: "2026-03-02T09:15:07"}), BODY)

    def test_either_secret_during_rotation(self):
        self.assertTrue(verify([SECRET, OLD_SECRET], self._headers(secret=OLD_SECRET), BODY))
        with self.assertRaises(SignatureError):
            verify([SECRET], self._headers(secret=OLD_SECRET), BODY)
