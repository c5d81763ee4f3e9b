"""Batch streams against an API answering like Stripe's: missed-event recovery
(Events API), backfill (paginated with ``starting_after``, resumable) and the
payout reconciliation sweep."""

import time

from odoo import Command
from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.integration_base.tests.common import local_http_server

from .common import FakeStripeApi, StripeCaseMixin, load

CUS = "cus_QaT4p2Zr8sLm01"


@tagged("post_install", "-at_install")
class TestStripeStreams(StripeCaseMixin, AccountTestInvoicingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.env.user.sudo().group_ids = [Command.link(cls.env.ref("integration_base.group_integration_manager").id)]
        cls.backend = cls._create_stripe_backend()
        cls._prepare_accounting(cls.backend)

    def _stream(self, code, **vals):
        stream = self.env["integration.stream"].search([("backend_id", "=", self.backend.id), ("stream", "=", code)])
        stream.write(vals)
        return stream

    def test_stripe_backends_get_their_streams(self):
        streams = self.env["integration.stream"].search([("backend_id", "=", self.backend.id)])
        self.assertRecordValues(
            streams.sorted("stream"),
            [
                {"stream": "stripe_backfill", "scheduled": False, "interval_minutes": 1440},
                {"stream": "stripe_events", "scheduled": True, "interval_minutes": 60},
                {"stream": "stripe_payouts", "scheduled": True, "interval_minutes": 1440},
            ],
        )

    def test_processing_reads_the_current_object_when_configured(self):
        """A late event carries an old copy: the object is read again from the API."""
        self.backend.stripe_fetch_objects = "customer,invoice"
        current = dict(load("customer.updated")["data"]["object"], name="Acme Widgets (today)")
        invoice = load("invoice.paid")["data"]["object"]
        api = FakeStripeApi({f"/v1/customers/{CUS}": current, f"/v1/invoices/{invoice['id']}": invoice})
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            # an old invoice.created (a draft) arrives before anything about its customer
            events = self._feed(load("invoice.created"))
        self.assertEqual(events.state, "done", events.error_message)
        self.assertEqual(
            api.paths(), [f"/v1/invoices/{invoice['id']}", f"/v1/customers/{CUS}"], "the invoice, then its customer"
        )
        self.assertEqual(api.calls[1][2].get("expand[0]"), "tax_ids")
        self.assertEqual(self._bound("customer", CUS).name, "Acme Widgets (today)")
        move = self._bound("invoice", invoice["id"])
        self.assertEqual((move.state, move.payment_state), ("posted", "paid"), "the invoice as it is now: paid")
        self.assertIn('"type": "customer"', events.canonical)
        # without fetching, the same kind of event is taken as it is
        self.backend.stripe_fetch_objects = ""
        older = self._with(load("customer.created"), created=load("customer.updated")["created"] + 1)
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            self._feed(older)
        self.assertEqual(self._bound("customer", CUS).name, "Acme Widgets SA")
        self.assertEqual(len(api.calls), 2, "no API call")

    def test_charge_refunded_without_its_refunds_asks_for_them(self):
        """Since API 2022-11-15 a charge does not list its refunds: they are read from /v1/refunds."""
        self._feed(load("customer.created"), load("invoice.finalized"), load("payment_intent.succeeded"))
        refunded = load("charge.refunded")
        refund = refunded["data"]["object"].pop("refunds")["data"][0]
        api = FakeStripeApi({"/v1/refunds": [refund]})
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            event = self._feed(refunded)
        self.assertEqual(event.state, "done", event.error_message)
        self.assertEqual(api.calls[0][1:3], ("/v1/refunds", {"charge": "ch_3QbXk4Zr8sLm0Chg", "limit": "100"}))
        self.assertEqual(self._bound("refund", refund["id"]).amount_total, 50.0)

    def test_missed_events_are_recovered_and_known_ones_skipped(self):
        received = load("customer.created")
        self._feed(received)  # this one reached the webhook
        missed = [load("invoice.finalized"), load("product.created"), load("customer.updated")]
        other_mode = self._with(load("price.created"), event_id="evt_live_one")
        other_mode["livemode"] = True
        api = FakeStripeApi({"/v1/events": [missed[2], missed[0], received, missed[1], other_mode]})
        stream = self._stream("stripe_events", page_size=2)
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            since = int(time.time()) - 30 * 86400
            stream.action_run()
            self.perform_jobs()
        self.assertRecordValues(
            stream, [{"state": "idle", "pages_done": 3, "items_done": 4, "items_new": 3, "cursor": "done"}]
        )
        first = api.calls[0][2]
        self.assertEqual(first["limit"], "2")
        self.assertAlmostEqual(int(first["created[gte]"]), since, delta=5, msg="the last 30 days")
        self.assertEqual(
            [call[2].get("starting_after") for call in api.calls], [None, missed[0]["id"], missed[1]["id"]]
        )
        events = self.env["integration.event"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(events), 4, "the event of the other mode is not taken")
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("error_message"))
        self.assertEqual(sorted(events.mapped("source")), ["stream", "stream", "stream", "webhook"])
        self.assertEqual(self._bound("customer", CUS).name, "Acme Widgets NV")
        self.assertEqual(self._bound("invoice", "in_1QbXk3Zr8sLm0Inv").state, "posted")
        # a second sweep starts from the newest event again and adds nothing
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            stream.action_run()
            self.perform_jobs()
        self.assertEqual(stream.items_new, 0)
        self.assertEqual(len(self.env["integration.event"].search([("backend_id", "=", self.backend.id)])), 4)

    def test_backfill_pages_through_every_kind_and_resumes(self):
        customer = load("customer.created")["data"]["object"]
        second = dict(customer, id="cus_SecondZr8sLm0", email="ops@globex.example", name="Globex")
        product = load("product.created")["data"]["object"]
        plan = dict(load("customer.subscription.created")["data"]["object"]["plan"], product=product)
        subscription = load("customer.subscription.created")["data"]["object"]
        invoice = load("invoice.paid")["data"]["object"]
        state = {"fail_once": True}

        def subscriptions(params):
            if state["fail_once"]:
                state["fail_once"] = False
                return None  # 404: the run stops, its cursor kept
            return [subscription]

        api = FakeStripeApi(
            {
                "/v1/customers": [customer, second],
                "/v1/products": [product],
                "/v1/plans": [plan],  # no /v1/prices here: legacy plans are read instead
                "/v1/subscriptions": subscriptions,
                "/v1/invoices": [invoice],
            }
        )
        stream = self._stream("stripe_backfill", page_size=1)
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            stream.action_run()
            self.perform_jobs()
            self.assertEqual(stream.state, "failed")
            self.assertEqual(stream.cursor, "subscriptions:", "resumes at the page that failed")
            self.assertIn("not found", stream.last_error)
            stream.action_run()
            self.perform_jobs()
        self.assertEqual(stream.state, "idle")
        self.assertEqual(stream.cursor, "done:")
        paths = [(path, params.get("starting_after")) for _m, path, params, _h in api.calls]
        self.assertEqual(
            paths,
            [
                ("/v1/customers", None),
                ("/v1/customers", CUS),
                ("/v1/products", None),
                ("/v1/prices", None),
                ("/v1/plans", None),
                ("/v1/subscriptions", None),
                ("/v1/subscriptions", None),
                ("/v1/invoices", None),
            ],
        )
        self.assertEqual(api.calls[5][2]["status"], "all", "canceled subscriptions too")
        self.assertEqual(api.calls[4][2]["expand[0]"], "data.product", "prices come with their product")
        self._check_backfilled(api)

    def _check_backfilled(self, api):
        """Every kind of object of the backfill is in Odoo, read only."""
        events = self.env["integration.event"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("error_message"))
        self.assertEqual(
            sorted(events.mapped("event_type")),
            [
                "customer.subscription.updated",
                "customer.updated",
                "customer.updated",
                "invoice.paid",
                "plan.updated",
                "product.updated",
            ],
        )
        self.assertTrue(self._bound("customer", "cus_SecondZr8sLm0"))
        self.assertEqual(self._bound("product", "prod_QbPro01Zr8sLm").list_price, 49.0)
        self.assertEqual(self._bound("subscription", "sub_1QbXk2Zr8sLm0Pro").status, "active")
        move = self._bound("invoice", "in_1QbXk3Zr8sLm0Inv")
        self.assertEqual((move.state, move.payment_state), ("posted", "paid"), "a paid invoice comes with its payment")
        self.assertFalse(api.paths("POST"), "a backfill only reads")

    def test_payout_sweep_reconciles_each_paid_payout_once(self):
        self._feed(
            load("customer.created"),
            load("invoice.finalized"),
            load("payment_intent.succeeded"),
            load("charge.refunded"),
        )
        payout = load("payout.paid")["data"]["object"]
        api = FakeStripeApi({"/v1/payouts": [payout], "/v1/balance_transactions": load("balance_transactions")["data"]})
        stream = self._stream("stripe_payouts")
        with local_http_server(api) as server:
            self.backend.api_url = server.url
            stream.action_run()
            self.perform_jobs()
            stream.action_run()
            self.perform_jobs()
        self.assertEqual(api.calls[0][2]["status"], "paid")
        event = self.env["integration.event"].search([("event_type", "=", "payout.reconcile")])
        self.assertEqual(len(event), 1, "the second sweep finds the payout already in the inbox")
        self.assertEqual(event.state, "done", event.error_message)
        entry = self._bound("payout", payout["id"])
        self.assertEqual(entry.state, "posted")
        clearing = entry.line_ids.filtered(lambda line: line.account_id == self.backend.stripe_clearing_account_id)
        self.assertTrue(clearing and all(clearing.mapped("reconciled")))
