"""Who may do what: every public method and every public route, as every kind of caller.

The methods are found by introspection -- every RPC-callable method (no
leading underscore, not ``@api.private``) that a class of an
``integration_*`` addon defines or overrides, on any model -- and each must
have a row in :data:`METHODS`: a new public method without a row fails
:meth:`TestAccessMatrix.test_every_public_method_has_a_row`. The routes are
found the same way in Odoo's routing map and checked against :data:`ROUTES`.

Each row is called through ``POST /json/2/<model>/<method>`` with the API key
of a public (none), portal, internal, integration user, integration manager
and system administrator caller, all of company A, on records of company A
and of company B:

* a caller of the row's roles, on company A: the call succeeds (or, for rows
  marked ``business_errors``, fails for a business reason, never for rights);
* anyone else, and everyone on company B: refused for lack of rights (HTTP
  401/403, ``AccessError``), and the records are left exactly as they were.

Rows of addons that are not installed are skipped.
"""

import json
from collections import namedtuple

from odoo.exceptions import AccessError
from odoo.service.model import get_public_method
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..exceptions import PermanentError
from .common import LocalHttpServer
from .common_rpc import ROLES, RoleRpcMixin

USERS = frozenset({"user", "manager", "system"})
MANAGERS = frozenset({"manager", "system"})
SYSTEM = frozenset({"system"})
NOBODY = frozenset()

#: ``prepare(case, company)`` -> ``(records, kwargs, context)``: the records
#: the call works on (an empty recordset of the model for model methods)
Row = namedtuple("Row", "roles prepare business_errors per_company", defaults=(False, True))


def _backend(case, company):
    return case.world[company]["backend"]


def _stripe_backend(case, company):
    return case.world[company]["stripe"]


def _fresh_exception(case, company):
    return case._failed_event(company).exception_ids


def _wizard(model, vals_of):
    """A wizard owned by the caller (transient records belong to their creator)."""

    def prepare(case, company):
        wizard = case.env[model].sudo().create(vals_of(case, company))
        case.env.flush_all()
        case.env.cr.execute(f'UPDATE "{wizard._table}" SET create_uid = %s WHERE id = %s', (case.caller.id, wizard.id))
        wizard.invalidate_recordset()
        return wizard, {}, {}

    return prepare


def _model(model, kwargs=None, context=None):
    def prepare(case, company):
        return (
            case.env[model],
            dict(kwargs(case, company) if callable(kwargs) else kwargs or {}),
            (context(case, company) if callable(context) else context or {}),
        )

    return prepare


def _records(getter, kwargs=None):
    def prepare(case, company):
        return getter(case, company), dict(kwargs(case, company) if callable(kwargs) else kwargs or {}), {}

    return prepare


def _exception_context(case, company):
    return {"active_id": _fresh_exception(case, company).id, "active_model": "integration.exception"}


