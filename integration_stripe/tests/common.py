"""Test helpers of the Stripe connector.

* :class:`StripeCaseMixin` -- a Stripe backend on a company with a chart of
  accounts, recorded Stripe payloads (``tests/data/*.json``, shaped like
  the API version the connector pins), signed as Stripe signs them;
* :class:`FakeStripeApi` -- a responder for ``local_http_server`` that
  answers like Stripe's REST API from a dict of objects (retrieve and
  paginated lists), recording the calls;
* :func:`localstripe` -- the localstripe emulator started as a subprocess.
"""

import copy
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import stripe

from odoo import Command

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.integration_base.tests.common import IntegrationCaseMixin

DATA = Path(__file__).parent / "data"
SECRET = "whsec_" + "dGVzdC1zdHJpcGUtc2lnbmluZy1zZWNyZXQtY3VycmVudA"
OLD_SECRET = "whsec_" + "dGVzdC1zdHJpcGUtc2lnbmluZy1zZWNyZXQtcHJldmlvdXM"
API_KEY = "sk_test_" + "51QbXk0Zr8sLm0OdooIntegrationTests"


def load(name):
    """A recorded payload of ``tests/data`` (a fresh copy)."""
    return json.loads((DATA / f"{name}.json").read_text())


def sign(body, secret=SECRET, timestamp=None):
    """The Stripe-Signature header Stripe would send for ``body``."""
    if isinstance(body, bytes):
        body = body.decode()
    return stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)


class StripeCaseMixin(IntegrationCaseMixin):
    @classmethod
    def _create_stripe_backend(cls, **vals):
        values = {
            "name": "Stripe (test)",
            "webhook_secret": SECRET,
            "api_key": API_KEY,
            "stripe_fetch_objects": "",
            "max_attempts": 2,
            "retry_base_seconds": 1,
        }
        values.update(vals)
        return cls._create_backend("stripe", **values)

    @classmethod
    def _prepare_accounting(cls, backend):
        backend.action_prepare_accounting()
        cls.vat15 = cls.env["account.tax"].create(
            {"name": "VAT 15% (Stripe)", "amount": 15.0, "amount_type": "percent", "type_tax_use": "sale"}
        )
        cls.jct10 = cls.env["account.tax"].create(
            {"name": "JCT 10% (Stripe)", "amount": 10.0, "amount_type": "percent", "type_tax_use": "sale"}
        )
        backend.stripe_tax_map_ids = [
            Command.create({"stripe_tax_rate": "txr_1QbVat15Zr8sLm0", "percentage": 15.0, "tax_id": cls.vat15.id}),
            Command.create({"percentage": 10.0, "tax_id": cls.jct10.id}),
        ]

    @staticmethod
    def _with(payload, created=None, event_id=None, **fields):
        """A variant of a recorded event: other id / time / object fields."""
        payload = copy.deepcopy(payload)
        payload["id"] = event_id or f"evt_{uuid.uuid4().hex[:24]}"
        if created is not None:
            payload["created"] = created
        payload["data"]["object"].update(fields)
        return payload

    def _deliver(self, *payloads, backend=None):
        """What the webhook route does after the signature check: store once, enqueue.

        :return: the events, in the order given
        """
        backend = backend or self.backend
        connector = backend._connector()
        events = self.env["integration.event"]
        for payload in payloads:
            identity = connector._webhook_identity(backend, payload, {})
            event, _created = self.env["integration.event"]._ingest(backend, identity, json.dumps(payload), headers={})
            events |= event
        return events

    def _feed(self, *payloads, backend=None):
        events = self._deliver(*payloads, backend=backend)
        self.perform_jobs()
        return events

    def _bound(self, canonical_type, external_id, backend=None):
        return self.env["integration.binding"]._find_record(backend or self.backend, canonical_type, external_id)


class FakeStripeApi:
    """Answers like Stripe's API from ``objects`` (path -> object, list of objects,
    or a callable of the query parameters returning one of them).

    A list is served paginated (``limit``, ``starting_after``, ``has_more``);
    ``posted`` maps ``(method, path)`` to a callable of the parameters returning
    ``(status, body)``; ``calls`` records ``(method, path, params, headers)``.
    """

    def __init__(self, objects=None):
        self.objects = dict(objects or {})
        self.calls = []
        self.posted = {}

    def __call__(self, method, path, headers, body):
        url = urlsplit(path)
        params = {key: values[-1] for key, values in parse_qs(url.query).items()}
        if body:
            params.update({key: values[-1] for key, values in parse_qs(body.decode()).items()})
        self.calls.append((method, url.path, params, dict(headers)))
        if not headers.get("Authorization", "").startswith("Bearer sk_"):
            return 401, {}, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
        handler = self.posted.get((method, url.path))
        if handler:
            status, answer = handler(params)
            return status, {}, answer
        value = self.objects.get(url.path)
        if callable(value):
            value = value(params)
        if value is None:
            return 404, {}, {"error": {"type": "invalid_request_error", "message": f"No such object: {url.path}"}}
        if isinstance(value, list):
            limit = int(params.get("limit", 10))
            start = 0
            after = params.get("starting_after")
            if after:
                start = next(i + 1 for i, obj in enumerate(value) if obj["id"] == after)
            page = value[start : start + limit]
            return 200, {}, {"object": "list", "url": url.path, "data": page, "has_more": start + limit < len(value)}
        return 200, {}, value

    def paths(self, method="GET"):
        return [path for verb, path, _params, _headers in self.calls if verb == method]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def localstripe():
    """Run localstripe on a free port; yield its base URL."""
    binary = os.environ.get("LOCALSTRIPE_BIN") or "/root/.cache/odoo-integration/tools-venv/bin/localstripe"
    if not shutil.which(binary) and not os.path.exists(binary):
        raise AssertionError(f"localstripe is not installed ({binary}): run setup/install")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("localstripe did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


#: ids of the recorded Stripe objects (tests/data)
T0 = 1767225600
CUS = "cus_QaT4p2Zr8sLm01"
INV = "in_1QbXk3Zr8sLm0Inv"
PI = "pi_3QbXk4Zr8sLm0Pay"
SUB = "sub_1QbXk2Zr8sLm0Pro"


class StripeEventsCase(StripeCaseMixin, AccountTestInvoicingCommon):
    """A Stripe backend with accounting prepared that fetches nothing from the
    API: the recorded payloads are the whole truth."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.env.user.sudo().group_ids = [Command.link(cls.env.ref("integration_base.group_integration_manager").id)]
        cls.salesperson = cls.env["res.users"].create({"name": "Sally Sales", "login": "sally.stripe"})
        cls.backend = cls._create_stripe_backend(sale_journal_id=cls.company_data["default_journal_sale"].id)
        cls._prepare_accounting(cls.backend)
        cls.income = cls._create_product(name="Stripe subscriptions", lst_price=0.0)
        cls.backend.stripe_income_product_id = cls.income

    def _invoice_flow(self):
        self._feed(load("customer.created"), load("invoice.finalized"))
        return self._bound("invoice", INV)
