"""The Zendesk sidebar app, in headless Chromium, against Odoo's real billing-context API.

A fake Zendesk (``fake_zendesk.py``) serves the app as built and plays the
Apps framework: the page's ``ZAFClient`` is a fake whose ``request()`` goes
through the fake's proxy, which puts the secure setting (the key) into the
request on the server side -- as Zendesk does -- and calls this Odoo.

``INTEGRATION_ZENDESK_APP_SCREENSHOT=<png>`` also takes the readme's
screenshot with ``chromium --headless --screenshot`` while the fake runs.
"""

import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from urllib.parse import urlsplit

from odoo.tests import BaseCase, tagged
from odoo.tests.common import _find_executable, _preexec

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon

from ..zendesk_app.build import BuildError, build_zip, manifest_for
from .common import BillingWorldMixin, ZendeskCaseMixin
from .fake_zendesk import FakeZendesk

SCREENSHOT_ENV = "INTEGRATION_ZENDESK_APP_SCREENSHOT"
READY = "document.getElementById('app').dataset.state !== 'loading'"
#: the check run in the page: the fields shown, and no key anywhere the browser can read
CHECK = """
const expected = %(expected)s, token = %(token)s, state = %(state)s;
const got = {};
for (const name of Object.keys(expected)) {
    const node = document.querySelector(`[data-field="${name}"]`);
    got[name] = node && (name === "odoo_link" ? node.getAttribute("href") : node.textContent);
}
const page = document.documentElement.outerHTML + JSON.stringify(window.__ZAF_FAKE__);
if (document.getElementById("app").dataset.state !== state) {
    console.error("app state " + document.getElementById("app").dataset.state + ", expected " + state);
} else if (JSON.stringify(got) !== JSON.stringify(expected)) {
    console.error("shown: " + JSON.stringify(got) + " expected: " + JSON.stringify(expected));
} else if (page.includes(token)) {
    console.error("the key reached the browser");
} else if (!window.__ZAF_INVOKED__.some((call) => call[0] === "resize")) {
    console.error("the app did not size its frame");
} else {
    console.log("test successful");
}
"""