METHODS = {
    # integration.backend
    ("integration.backend", "action_test_connection"): Row(MANAGERS, _records(_backend)),
    ("integration.backend", "action_rotate_webhook_secret"): Row(SYSTEM, _records(_backend)),
    ("integration.backend", "action_regenerate_reference"): Row(MANAGERS, _records(_backend)),
    ("integration.backend", "action_reset_circuit"): Row(MANAGERS, _records(_backend)),
    ("integration.backend", "action_view_events"): Row(USERS, _records(_backend)),
    ("integration.backend", "action_view_exceptions"): Row(USERS, _records(_backend)),
    ("integration.backend", "write"): Row(MANAGERS, _records(_backend, {"vals": {"name": "Renamed"}})),
    ("integration.backend", "create"): Row(
        MANAGERS,
        _model(
            "integration.backend",
            lambda case, company: {
                "vals_list": [{"name": "New", "connector_type": "stripe", "company_id": company.id}]
            },
        ),
    ),
    ("integration.backend", "action_rotate_helpdesk_api_key"): Row(SYSTEM, _records(_backend)),
    ("integration.backend", "action_prepare_accounting"): Row(MANAGERS, _records(_stripe_backend)),
    ("integration.backend", "action_stripe_add_tax_mapping"): Row(MANAGERS, _records(_stripe_backend)),
    # events, records touched, bindings
    ("integration.event", "action_retry"): Row(USERS, _records(lambda case, company: case._failed_event(company))),
    ("integration.event", "action_replay"): Row(MANAGERS, _records(lambda case, company: case._failed_event(company))),
    ("integration.event", "action_view_jobs"): Row(
        MANAGERS, _records(lambda case, company: case.world[company]["event"])
    ),
    ("integration.event", "action_view_records"): Row(
        USERS, _records(lambda case, company: case.world[company]["event"])
    ),
    ("integration.event.record", "action_open_record"): Row(
        USERS, _records(lambda case, company: case.world[company]["event"].record_ids)
    ),
    ("integration.binding", "action_open_record"): Row(
        USERS, _records(lambda case, company: case.world[company]["binding"])
    ),
    # exceptions and their wizards
    ("integration.exception", "action_take"): Row(USERS, _records(_fresh_exception)),
    ("integration.exception", "action_retry"): Row(USERS, _records(_fresh_exception)),
    ("integration.exception", "action_resolve"): Row(USERS, _records(_fresh_exception)),
    ("integration.exception", "action_ignore"): Row(USERS, _records(_fresh_exception, {"reason": "sent twice"})),
    ("integration.exception", "action_edit_payload"): Row(
        MANAGERS, _records(_fresh_exception, {"payload": json.dumps({"type": "customer", "edited": True})})
    ),
    ("integration.exception", "action_open_event"): Row(USERS, _records(_fresh_exception)),
    ("integration.exception", "action_view_events"): Row(USERS, _records(_fresh_exception)),
    ("integration.exception", "action_escalate"): Row(USERS, _records(_fresh_exception)),
    ("integration.exception", "action_open_record"): Row(USERS, _records(_fresh_exception)),
    ("integration.exception", "write"): Row(USERS, _records(_fresh_exception, {"vals": {"severity": "high"}})),
    ("integration.exception.edit.wizard", "default_get"): Row(
        MANAGERS, _model("integration.exception.edit.wizard", {"fields_list": ["payload"]}, _exception_context)
    ),
    ("integration.exception.link.wizard", "default_get"): Row(
        USERS, _model("integration.exception.link.wizard", {"fields_list": ["partner_id"]}, _exception_context)
    ),
    ("integration.exception.edit.wizard", "action_confirm"): Row(
        MANAGERS,
        _wizard(
            "integration.exception.edit.wizard",
            lambda case, company: {"exception_id": _fresh_exception(case, company).id, "payload": "{}"},
        ),
    ),
    # Correct and retry: the exception of a fresh event has no refused value, so confirming is a business
    # error for those who may (nothing to correct) and refused for the others
    ("integration.exception.correct.wizard", "default_get"): Row(
        USERS, _model("integration.exception.correct.wizard", {"fields_list": ["line_ids"]}, _exception_context)
    ),
    ("integration.exception.correct.wizard", "action_confirm"): Row(
        USERS,
        _wizard(
            "integration.exception.correct.wizard",
            lambda case, company: {"exception_id": _fresh_exception(case, company).id},
        ),
        business_errors=True,
    ),
    ("integration.exception.ignore.wizard", "action_confirm"): Row(
        USERS,
        _wizard(
            "integration.exception.ignore.wizard",
            lambda case, company: {"exception_ids": _fresh_exception(case, company).ids, "reason": "duplicate"},
        ),
    ),
    ("integration.exception.link.wizard", "action_confirm"): Row(
        USERS,
        _wizard("integration.exception.link.wizard", lambda case, company: case._link_wizard_vals(company)),
    ),
    # canonical types: managers rename them, addons add them (no one through RPC)
    ("integration.canonical.type", "write"): Row(
        MANAGERS,
        _records(lambda case, company: case._canonical_type(), {"vals": {"name": "Customer"}}),
        per_company=False,
    ),
    ("integration.canonical.type", "create"): Row(
        NOBODY,
        _model("integration.canonical.type", {"vals_list": [{"code": "deal", "name": "Deal"}]}),
        per_company=False,
    ),
    ("integration.canonical.type", "unlink"): Row(
        NOBODY, _records(lambda case, company: case._canonical_type()), per_company=False
    ),
    # streams, subscriptions, jobs, monitoring
    ("integration.stream", "action_run"): Row(MANAGERS, _records(lambda case, company: case._idle_stream(company))),
    ("integration.stream", "action_reset_cursor"): Row(
        MANAGERS, _records(lambda case, company: case.world[company]["stream"])
    ),
    ("integration.subscription", "create"): Row(
        MANAGERS,
        _model(
            "integration.subscription",
            lambda case, company: {
                "vals_list": [
                    {
                        "name": "Made",
                        "partner_id": case.world[company]["partner"].id,
                        "plan_code": "pro",
                        "company_id": company.id,
                    }
                ]
            },
        ),
    ),
    ("integration.subscription", "write"): Row(
        MANAGERS, _records(lambda case, company: case.world[company]["subscription"], {"vals": {"quantity": 3}})
    ),
    # jobs belong to queue_job's company (the webhook's), not to a backend's
    ("queue.job", "write"): Row(
        MANAGERS,
        _records(lambda case, company: case.world[company]["event"].job_ids[:1], {"vals": {"priority": 7}}),
        per_company=False,
    ),
    ("integration.monitor", "action_rotate_metrics_token"): Row(
        SYSTEM, _model("integration.monitor"), per_company=False
    ),
    # Odoo models the suite extends
    # contacts: Odoo's own rights (Contact/Creation), which only the system role has here
    ("res.partner", "create"): Row(
        SYSTEM,
        _model("res.partner", lambda case, company: {"vals_list": [{"name": "Made", "company_id": company.id}]}),
    ),
    ("res.partner", "write"): Row(
        SYSTEM, _records(lambda case, company: case.world[company]["partner"], {"vals": {"phone": "+32 2 1"}})
    ),
    ("res.partner", "action_view_integration_bindings"): Row(
        USERS, _records(lambda case, company: case.world[company]["partner"])
    ),
    ("account.payment", "action_post"): Row(MANAGERS, _records(lambda case, company: case._draft_payment(company))),
    # deals: Odoo's own rights (Sales), which none of the roles here holds
    ("crm.lead", "create"): Row(
        NOBODY,
        _model(
            "crm.lead",
            lambda case, company: {"vals_list": [{"name": "Deal", "type": "opportunity", "company_id": company.id}]},
        ),
    ),
    ("crm.lead", "write"): Row(NOBODY, _records(lambda case, company: case._lead(company), {"vals": {"name": "Won"}})),
}

