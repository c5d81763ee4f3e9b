"""The extension point of the engine.

A connector addon plugs a system in by defining one abstract model::

    class IntegrationConnectorAcme(models.AbstractModel):
        _name = "integration.connector.acme"
        _inherit = "integration.connector"
        _description = "Acme connector"

and by adding ``("acme", "Acme")`` to ``integration.backend.connector_type``
(``selection_add``). ``backend._connector()`` returns that model. It
overrides the hooks below -- a verifier, an identity reader, a mapper, a
client call for outbound messages and stream pages, the backend's lifecycle
and the system's policies when its messages are applied (taxes, default
products, dunning, refunds, payouts) -- and nothing else: storage, dedup,
retries, exceptions, bindings, appliers and views belong to the base.
``readme/DEVELOP.md`` walks through writing one.
"""

import json
import secrets

from odoo import models
from odoo.exceptions import UserError

from ..exceptions import BusinessError, PermanentError, SignatureError, WebhookError
from ..http_client import send
from ..values import clean_text


class IntegrationConnector(models.AbstractModel):
    _name = "integration.connector"
    _description = "Integration Connector (extension point)"

    # ------------------------------------------------------------------
    # Inbound: webhook
    # ------------------------------------------------------------------
    def _webhook_verify(self, backend, headers, body):
        """Check the request's signature against the backend's secrets.

        Called only when the backend has at least one secret (the route
        rejects every request otherwise).

        :param headers: request headers (case-insensitive mapping)
        :param body: raw request body (bytes), exactly as received

        Systems that sign the method and URL too find them in the context
        keys ``integration_webhook_method`` and ``integration_webhook_url``
        (the full URL as Odoo received it, query string included).
        :raise SignatureError: missing, stale or invalid signature
        """
        raise SignatureError("this connector cannot verify webhooks")

    def _webhook_parse(self, backend, body):
        """Decode the verified body. :raise WebhookError: 400 when it is not JSON."""
        try:
            payload = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookError(f"body is not valid JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise WebhookError("body must be a JSON object")
        return payload

    def _webhook_split(self, backend, payload, body):
        """Split one request into the events it carries.

        Most systems send one event per request; some batch them (HubSpot
        posts a JSON array). Each item is identified, deduplicated and stored
        as an event of its own, with ``raw`` as its stored payload.

        :param payload: what :meth:`_webhook_parse` returned
        :param body: the raw request body (bytes)
        :return: list of ``(item, raw)``: ``item`` goes to
            :meth:`_webhook_identity`, ``raw`` (str) is stored and later
            decoded for :meth:`_event_map`
        """
        return [(payload, body.decode("utf-8", errors="replace"))]

    def _webhook_identity(self, backend, payload, headers):
        """The event's identity.

        :return: dict with ``external_id`` (unique per backend: the dedup key),
            ``event_type`` and ``occurred_at`` (aware or naive UTC datetime)
        :raise WebhookError: 400 when the payload has no usable identity;
            :class:`EventRejected` (422) when a rule refuses the event
        """
        raise NotImplementedError

    def _event_is_supported(self, backend, event_type):
        """False for event types stored as *ignored* without processing."""
        return True

    def _webhook_safe_headers(self):
        """Request headers of this system that may be stored as received.

        Every other header but the harmless ones of :data:`const.SAFE_HEADERS`
        is stored as ``***``: name event ids and timestamps here, never a
        signature or a key.

        :return: iterable of header names (any case)
        """
        return ()

    # ------------------------------------------------------------------
    # Processing
    # ------------------------------------------------------------------
    def _event_map(self, event, payload):
        """Turn an inbound event into canonical messages.

        May call the system's API to fetch the current object when the
        payload may be stale or incomplete.

        :param event: the ``integration.event`` being processed
        :param payload: its decoded raw payload
        :return: list of canonical message dicts (envelope with ``data``);
            an empty list marks the event *ignored*, unless the connector
            settled it itself (``event._set_done(note=...)``) because
            its effect is not a canonical message (e.g. an exception opened
            for a person with ``integration.exception._open``)
        :raise RetryableError: / :raise PermanentError:
        """
        raise PermanentError(f"connector {event.backend_id.connector_type} does not map events")

    def _event_subject(self, backend, event):
        """The business object of an event whose mapping failed, read from its raw payload.

        Exceptions name it (what it is, its number, the customer, the amount,
        the date). Must never raise, whatever the payload holds.

        :return: dict of ``label``, ``reference``, ``customer`` (text),
            ``partner`` (res.partner or None), ``amount`` (text), ``date``
        """
        return {"label": event.event_type or "", "reference": event.external_id}

    def _current_message(self, event, message):
        """The current state of ``message``'s object at the source, as a canonical message.

        Asked when a message has the same time as the state already applied
        and would take the object out of a final state (the applier core's
        ``_decide_tie``): the object itself says which event came last.

        :return: a canonical message of the same type and external id, or
            None when the system's API cannot be asked (the final state stays)
        :raise RetryableError: the API could not answer now
        """
        return None

    def _country_code(self, value):
        """A country as a mapper finds it (ISO code, or name in any case) -> its ISO code, or None."""
        value = clean_text(value)
        if not value:
            return None
        if len(value) == 2 and value.isalpha():
            return value.upper()
        country = self.env["res.country"].search(["|", ("name", "=ilike", value), ("code", "=ilike", value)], limit=1)
        return country.code or None

    # ------------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------------
    def _outbound_request(self, backend, event, message):
        """Describe the HTTP call that delivers ``message`` to the system.

        :return: dict of ``method``, ``url`` and ``json`` or ``data``, and
            optional ``headers``; the base adds the timeout, the rate limit,
            the circuit breaker and the idempotency key (``event.external_id``)
        """
        raise PermanentError(f"connector {backend.connector_type} does not send {message['type']} messages")

    def _outbound_response(self, backend, event, message, response):
        """Hook after a successful call (e.g. bind the id the system returned)."""
        return None

    def _outbound_accepts(self, backend, canonical_type, record):
        """False when ``record`` is not for this system (no outbound event is made).

        E.g. a connector that only updates objects it already knows. By
        default, customers are the commercial entities (companies and people
        of no company): a connector that also wants the people of a company
        (a CRM's contacts) says so here.
        """
        if canonical_type == "customer":
            return not record.parent_id or record.is_company
        return True

    def _outbound_enqueue(self, backend, event):
        """Schedule the sending of a new outbound event.

        Called by ``_emit_outbound`` in the transaction that made the change
        and its event (whatever is scheduled here is rolled back with them),
        and when a person retries or replays the event. By default one job
        per event sends it (``_send_outbound``, which calls
        :meth:`_outbound_deliver`). A connector that must keep a backend's
        events in order, or send them in batches, schedules its own job
        instead (integration_amqp: relays publishing a backend's events in id
        order, one at a time).
        """
        event._enqueue("_send_outbound")

    def _outbound_deliver(self, backend, event, message):
        """Deliver ``message``: by default one HTTP call described by :meth:`_outbound_request`.

        Override it when the system has an official client library; keep the
        engine's rules: a timeout on every call, the backend's rate limit
        (``http_client.bucket_for(backend.id, backend.rate_limit)``), errors
        mapped to the retryable/permanent hierarchy, an idempotency key.
        The request dict may carry its own ``idempotency_key`` (default: the
        outbound event's external id).

        :return: the response (anything with a ``status_code``), or None when
            there was nothing to send (note why with ``event._add_note``)
        """
        request = self._outbound_request(backend, event, message)
        return send(
            request["method"],
            request["url"],
            timeout=backend.timeout,
            headers=request.get("headers"),
            json=request.get("json"),
            data=request.get("data"),
            idempotency_key=request.get("idempotency_key") or event.external_id,
            rate=backend.rate_limit,
            rate_key=backend.id,
        )

    # ------------------------------------------------------------------
    # Streams (batch pulls)
    # ------------------------------------------------------------------
    def _stream_selection(self):
        """Streams this connector offers: list of (code, label)."""
        return []

    def _stream_fetch(self, stream, cursor):
        """Fetch one page of a stream.

        :param cursor: the saved cursor (str) or False on the first page
        :return: dict with ``items`` (list of dicts with ``external_id``,
            ``event_type``, ``occurred_at`` and ``payload``), ``cursor`` (to save
            for the next page), ``has_more`` (bool) and optional ``total``
        """
        raise PermanentError(f"connector has no stream {stream.stream}")

    # ------------------------------------------------------------------
    # Backend lifecycle
    # ------------------------------------------------------------------
    def _backend_create_vals(self, vals):
        """Complete the values of a new backend of this connector (defaults
        that depend on other values, e.g. a rate limit by account mode).

        :param vals: the create values (a dict, changed in place)
        """
        return vals

    def _backend_setup(self, backend):
        """A backend of this connector was created (or switched to it): make
        what it needs, e.g. its streams."""
        return None

    def _backend_check(self, backend):
        """Check the backend's settings (credentials, mode...) when they change.

        :raise ValidationError: with a readable reason
        """
        return None

    def _backend_onchange(self, backend):
        """Form defaults that follow other settings (``backend`` is the form's record)."""
        return None

    # ------------------------------------------------------------------
    # Administration
    # ------------------------------------------------------------------
    def _sent_credential_fields(self, backend):
        """Backend fields holding credentials this connector sends to the system's API.

        They are cleared when anyone but a system administrator changes
        where calls go (the API URL, the connector type).
        """
        return ("api_key",)

    def _outbound_hosts(self, backend):
        """Host names this system's API lives on (``fnmatch`` patterns, e.g. ``*.zendesk.com``).

        The backend's API URL must name one of them, unless a system
        administrator allow-lists another host (``integration_base.outbound_allowed_hosts``).
        An empty tuple lets any public https host through: for systems whose
        address is the customer's own (the canonical connector).
        """
        return ()

    def _test_connection(self, backend):
        """Call the system and return a short message; raise a UserError if it fails."""
        raise UserError(self.env._("This connector has no connection test."))

    def _generate_webhook_secret(self, backend):
        """A new webhook secret for the rotation (``action_rotate_webhook_secret``).

        Override it when the system wants its own format (the canonical
        connector: ``whsec_`` + base64), or raise a ``UserError`` explaining
        where to get one when the system makes the secret itself (Stripe).
        """
        return secrets.token_urlsafe(32)

    def _prepare_accounting(self, backend):
        """The backend's "Prepare accounting" button: create the journals and
        accounts the connector books on. :raise UserError: when it has none."""
        raise UserError(self.env._("%s has no accounting to prepare.", backend.display_name))

    # ------------------------------------------------------------------
    # Applying policies: the canonical types ask the connector of the
    # backend whose message they apply
    # ------------------------------------------------------------------
    def _sale_tax(self, backend, tax):
        """The Odoo sales tax of a canonical invoice line tax, when the system has its own mapping.

        :param tax: dict with ``percentage``, ``inclusive`` and optional ``ref``
            (the system's id of the tax rate)
        :return: an ``account.tax`` record, or an empty recordset for the
            engine's default (the sales tax with the same rate)
        """
        return self.env["account.tax"]

    def _default_income_product(self, backend, line):
        """The product of an invoice line whose ``product_ref`` Odoo does not know.

        :return: a ``product.product`` (its income account is used), or an
            empty recordset (the journal's default account)
        """
        return self.env["product.product"]

    def _dunning_policy(self, backend):
        """How a failed payment of this system is followed up (generic dunning).

        :return: dict of ``user`` (``res.users`` who gets the follow-up
            activity when the customer has no salesperson; empty: none) and
            ``hint`` (what to do, in the exception; None: the default advice)
        """
        return {"user": self.env["res.users"], "hint": None}

    def _refund_credit_note(self, backend, message):
        """The Odoo credit note a canonical refund was made for, if the system
        refunded it on Odoo's request (an outbound refund).

        The refund then settles that credit note (once) instead of booking a
        new one.

        :return: an ``account.move`` (out_refund of the backend's company) or
            an empty recordset
        """
        return self.env["account.move"]

    def _payout_accounts(self, backend):
        """Where payouts of ``backend`` are booked.

        :return: dict of ``journal`` (account.journal), ``clearing`` (the
            reconcilable account the system's payments and refunds are booked
            on), ``fee`` (fees expense) and ``transfer`` (the money on its way
            to the bank) accounts
        :raise BusinessError: (mapping) when they are not configured
        """
        raise BusinessError(
            self.env._("%s does not book payouts: its connector has no payout accounts", backend.display_name),
            category="mapping",
        )
