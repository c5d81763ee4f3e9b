"""A fake Zendesk for the sidebar app's browser test (no Odoo here).

It serves the app as Zendesk would (``/app/<path>`` from ``zendesk_app/``,
the framework's SDK replaced by ``zaf/zaf_fake.js``) and plays Zendesk's
request proxy (``POST /__zaf_proxy``): for a request marked ``secure`` to a
host of the manifest's ``domainWhitelist``, ``{{setting.<name>}}``
placeholders in the headers are replaced by the secure settings on this
side, then the real endpoint is called. Every proxied request is recorded
as the browser sent it (``proxied``) with the status the endpoint answered.
"""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import requests

from odoo.addons.integration_base.tests.http_server import LocalHttpServer

from ..zendesk_app.build import APP_DIR

ZAF_SDK = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"
FAKE_SDK = Path(__file__).parent / "zaf" / "zaf_fake.js"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
PLACEHOLDER = re.compile(r"\{\{setting\.(\w+)\}\}")


class FakeZendesk(LocalHttpServer):
    """The app served as Zendesk serves it, with a proxy holding the secure settings.

    :param settings: the app's settings a browser may see (``metadata()``)
    :param secure_settings: the secure ones (``{"token": ...}``), proxy side only
    :param ticket: what ``client.get(path)`` answers, by path
    :param whitelist: the manifest's ``domainWhitelist``
    :param cookies: a callable giving the cookies to forward (the test's request key)
    """

    def __init__(self, settings, secure_settings, ticket, whitelist, cookies):
        self.settings, self.secure_settings, self.ticket = settings, secure_settings, ticket
        self.whitelist, self.cookies = set(whitelist), cookies
        self.proxied = []
        super().__init__(self._respond)

    def _respond(self, method, path, headers, body):
        if method == "POST" and path == "/__zaf_proxy":
            return self._proxy(json.loads(body))
        if method == "GET" and path.startswith("/app/"):
            return self._app_file(path.split("?", 1)[0][len("/app/") :])
        return 404, {}, {"error": "not found"}

    def _app_file(self, name):
        file = (APP_DIR / name).resolve()
        if APP_DIR not in file.parents or not file.is_file():
            return 404, {}, {"error": "not found"}
        data = file.read_bytes()
        if name.endswith(".html"):
            config = json.dumps({"settings": self.settings, "ticket": self.ticket})
            fake = f"<script>window.__ZAF_FAKE__ = {config};</script>\n<script>{FAKE_SDK.read_text()}</script>"
            data = data.replace(f'<script src="{ZAF_SDK}"></script>'.encode(), fake.encode())
        return 200, {"Content-Type": TYPES.get(file.suffix, "application/octet-stream")}, data

    def _proxy(self, options):
        url, headers = options["url"], dict(options.get("headers") or {})
        if options.get("secure"):
            if urlsplit(url).netloc not in self.whitelist:
                return 200, {}, {"status": 403, "body": json.dumps({"error": "domain not in domainWhitelist"})}
            headers = {
                key: PLACEHOLDER.sub(lambda match: self.secure_settings.get(match.group(1), ""), value)
                for key, value in headers.items()
            }
        response = requests.request(
            options.get("type", "GET"), url, headers=headers, cookies=self.cookies(), timeout=30
        )
        self.proxied.append({"options": options, "status": response.status_code})
        return 200, {}, {"status": response.status_code, "body": response.text}