#: every public route: how it is called and what each caller gets
RouteRow = namedtuple("RouteRow", "method path expected")
ROUTES = {
    "/integration/webhook/<string:reference>": RouteRow(
        "POST",
        lambda case, company: f"/integration/webhook/{case.world[company]['backend'].reference}",
        dict.fromkeys(ROLES, 401),  # a session is no credential: the signature is
    ),
    "/integration/helpdesk/<string:reference>/billing-context": RouteRow(
        "GET",
        lambda case, company: (
            f"/integration/helpdesk/{case.world[company]['zendesk'].reference}/billing-context"
            "?email=someone@example.com"
        ),
        dict.fromkeys(ROLES, 401),  # the backend's key is the only credential
    ),
    "/integration/metrics": RouteRow(
        "GET", lambda case, company: "/integration/metrics", dict(dict.fromkeys(ROLES, 401), manager=200, system=200)
    ),
    "/integration/health": RouteRow("GET", lambda case, company: "/integration/health", dict.fromkeys(ROLES, 200)),
    "/integration/<path:subpath>": RouteRow(
        "GET", lambda case, company: "/integration/no-such-route", dict.fromkeys(ROLES, 404)
    ),
}


def _suite_class(klass):
    return getattr(klass, "__module__", "").startswith("odoo.addons.integration_")


