"""What people read on exceptions: plain, translatable words (no ORM here).

Texts are lazy translations (``_lt``): they are translated with the
language of the environment that writes the exception (``env._(TEXT)``),
then filled with ``%``-style parameters.

* :data:`CATEGORY_WORDS` -- what happened and what to do, per category;
* :data:`CAUSE_WORDS` -- the same for failures of a whole backend (outages);
* :func:`problem_text` -- one offending value of a refused message, e.g.
  "quantity is 3000000000: Odoo stores at most 2147483647".
"""

from odoo.tools.translate import LazyTranslate

from .exceptions import CAUSE_AUTH_REFUSED, CAUSE_RATE_LIMITED, CAUSE_UNAVAILABLE

_lt = LazyTranslate("integration_base")

#: category -> (what happened, what to do)
CATEGORY_WORDS = {
    "technical": (
        _lt("A technical error stopped the processing of this event."),
        _lt(
            "Retry it. If it fails again, escalate it to an integration manager, "
            "who can read the technical details on the event."
        ),
    ),
    "schema_violation": (
        _lt("Some values sent by the other system cannot be accepted."),
        _lt(
            "Correct the values listed below (Correct and retry): the event is processed again at once. "
            "If you do not know the right values, escalate it to an integration manager. "
            "Tell whoever maintains the data in the other system, so that the next event is right."
        ),
    ),
    "mapping": (
        _lt("The event could not be translated into Odoo terms."),
        _lt("Check the data in the sending system, then retry, or escalate it to an integration manager."),
    ),
    "unknown_customer": (
        _lt("The customer of this document is not known in Odoo."),
        _lt("Link the right customer (Link record and retry), or make sure the customer is sent first, then retry."),
    ),
    "ambiguous_customer": (
        _lt("Several Odoo contacts match this customer, so the suite did not guess."),
        _lt("Choose the right contact among the candidates (Link record and retry)."),
    ),
    "amount_mismatch": (
        _lt("The amounts in the sending system and in Odoo differ."),
        _lt("Compare both documents; correct the one that is wrong, then retry or ignore with a reason."),
    ),
    "currency": (
        _lt("The currency of this document is unknown or not active in Odoo."),
        _lt(
            "Ask an accountant to activate the currency (Accounting > Configuration > Currencies), then retry; "
            "or escalate it to an integration manager."
        ),
    ),
    "ownership_conflict": (
        _lt("The sending system tried to change data that another system owns; the change was not applied."),
        _lt("Decide which value is right and change it in the owning system, then close this exception."),
    ),
    "missing_record": (
        _lt("The event refers to a document that is not in Odoo."),
        _lt("Import or link the missing document, then retry."),
    ),
    "payment_failed": (
        _lt("A customer's payment failed."),
        _lt("Contact the customer about their payment method."),
    ),
    "dispute": (
        _lt("A customer disputed a payment with their bank."),
        _lt("Gather the evidence (invoice, delivery, contract) and answer the dispute in the payment platform."),
    ),
    "refund_exceeds": (
        _lt("The refund is larger than what was paid."),
        _lt("Check the refund in the payment platform; correct it or register the difference by hand."),
    ),
    "reconciliation": (
        _lt("A payout or balance does not match what Odoo recorded."),
        _lt("Compare the listed transactions with the journal items, then resolve."),
    ),
    "outage": (
        _lt("A connected system cannot be used right now."),
        _lt("Nothing to do per event: they wait and go through by themselves when the system answers again."),
    ),
    "business": (
        _lt("A business rule refused this event."),
        _lt("Read the details, correct the data, then retry or ignore with a reason."),
    ),
}

#: cause -> (title, what happened, what to do); titles take the backend's name
CAUSE_WORDS = {
    CAUSE_UNAVAILABLE: (
        _lt("%(backend)s cannot be reached"),
        _lt(
            "Calls to %(backend)s fail (no answer, time-out or server error). The events below wait and are "
            "retried by themselves; this exception closes itself as soon as %(backend)s answers again."
        ),
        _lt(
            "Nothing to do per event. If it lasts, an integration manager checks the status of %(backend)s and "
            "the backend's address."
        ),
    ),
    CAUSE_AUTH_REFUSED: (
        _lt("%(backend)s refuses our credentials"),
        _lt(
            "%(backend)s answers that the API key or token is not valid (or lacks a permission). Every call "
            "fails until the credentials are fixed; the events below are retried once they are, and this "
            "exception closes itself."
        ),
        _lt(
            "Escalate to an integration manager: a system administrator enters a valid key on the backend "
            "(Test connection tells when it works)."
        ),
    ),
    CAUSE_RATE_LIMITED: (
        _lt("%(backend)s is limiting our calls"),
        _lt(
            "%(backend)s answers that we call it too often (HTTP 429). The events below wait longer and longer "
            "without using their attempts; this exception closes itself when %(backend)s accepts calls again."
        ),
        _lt(
            "Nothing to do per event. If it lasts, an integration manager lowers the backend's rate limit or "
            "asks %(backend)s for a higher quota."
        ),
    ),
}

