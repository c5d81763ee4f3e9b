"""Stripe amounts <-> canonical decimal strings (no ORM here).

Stripe expresses money in the currency's minor unit as an integer: cents for
USD, yen for JPY (zero-decimal), fils for KWD (three-decimal, and the last
digit must be 0). Canonical messages carry exact decimal strings in major
units ("12.50", "1200", "1.230"). Conversions go through :class:`Decimal`,
never floats.
"""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from .const import THREE_DECIMAL_CURRENCIES, ZERO_DECIMAL_CURRENCIES

MAX_DECIMALS = 6  # what the canonical amount pattern allows


def exponent(currency):
    """Number of decimals of ``currency`` in Stripe's API."""
    code = (currency or "").lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def _format(value, places):
    if value == value.to_integral_value() or places == 0:
        value = value.quantize(Decimal(1).scaleb(-places)) if places else value.quantize(Decimal(1))
        return f"{value:.{places}f}"
    # more precision than the currency has (unit prices in decimal minor units)
    text = f"{value.quantize(Decimal(1).scaleb(-MAX_DECIMALS)):.{MAX_DECIMALS}f}".rstrip("0")
    whole, _dot, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(places, '0')}"


def to_decimal(minor, currency):
    """``1250, "usd"`` -> ``"12.50"``; ``1250, "jpy"`` -> ``"1250"``; ``1230, "kwd"`` -> ``"1.230"``.

    :param minor: integer (or decimal string, as ``unit_amount_decimal``) in minor units
    :return: decimal string in major units, or None for None
    """
    if minor is None or minor == "":
        return None
    try:
        value = Decimal(str(minor))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {minor!r}") from exc
    places = exponent(currency)
    major = value.scaleb(-places)
    if major == major.quantize(Decimal(1).scaleb(-places)):
        return f"{major:.{places}f}"
    return _format(major, places)


def to_minor(amount, currency):
    """``"12.50", "usd"`` -> ``1250``; refuses amounts Stripe cannot represent.

    :raise ValueError: more decimals than the currency has, or a three-decimal
        amount whose last digit is not 0
    """
    places = exponent(currency)
    try:
        value = Decimal(str(amount)).scaleb(places)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if value != value.to_integral_value():
        raise ValueError(f"{amount} {currency.upper()} has more than {places} decimals")
    minor = int(value)
    if places == 3 and minor % 10:
        raise ValueError(f"Stripe only accepts {currency.upper()} amounts rounded to 0.010 ({amount})")
    return minor


def to_datetime(timestamp):
    """Unix timestamp -> aware UTC datetime (None for None)."""
    if timestamp in (None, ""):
        return None
    return datetime.fromtimestamp(int(timestamp), UTC)


def iso(timestamp):
    """Unix timestamp -> ISO 8601 string in UTC (``Z``), or None."""
    value = to_datetime(timestamp)
    return value.isoformat().replace("+00:00", "Z") if value else None


def iso_date(timestamp):
    """Unix timestamp -> ``YYYY-MM-DD`` (UTC), or None."""
    value = to_datetime(timestamp)
    return value.date().isoformat() if value else None
