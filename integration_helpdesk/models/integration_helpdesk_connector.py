"""What every helpdesk connector shares (Zendesk, Freshdesk).

A helpdesk backend answers the billing-context API, reads the helpdesk's
API with its own credentials (``helpdesk_api_user`` / ``helpdesk_api_token``,
system administrators only) and resolves a ticket's requester once: an
event that names the requester by id only is completed with the requester's
e-mail from the helpdesk's API, unless Odoo already knows the requester (a
binding, or the ticket's own requester e-mail). The support-ticket applier
then binds the requester to the contact with that e-mail.

A concrete connector inherits this model and overrides the ``_helpdesk_*``
hooks: how to authenticate, where the API lives, how to read a person.
"""

import json

from odoo import models
from odoo.exceptions import UserError

from odoo.addons.integration_base.exceptions import IntegrationError, PermanentError
from odoo.addons.integration_base.http_client import send


class IntegrationHelpdeskConnector(models.AbstractModel):
    _name = "integration.helpdesk.connector"
    _inherit = "integration.connector"
    _description = "Helpdesk connector (shared by the helpdesk systems)"

    def _offers_billing_context(self, backend):
        return True

    def _sent_credential_fields(self, backend):
        # the API key is the billing-context key the helpdesk sends us: never sent
        return ("helpdesk_api_token",)

    # ------------------------------------------------------------------
    # Hooks of each helpdesk
    # ------------------------------------------------------------------
    def _helpdesk_auth_headers(self, backend):
        """Authorization headers of the helpdesk's API. :raise PermanentError: no credentials"""
        raise PermanentError(f"connector {backend.connector_type} has no helpdesk API")

    def _helpdesk_fetch_person(self, backend, ref):
        """The requester ``ref`` as the helpdesk's API knows it.

        :return: dict of ``email``, ``name`` and ``organization_ref``, or
            None when the helpdesk no longer has this person
        """
        raise PermanentError(f"connector {backend.connector_type} cannot read people")

    def _helpdesk_test_path(self, backend):
        """A cheap GET proving the credentials work (e.g. the API user)."""
        raise UserError(self.env._("This connector has no connection test."))

    def _helpdesk_push_billing(self, backend, ref, message):
        """Write the customer's billing fields on the helpdesk record ``ref`` (a person or an organization).

        :param message: the canonical ``customer_billing`` message
        :return: the response, or None when the helpdesk no longer has ``ref``
        """
        raise PermanentError(f"connector {backend.connector_type} does not write billing fields")

    # ------------------------------------------------------------------
    # The API
    # ------------------------------------------------------------------
    def _helpdesk_api_url(self, backend):
        url = (backend.api_url or "").rstrip("/")
        if not url:
            raise PermanentError(
                f"backend {backend.name} has no API URL",
                hint="Set the helpdesk's address (e.g. https://acme.zendesk.com) as the backend's API URL.",
            )
        return url

    def _helpdesk_api_ready(self, backend):
        """True when the backend can call the helpdesk's API (address and token set)."""
        return bool(backend.api_url and backend.sudo().helpdesk_api_token)

    def _helpdesk_request(self, backend, method, path, payload=None):
        """One call to the helpdesk's API: timeout, rate limit, errors classified.

        :return: the decoded JSON answer (None for an empty body)
        :raise RateLimited: / :raise RetryableError: / :raise PermanentError:
        """
        url = f"{self._helpdesk_api_url(backend)}{path}"
        response = send(
            method,
            url,
            timeout=backend.timeout,
            headers=dict(self._helpdesk_auth_headers(backend), Accept="application/json"),
            json=payload,
            rate=backend.rate_limit,
            rate_key=backend.id,
        )
        return self._helpdesk_json(response, method, path)

    def _helpdesk_json(self, response, method, path):
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(f"{method} {path} answered something else than JSON") from exc

    def _helpdesk_get_or_none(self, backend, path):
        """GET ``path``; None when the helpdesk answers 404 (deleted)."""
        return self._helpdesk_or_none(lambda: self._helpdesk_request(backend, "GET", path))

    def _helpdesk_or_none(self, call):
        """``call()``; None when the helpdesk answers 404 (the object was deleted there)."""
        try:
            return call()
        except PermanentError as exc:
            response = getattr(exc, "response", None)
            if response is not None and response.status_code == 404:
                return None
            raise

    def _test_connection(self, backend):
        try:
            self._helpdesk_request(backend, "GET", self._helpdesk_test_path(backend))
        except IntegrationError as exc:
            raise UserError(self.env._("The helpdesk refused the connection test: %s", exc.message)) from exc
        return self.env._("%s API reachable with these credentials.", backend.name)

    # ------------------------------------------------------------------
    # The requester of a ticket, resolved once
    # ------------------------------------------------------------------
    def _resolve_requester(self, event, ticket_ref, data):
        """Complete ``data`` with the requester's e-mail when Odoo cannot link the ticket otherwise.

        Asks the helpdesk's API only when the requester is not bound to a
        contact and the ticket does not remember the requester's e-mail.
        """
        ref = data.get("customer_ref")
        if not ref or data.get("requester_email"):
            return
        backend = event.backend_id
        Binding = self.env["integration.binding"]
        if Binding._find(backend, "customer", ref):
            return
        ticket = Binding._find_record(backend, "support_ticket", ticket_ref)
        if ticket and ticket.requester_ref == ref and ticket.requester_email:
            return
        if not self._helpdesk_api_ready(backend):
            event._add_note(
                f"requester {ref}: the event has no e-mail and the backend has no API credentials to ask for it; "
                f"bind the requester to a contact or configure the helpdesk API."
            )
            return
        person = self._helpdesk_fetch_person(backend, ref)
        if not person:
            event._add_note(f"requester {ref} is not in the helpdesk any more: the ticket is not linked.")
            return
        data["requester_email"] = person.get("email") or None
        data["requester_name"] = data.get("requester_name") or person.get("name") or None
        if not data.get("organization_ref"):
            data["organization_ref"] = person.get("organization_ref") or None

    # ------------------------------------------------------------------
    # Billing pushed to the helpdesk (canonical customer_billing)
    # ------------------------------------------------------------------
    def _outbound_accepts(self, backend, canonical_type, record):
        """Only the customer's billing, and only for customers the helpdesk knows (bound people)."""
        if canonical_type != "customer_billing":
            return False
        people = self.env["res.partner"].sudo().search([("id", "child_of", record.commercial_partner_id.id)])
        return bool(self.env["integration.binding"]._find_for(backend, "customer", people))

    def _outbound_deliver(self, backend, event, message):
        """Write the billing fields on every person and organization of the customer, unless unchanged.

        Each write sets absolute values (a retry or a replay writes the same),
        through the backend's rate limit; a 429 retries the event after the
        helpdesk's ``Retry-After``.
        """
        previous = self._helpdesk_last_sent(event)
        written = self._helpdesk_written(backend, message["data"])
        if previous and self._helpdesk_written(backend, previous) == written:
            event._add_note(
                "the customer's billing fields have not changed since they were last written: nothing sent."
            )
            return None
        response = None
        for ref in message["data"]["customer_refs"]:
            answer = self._helpdesk_push_billing(backend, ref, message)
            if answer is None:
                event._add_note(f"{ref} is not in the helpdesk any more: not written.")
            response = answer or response
        if response is None:
            event._add_note("no person or organization of the helpdesk to write to.")
        return response

    def _helpdesk_last_sent(self, event):
        """The ``data`` of the last message sent for the same customer and backend, or None."""
        last = (
            self.env["integration.event"]
            .sudo()
            .search(
                [
                    ("backend_id", "=", event.backend_id.id),
                    ("direction", "=", "out"),
                    ("canonical_type", "=", event.canonical_type),
                    ("res_model", "=", event.res_model),
                    ("res_id", "=", event.res_id),
                    ("state", "=", "done"),
                    ("response_status", ">", 0),
                    ("id", "!=", event.id),
                ],
                order="id desc",
                limit=1,
            )
        )
        try:
            return json.loads(last.payload)["data"] if last.payload else None
        except (ValueError, KeyError, TypeError):
            return None

    def _helpdesk_written(self, backend, data):
        """What a push of ``data`` writes: to whom, which fields, which values."""
        return sorted(data.get("customer_refs") or []), self._helpdesk_billing_values(backend, {"data": data})

    def _helpdesk_billing_values(self, backend, message):
        """``{field key: value}`` of the backend's billing fields (empty keys are not written)."""
        data = message["data"]
        values = {
            backend.helpdesk_field_status: data["entitlement"],
            backend.helpdesk_field_plan: ", ".join(data["plans"]),
            backend.helpdesk_field_overdue: self._helpdesk_amount(backend, data["amount_overdue"]),
        }
        return {key.strip(): value for key, value in values.items() if key and key.strip()}

    def _helpdesk_amount(self, backend, amount):
        """An amount as the helpdesk's field takes it (default: a number)."""
        return float(amount)
