"""Billing arithmetic shared by the connectors (no ORM here).

What the systems people work in show about a customer's billing -- the
monthly recurring revenue of a subscription, whether a card has expired --
computed one way for every connector (helpdesk, CRM).
"""

from datetime import date

#: months per billing interval, to turn a price into monthly recurring revenue
MONTHS_PER_INTERVAL = {"day": 12 / 365, "week": 12 / 52, "month": 1, "year": 12}


def monthly(amount, quantity, interval, interval_count):
    """Monthly recurring revenue of ``quantity`` x ``amount`` every ``interval_count`` ``interval``.

    0.0 for an unknown interval (a one-off price recurs nothing).
    """
    if interval not in MONTHS_PER_INTERVAL:
        return 0.0
    return amount * quantity / (MONTHS_PER_INTERVAL[interval] * (interval_count or 1))


def card_expired(exp_month, exp_year, today):
    """True once the month after the card's expiry month has begun (cards work through their month)."""
    if not (exp_month and exp_year):
        return False
    first_invalid = date(exp_year + exp_month // 12, exp_month % 12 + 1, 1)
    return today >= first_invalid