@tagged("post_install", "-at_install")
class TestAccessMatrix(RoleRpcMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls._setup_roles()
        cls.env["account.chart.template"].try_loading("generic_coa", cls.company_b, install_demo=False)
        cls.server = LocalHttpServer(lambda *args: (200, {}, {"ok": True}))
        cls.server.__enter__()
        cls.addClassCleanup(cls.server.__exit__)
        cls.world = {company: cls._make_world(company) for company in (cls.company_a, cls.company_b)}

    @classmethod
    def _make_world(cls, company):
        env = cls.env(context=dict(cls.env.context, allowed_company_ids=company.ids))
        backend = cls._create_backend("canonical", name=f"Matrix {company.name}", company_id=company.id)
        backend.api_url = cls.server.url
        partner = env["res.partner"].create({"name": f"Partner {company.name}", "company_id": company.id})
        event = cls._new_event(backend)
        event._touch(partner, "created")
        world = {
            "backend": backend,
            "partner": partner,
            "event": event,
            "binding": env["integration.binding"]._bind(backend, "customer", f"cus-{company.id}", partner),
            "subscription": env["integration.subscription"].create(
                {
                    "name": "Pro",
                    "partner_id": partner.id,
                    "plan_code": "pro",
                    "status": "active",
                    "company_id": company.id,
                }
            ),
        }
        if "integration.connector.stripe" in env:
            world["stripe"] = cls._create_backend("stripe", name=f"Stripe {company.name}", company_id=company.id)
            world["stream"] = env["integration.stream"].search([("backend_id", "=", world["stripe"].id)], limit=1)
        if "integration.connector.zendesk" in env:
            world["zendesk"] = cls._create_backend(
                "zendesk", name=f"Zendesk {company.name}", company_id=company.id, api_key="zd-matrix-key-0123456789"
            )
        return world

    @classmethod
    def _new_event(cls, backend):
        Event = cls.env["integration.event"]
        event, _created = Event._ingest(
            backend,
            {"external_id": f"evt-{Event.search_count([]) + 1}-{backend.id}", "event_type": "customer"},
            json.dumps({"type": "customer"}),
        )
        return event

    def _failed_event(self, company):
        event = self._new_event(self.world[company]["backend"])
        event.sudo().write({"state": "failed", "error_message": "mapping"})
        self.env["integration.exception"]._open_for_event(event, PermanentError("the payload cannot be mapped"))
        return event

    def _link_wizard_vals(self, company):
        exception = self._failed_event(company).exception_ids
        exception.sudo().write(
            {"link_model": "res.partner", "link_canonical_type": "customer", "link_external_id": "cus-linked"}
        )
        return {"exception_id": exception.id, "partner_id": self.world[company]["partner"].id}

    def _canonical_type(self):
        return self.env["integration.canonical.type"].search([("code", "=", "customer")])

    def _lead(self, company):
        return self.env["crm.lead"].create({"name": "Deal", "type": "opportunity", "company_id": company.id})

    def _idle_stream(self, company):
        stream = self.world[company]["stream"]
        stream.sudo().write({"state": "idle"})
        return stream

    def _draft_payment(self, company):
        return (
            self.env["account.payment"]
            .with_company(company)
            .create(
                {
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": self.world[company]["partner"].id,
                    "amount": 10.0,
                    "company_id": company.id,
                }
            )
        )

    # ------------------------------------------------------------------
    def _public_methods(self):
        found = set()
        for model_name in self.env.registry:
            Model = self.env[model_name]
            for name in dir(type(Model)):
                if name.startswith("_"):
                    continue
                defined_here = [klass for klass in type(Model).__mro__ if name in vars(klass) and _suite_class(klass)]
                if not defined_here:
                    continue
                if Model._abstract and not hasattr(getattr(type(Model), name), "_api_model"):
                    continue  # a mixin's record method: checked on the models that inherit it
                try:
                    get_public_method(Model, name)
                except (AttributeError, AccessError):
                    continue
                found.add((model_name, name))
        return found

    def test_every_public_method_has_a_row(self):
        found = self._public_methods()
        self.assertIn(("integration.backend", "action_rotate_webhook_secret"), found, "the introspection works")
        self.assertFalse(found - set(METHODS), "public methods without a row in METHODS (who may call them?)")

    def test_every_public_route_has_a_row(self):
        IrHttp = self.env["ir.http"]
        modules = sorted(self.env.registry._init_modules)
        routes = {
            url
            for url, endpoint in IrHttp._generate_routing_rules(modules, converters=IrHttp._get_converters())
            if _suite_class(getattr(endpoint, "func", endpoint))
        }
        self.assertIn("/integration/webhook/<string:reference>", routes, "the introspection works")
        self.assertFalse(routes - set(ROUTES), "public routes without a row in ROUTES")

    def _snapshot(self, records):
        if not records or not records._ids:
            return None
        names = [name for name, field in records._fields.items() if field.store and name not in ("write_date",)]
        records.invalidate_recordset()
        return repr(records.sudo().read(names)) + repr(
            records.sudo().message_ids.ids if "message_ids" in records else []
        )

    def test_every_public_method_as_every_caller(self):
        for (model, method), row in sorted(METHODS.items()):
            if model not in self.env or not hasattr(type(self.env[model]), method):
                continue
            companies = (self.company_a, self.company_b) if row.per_company else (self.company_a,)
            for company in companies:
                for role in ROLES:
                    allowed = role in row.roles and company == self.company_a
                    with self.subTest(model=model, method=method, company=company.name, role=role, allowed=allowed):
                        self._check_call(model, method, row, company, role, allowed)

    def _check_call(self, model, method, row, company, role, allowed):
        self.caller = self.role_users.get(role, self.env.ref("base.public_user"))
        records, kwargs, context = row.prepare(self, company)
        before = self._snapshot(records)
        answer = self.json2(role, model, method, ids=records.ids, context=context, **kwargs)
        if allowed:
            self.assertFalse(answer.refused, answer)
            if not row.business_errors:
                self.assertTrue(answer.ok, answer)
        else:
            self.assertTrue(answer.refused, answer)
            self.assertEqual(self._snapshot(records), before, "a refused call changed nothing")

    def test_every_public_route_as_every_caller(self):
        backend_names = {company: self.world[company]["backend"].name for company in self.world}
        for rule, row in sorted(ROUTES.items()):
            for company in (self.company_a, self.company_b):
                path = row.path(self, company)
                for role in ROLES:
                    with self.subTest(route=rule, company=company.name, role=role):
                        if role == "public":
                            self.authenticate(None, None)
                        else:
                            login = self.role_users[role].login
                            self.authenticate(login, login)
                        with mute_logger("odoo.addons.integration_base.controllers.main", "odoo.http"):
                            response = self.url_open(
                                path,
                                data=b"{}" if row.method == "POST" else None,
                                headers={"Content-Type": "application/json"} if row.method == "POST" else None,
                                method=row.method,
                            )
                        self.assertEqual(response.status_code, row.expected[role], response.text[:300])
                        if rule in ("/integration/metrics", "/integration/health") and role in MANAGERS:
                            # a manager's session sees the backends of their companies only
                            self.assertIn(backend_names[self.company_a], response.text)
                            self.assertNotIn(backend_names[self.company_b], response.text)
                        elif rule == "/integration/health":
                            self.assertNotIn(backend_names[self.company_a], response.text, "no details")
            with self.subTest(route=rule, method="OPTIONS"):
                response = self.url_open(row.path(self, self.company_a), method="OPTIONS")
                self.assertEqual(response.status_code, 404 if "<path:" in rule else 405, response.text[:300])