#: any other cause (reported by code of its own, e.g. monitoring)
OTHER_CAUSE_WORDS = (
    _lt("%(backend)s: %(cause)s"),
    _lt(
        "A problem affects every event of %(backend)s (%(cause)s). The events below are listed here; this "
        "exception closes itself when the problem is gone."
    ),
    _lt("Escalate to an integration manager if it lasts."),
)

#: what is wrong with one value, by JSON Schema rule (and kind of value)
PROBLEM_WORDS = {
    "maximum": _lt("%(field)s is %(value)s: Odoo takes at most %(limit)s"),
    "exclusiveMaximum": _lt("%(field)s is %(value)s: it must be less than %(limit)s"),
    "minimum": _lt("%(field)s is %(value)s: it cannot be less than %(limit)s"),
    "exclusiveMinimum": _lt("%(field)s is %(value)s: it must be more than %(limit)s"),
    "maxLength": _lt("%(field)s is too long (at most %(limit)s characters)"),
    "minLength": _lt("%(field)s is empty"),
    "maxItems": _lt("%(field)s has too many entries (at most %(limit)s)"),
    "minItems": _lt("%(field)s has no entry"),
    "enum": _lt("%(field)s is “%(value)s”, which is not one of: %(allowed)s"),
    "const": _lt("%(field)s is “%(value)s”, which is not the expected value"),
    "required": _lt("%(field)s is missing"),
    "dependentRequired": _lt("%(field)s is missing: it is needed with %(other)s"),
    "type": _lt("%(field)s is %(value)s, which is not the kind of value expected here"),
    "x-order": _lt("%(field)s (%(value)s) is after %(other)s (%(other_value)s): the dates are in the wrong order"),
    "additionalProperties": _lt("%(field)s has an entry the suite does not know (%(message)s)"),
    "format": _lt("%(field)s “%(value)s” is not a valid %(format)s"),
    "format:iso4217": _lt("%(field)s “%(value)s” is not a currency Odoo knows"),
    "format:date": _lt("%(field)s “%(value)s” is not a date"),
    "format:date-time": _lt("%(field)s “%(value)s” is not a date and time"),
    "format:email": _lt("%(field)s “%(value)s” is not an e-mail address"),
    "pattern:amount": _lt("%(field)s “%(value)s” is not an amount Odoo can store (below one trillion)"),
    "pattern:unsigned_amount": _lt(
        "%(field)s “%(value)s” is not an amount Odoo can store (not negative, below one trillion)"
    ),
    "pattern:currency": _lt("%(field)s “%(value)s” is not a currency code (three capital letters, e.g. EUR)"),
    "pattern:country": _lt("%(field)s “%(value)s” is not a country code (two capital letters, e.g. BE)"),
    "other": _lt("%(field)s: %(message)s"),
}

#: plural list names whose items are called by the singular + number ("line 2")
_ITEM_NAMES = {"lines": "line", "transactions": "transaction", "taxes": "tax", "tags": "tag", "items": "item"}


def field_label(pointer):
    """A pointer inside a message as a person calls the field.

    ``/data/quantity`` -> "quantity", ``/data/plan/interval_count`` ->
    "plan › interval count", ``/data/lines/0/amount`` -> "line 1 › amount".
    """
    parts = [part for part in (pointer or "").split("/") if part]
    if parts[:1] == ["data"]:
        parts = parts[1:]
    words = []
    for index, part in enumerate(parts):
        if part.isdigit() and index:
            words[-1] = f"{_ITEM_NAMES.get(parts[index - 1], parts[index - 1])} {int(part) + 1}"
        else:
            words.append(part.replace("_", " "))
    return " › ".join(words) or "message"


def problem_text(env, problem):
    """One offending value in plain words, in ``env``'s language."""
    rule = problem.get("rule")
    if rule == "type" and problem.get("value") in (None, "null"):
        rule = "required"  # a null where a value is needed reads as missing
    key = f"{rule}:{problem.get('format') or problem.get('kind')}"
    template = PROBLEM_WORDS.get(key) or PROBLEM_WORDS.get(rule) or PROBLEM_WORDS["other"]
    params = {
        "field": field_label(problem.get("pointer")),
        "value": problem.get("value") if problem.get("value") is not None else "null",
        "limit": problem.get("limit"),
        "allowed": ", ".join(str(value) for value in problem.get("allowed") or []),
        "other": field_label(problem.get("other")) if problem.get("other") else "",
        "other_value": problem.get("other_value"),
        "format": problem.get("format"),
        "message": problem.get("message"),
    }
    return env._(template) % params
