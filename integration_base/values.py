"""Canonical values <-> Python values (no ORM here).

Canonical messages carry ISO 8601 date-times (``Z`` or an offset), ISO dates,
amounts as decimal strings in major units and free texts; Odoo stores naive
UTC datetimes, dates and floats. Every applier, exporter and mapper converts
through these few functions.
"""

from datetime import UTC, date, datetime
from decimal import Decimal


def to_datetime(value):
    """ISO 8601 text (or a datetime) -> naive UTC datetime; None when empty."""
    if not value:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def to_date(value):
    """``YYYY-MM-DD`` -> date; None when empty."""
    return date.fromisoformat(value) if value else None


def to_amount(value):
    """Decimal string in major units -> float (0.0 when empty)."""
    return float(Decimal(value)) if value not in (None, "") else 0.0


def money(value):
    """Float -> canonical decimal string without trailing zeros (``"12.5"``, ``"0"``)."""
    return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"


def iso_datetime(value):
    """Naive UTC datetime -> canonical ``YYYY-MM-DDTHH:MM:SSZ``; None when empty."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def clean_text(value):
    """Stripped text, or None when empty (systems send "", " " and null alike)."""
    value = "" if value is None else str(value).strip()
    return value or None
