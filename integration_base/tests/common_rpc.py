"""Calling the suite as each kind of user would: real HTTP, real sessions, real API keys.

:class:`RoleRpcMixin` (for ``HttpCase``) makes two companies and one user per
role in company A, each with an API key, and calls models the two ways a
client does:

* :meth:`~RoleRpcMixin.json2` -- ``POST /json/2/<model>/<method>`` with the
  role's API key as bearer token (stateless; ``public`` sends none);
* :meth:`~RoleRpcMixin.call_kw` -- ``POST /web/dataset/call_kw`` with the
  role's logged-in session cookie (the web client's way).

Both return :class:`RpcResult` (HTTP status, result or error class name), so
a test can say what was refused and why without parsing Odoo's error shapes.
"""

import json

from odoo.tests import new_test_user
from odoo.tests.common import HOST
from odoo.tools import mute_logger

from .common import IntegrationCaseMixin

#: every kind of caller, least privileged first
ROLES = ("public", "portal", "internal", "user", "manager", "system")

ROLE_GROUPS = {
    "portal": "base.group_portal",
    "internal": "base.group_user",
    "user": "base.group_user,integration_base.group_integration_user",
    "manager": "base.group_user,integration_base.group_integration_manager,account.group_account_manager,"
    "product.group_product_manager",
    "system": "base.group_system,integration_base.group_integration_manager,account.group_account_manager,"
    "product.group_product_manager",
}


class RpcResult:
    """What an RPC call answered."""

    def __init__(self, status, result=None, error=None, message=""):
        self.status = status
        self.result = result
        #: the Odoo exception class name (``odoo.exceptions.AccessError``), or None
        self.error = error
        self.message = message

    @property
    def ok(self):
        return self.error is None and self.status == 200

    @property
    def refused(self):
        """Refused for lack of rights (not for a business reason)."""
        return self.status in (401, 403) or (self.error or "").endswith(
            ("AccessError", "AccessDenied", "SessionExpiredException")
        )

    def __repr__(self):
        return f"<RpcResult {self.status} {self.error or 'ok'}: {self.message[:200]}>"


class RoleRpcMixin(IntegrationCaseMixin):
    """Two companies, one user per role in company A, each with an API key."""

    @classmethod
    def _setup_roles(cls):
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Company B (security tests)"})
        cls.role_users = {}
        cls.role_keys = {}
        for role, groups in ROLE_GROUPS.items():
            user = new_test_user(
                cls.env,
                login=f"sec_{role}",
                groups=groups,
                company_id=cls.company_a.id,
                company_ids=[(6, 0, cls.company_a.ids)],
            )
            cls.role_users[role] = user
            cls.role_keys[role] = cls.env["res.users.apikeys"].with_user(user).sudo()._generate(None, "tests", None)

    # ------------------------------------------------------------------
    def json2(self, role, model, method, ids=(), **kwargs):
        """``POST /json/2/<model>/<method>`` as ``role`` (its API key)."""
        headers = {"Content-Type": "application/json"}
        if role != "public":
            headers["Authorization"] = f"bearer {self.role_keys[role]}"
        body = dict(kwargs, ids=list(ids))
        # no session cookie: the API key alone says who calls
        session_id = self.opener.cookies.get("session_id")
        self.opener.cookies.pop("session_id", None)
        try:
            with mute_logger("odoo.http", "odoo.addons.base.models.ir_rule"):
                response = self.url_open(
                    f"/json/2/{model}/{method}", data=json.dumps(body), headers=headers, timeout=60
                )
        finally:
            if session_id:
                self.opener.cookies.set("session_id", session_id, domain=HOST)
        try:
            answer = response.json()
        except ValueError:
            return RpcResult(response.status_code, error="http", message=response.text)
        if response.status_code == 200:
            return RpcResult(200, result=answer)
        if isinstance(answer, dict):
            return RpcResult(response.status_code, error=answer.get("name"), message=answer.get("message") or "")
        return RpcResult(response.status_code, error="http", message=str(answer))

    def call_kw(self, role, model, method, args=(), kwargs=None):
        """``POST /web/dataset/call_kw`` with ``role``'s logged-in session."""
        if role == "public":
            self.authenticate(None, None)
        else:
            login = self.role_users[role].login
            self.authenticate(login, login)
        payload = {
            "id": 1,
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"model": model, "method": method, "args": list(args), "kwargs": kwargs or {}},
        }
        with mute_logger("odoo.http", "odoo.addons.base.models.ir_rule"):
            response = self.url_open(
                f"/web/dataset/call_kw/{model}/{method}",
                data=json.dumps(payload),
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
        answer = response.json()
        if "error" in answer:
            data = answer["error"].get("data") or {}
            return RpcResult(response.status_code, error=data.get("name"), message=data.get("message") or "")
        return RpcResult(response.status_code, result=answer.get("result"))
