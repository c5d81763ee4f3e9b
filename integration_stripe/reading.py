"""Reading Stripe's values without trusting them (no ORM here).

Stripe's documented objects say which type each field has; a payload that
does not (a test tool, a proxy, a bug, an attacker with a signing secret)
must be refused readably, never crash the mapper nor be stored as a guess.
These readers return the value in the form the canonical messages want, or
raise :class:`StripeValueError` naming the field and the value. Values of
the right type but out of bounds (a quantity of 10**15, an unknown status)
are passed on as they are: the canonical JSON Schemas refuse them with
plain words and a guided correction.
"""

from decimal import Decimal, InvalidOperation

from odoo.addons.integration_base.exceptions import PermanentError
from odoo.addons.integration_base.schemas import short

from .amounts import iso, iso_date, to_decimal

#: what reading a Stripe object of an undocumented shape raises
UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError)


class StripeValueError(PermanentError):
    """A Stripe object carries a value of the wrong type (or lacks a required one)."""

    category = "mapping"

    def __init__(self, field, value, expected, obj=None, rule="type"):
        what = f"{obj.get('object') or 'object'} {obj.get('id') or '(no id)'}" if isinstance(obj, dict) else "object"
        super().__init__(
            f"the Stripe {what} has {field} = {short(value, 60)!s}: {expected} was expected",
            hint="Stripe documents this field otherwise: check what sent the event (a test tool, a proxy), "
            "correct the object in Stripe, then retry; or ignore the event with a reason.",
        )
        self.field = field
        #: the refused value in the engine's terms, for plain words (``words.problem_text``); not
        #: correctable with the guided form: the Stripe object itself is wrong
        self.problems = [
            {
                "pointer": "/" + str(field).replace(".", "/"),
                "rule": rule,
                "value": short(value, 60) if value is not None else None,
                "message": f"{expected} was expected",
            }
        ]

    @classmethod
    def unreadable(cls, payload, exc):
        """The error of an event whose object has a shape no documented Stripe object has."""
        obj = (payload.get("data") or {}).get("object") if isinstance(payload.get("data"), dict) else None
        if isinstance(exc, KeyError) and exc.args:
            return cls(str(exc.args[0]), None, "a value", obj, rule="required")
        return cls("object", f"{exc.__class__.__name__}: {short(str(exc), 80)}", "a Stripe object", obj, rule="other")


def text(value, field, obj=None, size=None):
    """A text (None for null/empty); numbers are accepted as their text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise StripeValueError(field, value, "a text", obj)
    value = str(value)
    return value[:size] if size else value


def whole(value, field, obj=None, default=None):
    """A whole number (ints, and texts of digits); None/empty gives ``default``."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise StripeValueError(field, value, "a whole number", obj)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise StripeValueError(field, value, "a whole number", obj)


def code(value, field="currency", obj=None):
    """A code (currency, country), upper case (its existence is the schema's business); None when absent."""
    value = text(value, field, obj)
    return value.upper() if value else None


def amount(minor, currency, field, obj=None):
    """Minor units -> canonical decimal text (see :func:`.amounts.to_decimal`)."""
    if isinstance(minor, bool) or (minor is not None and not isinstance(minor, int | float | str | Decimal)):
        raise StripeValueError(field, minor, "an amount in minor units", obj)
    try:
        return to_decimal(minor, currency)
    except (ValueError, InvalidOperation):
        if isinstance(minor, int) or (isinstance(minor, str) and minor.strip().lstrip("-").isdigit()):
            return str(minor)  # a whole number too large to convert: the schema refuses it, naming the value
        raise StripeValueError(field, minor, "an amount in minor units", obj) from None


def number(value, field, obj=None, default=None):
    """A decimal number (a percentage, a quantity)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise StripeValueError(field, value, "a number", obj)
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise StripeValueError(field, value, "a number", obj) from None
    if not result.is_finite():
        raise StripeValueError(field, value, "a number", obj)
    return int(result) if result == result.to_integral_value() else float(result)


def moment(value, field, obj=None, date_only=False):
    """A Unix timestamp -> ISO 8601 text (a date when ``date_only``); None when absent."""
    if value is None or value == "":
        return None
    stamp = whole(value, field, obj)
    try:
        return iso_date(stamp) if date_only else iso(stamp)
    except (ValueError, OverflowError, OSError):
        raise StripeValueError(field, value, "a time (Unix seconds)", obj) from None


def identifier(obj, kind):
    """The ``id`` of a Stripe object (a non-empty text), or a readable refusal."""
    if not isinstance(obj, dict):
        raise StripeValueError(kind, obj, f"a {kind} object", None)
    value = obj.get("id")
    if not isinstance(value, str) or not value.strip():
        raise StripeValueError("id", value, f"the id of the {kind}", obj)
    return value
