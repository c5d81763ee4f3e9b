"""freshdesk.verify: the secret a Freshdesk automation rule sends, checked without a database."""

import base64

from odoo.tests import BaseCase, tagged

from odoo.addons.integration_base.exceptions import SignatureError

from ..freshdesk import SECRET_HEADER, dedup_key, event_type_of, verify

SECRETS = ["current-secret-7Hq2", "previous-secret-Kx81"]


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@tagged("post_install", "-at_install")
class TestFreshdeskAuth(BaseCase):
    def test_header_or_basic_password_or_api_key_user(self):
        self.assertTrue(verify(SECRETS, {SECRET_HEADER: "current-secret-7Hq2"}))
        self.assertTrue(verify(SECRETS, {SECRET_HEADER: " previous-secret-Kx81 "}), "rotation: the previous one too")
        self.assertTrue(verify(SECRETS, basic("freshdesk", "current-secret-7Hq2")))
        self.assertTrue(verify(SECRETS, basic("current-secret-7Hq2", "X")), "Freshdesk's API key choice")

    def test_refusals(self):
        cases = [
            ({}, "send the backend's webhook secret"),
            ({SECRET_HEADER: "current-secret"}, "wrong webhook secret"),
            (basic("current-secret-7Hq2", "Y"), "wrong webhook secret"),
            (basic("freshdesk", ""), "wrong webhook secret"),
            ({"Authorization": "Basic !!!"}, "malformed"),
            ({"Authorization": "Bearer current-secret-7Hq2"}, "send the backend's webhook secret"),
        ]
        for headers, reason in cases:
            with self.subTest(headers=headers), self.assertRaisesRegex(SignatureError, reason):
                verify(SECRETS, headers)
        with self.assertRaisesRegex(SignatureError, "wrong"):
            verify([], {SECRET_HEADER: "anything"})

    def test_identity_of_a_delivery(self):
        self.assertEqual(dedup_key("42", b"{}"), dedup_key("42", b"{}"), "Freshdesk's retry: the same key")
        self.assertNotEqual(dedup_key("42", b"{}"), dedup_key("42", b'{"a": 1}'))
        self.assertEqual(event_type_of({"triggered_event": "{ticket_action:created}"}), "ticket.created")
        self.assertEqual(event_type_of({"triggered_event": "{note_type:public}"}), "ticket.note_added")
        self.assertEqual(event_type_of({"triggered_event": "{status:{from:2,to:4}}"}), "ticket.updated")
        self.assertEqual(event_type_of({}), "ticket.updated")