@tagged("post_install", "-at_install")
class TestZendeskApp(BillingWorldMixin, ZendeskCaseMixin, AccountTestInvoicingHttpCommon):
    def _fake_zendesk(self, email):
        url = self.backend.helpdesk_billing_context_url.replace(
            self.env["ir.config_parameter"].sudo().get_param("web.base.url"), self.base_url()
        )
        host = urlsplit(url).netloc
        whitelist = manifest_for(f"https://{host}")["domainWhitelist"]
        return FakeZendesk(
            settings={"billing_context_url": url},
            secure_settings={"token": self.backend.sudo().api_key},
            ticket={"ticket.requester.email": email},
            whitelist=whitelist,
            cookies=lambda: {"test_request_key": self.http_request_key},
        )

    def _run_app(self, zendesk, expected, state="loaded"):
        code = CHECK % {
            "expected": json.dumps(expected),
            "token": json.dumps(self.backend.sudo().api_key),
            "state": json.dumps(state),
        }
        self.env.flush_all()
        self.browser_js(f"{zendesk.url}/app/assets/iframe.html", code, ready=READY, timeout=60)

    def test_sidebar_shows_the_requesters_billing(self):
        odoo = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        expected = {
            "customer": "Acme Corp",
            "odoo_link": f"{odoo}/odoo/res.partner/{self.acme.id}",
            "entitlement": "Grace period",
            "dunning": "Payments failing",
            "plan": "Pro × 3 (past due)",
            "mrr": f"{self._money(147)} {self.currency.name}",
            "next_invoice": "2026-04-01",
            "overdue": f"{self._money(150)} {self.currency.name} (1 invoice)",
            "amount_due": f"{self._money(250)} {self.currency.name}",
            "last_payment": f"{self._money(50)} {self.currency.name} on 2026-02-15",
            "payment_method": "Visa •••• 4242, expires 08/2030",
            "failed_payments": f"1 open: {self.failure.details}",
            "entitlements": "Pro × 3 – Grace period renews 2026-04-01",
        }
        with self._fake_zendesk("jane.doe@acme.example") as zendesk:
            self._run_app(zendesk, expected)
            self._screenshot(zendesk)
        [call] = zendesk.proxied[:1]
        self.assertEqual(call["status"], 200)
        options = call["options"]
        self.assertEqual(
            options["headers"], {"Authorization": "Bearer {{setting.token}}"}, "a placeholder, not the key"
        )
        self.assertEqual((options["secure"], options["cors"], options["type"]), (True, False, "GET"))
        self.assertTrue(options["url"].endswith("billing-context?email=jane.doe%40acme.example"))

    def test_sidebar_explains_an_unknown_requester(self):
        with self._fake_zendesk("someone@nowhere.example") as zendesk:
            self._run_app(zendesk, {"error": "This requester is not a customer in Odoo."}, state="error")
        self.assertEqual([call["status"] for call in zendesk.proxied], [404])

    def test_a_wrong_key_in_the_app_settings_is_explained(self):
        with self._fake_zendesk("jane.doe@acme.example") as zendesk:
            zendesk.secure_settings["token"] = "not-the-key"
            self._run_app(
                zendesk,
                {"error": "Odoo refused the app's key: ask an administrator to check the app's settings."},
                state="error",
            )
        self.assertEqual([call["status"] for call in zendesk.proxied], [401])

    def _screenshot(self, zendesk):
        path = os.environ.get(SCREENSHOT_ENV)
        if not path:
            return
        with self.allow_requests(), tempfile.TemporaryDirectory() as profile:
            # as Odoo starts Chrome: without the server's address-space limit
            # pylint: disable=subprocess-popen-preexec-fn
            subprocess.run(
                [
                    _find_executable(),
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    f"--user-data-dir={profile}",
                    "--window-size=360,560",
                    "--virtual-time-budget=10000",
                    f"--screenshot={os.path.abspath(path)}",
                    f"{zendesk.url}/app/assets/iframe.html",
                ],
                check=True,
                capture_output=True,
                timeout=120,
                preexec_fn=_preexec,
            )


@tagged("post_install", "-at_install")
class TestZendeskAppBuild(BaseCase):
    def test_build_makes_an_uploadable_zip_for_one_odoo(self):
        data = build_zip("https://odoo.acme.example")
        self.assertEqual(data, build_zip("https://odoo.acme.example"), "the same address gives the same bytes")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            manifest = json.loads(archive.read("manifest.json"))
            translations = json.loads(archive.read("translations/en.json"))
        self.assertTrue(
            {"manifest.json", "assets/iframe.html", "assets/main.js", "assets/logo.png", "translations/en.json"}
            <= names
        )
        self.assertFalse([name for name in names if name.endswith(".py")], "no build script in the app")
        self.assertEqual(manifest["domainWhitelist"], ["odoo.acme.example"])
        self.assertEqual(manifest["location"]["support"]["ticket_sidebar"]["url"], "assets/iframe.html")
        self.assertEqual(
            {param["name"]: param.get("secure", False) for param in manifest["parameters"]},
            {"billing_context_url": False, "token": True},
        )
        self.assertEqual(set(translations["app"]["parameters"]), {"billing_context_url", "token"})

    def test_build_refuses_a_plain_http_address(self):
        with self.assertRaisesRegex(BuildError, "https"):
            build_zip("http://odoo.acme.example")

    def test_build_command_line(self):
        with tempfile.TemporaryDirectory() as folder:
            output = os.path.join(folder, "app.zip")
            script = os.path.join(os.path.dirname(__file__), "..", "zendesk_app", "build.py")
            done = subprocess.run(
                [sys.executable, script, "--odoo-url", "https://odoo.acme.example", "--output", output],
                capture_output=True,
                text=True,
                check=False,
            )
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertTrue(zipfile.is_zipfile(output))
