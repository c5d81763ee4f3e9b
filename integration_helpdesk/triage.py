"""Which support tickets are about billing, and how urgent they become (no ORM here).

The rule, applied to the ticket's current subject, description and tags
every time the helpdesk sends it:

1. a ticket is a **billing ticket** when one of :data:`RULES` matches its
   subject, else its description (whole words, any case), or when it names
   an invoice number (reason ``invoice``), or when one of its tags is in
   :data:`BILLING_TAGS`; the first rule that matches, in the order of
   :data:`RULES`, names the **reason** (a tag gives the reason of the rule
   its word matches, else ``billing``);
2. a billing ticket's priority is raised one level (low -> normal ->
   high -> urgent) and a failed payment is at least ``high``;
3. it is linked to the invoice it names (an invoice number of the customer
   in the subject or description), else, for a failed payment or when the
   customer has an open failed payment, to that failure (and its invoice),
   else to the customer's latest posted invoice (done by the applier, which
   knows the customer).

:func:`triage` is the rule; the tests and the readme's table quote it.
"""

import re
from dataclasses import dataclass

#: (reason, pattern): the first match names the reason
RULES = (
    (
        "payment_failed",
        r"payments?\s+(?:has\s+|have\s+)?failed|failed\s+payments?|(?:card|payment)\s+(?:was\s+)?declined"
        r"|insufficient\s+funds",
    ),
    ("refund", r"refund(?:s|ed|ing)?|money\s+back|charge\s*backs?"),
    (
        "charge",
        r"(?:double|over)[-\s]?charged?|charged?\s+twice|charged|(?:unexpected|unknown|extra|duplicate|wrong)\s+charges?",
    ),
    (
        "cancel",
        r"cancel(?:s|led|ed|ling|ing|lation)?\s+(?:(?:my|our|the|this)\s+)?(?:subscription|plan|account|renewal)"
        r"|unsubscribe",
    ),
    ("invoice", r"invoices?|invoiced|receipts?|billing|billed|vat\s+number"),
    ("payment", r"payments?|credit\s+card|past\s+due|overdue|subscription\s+(?:fee|price)"),
)
#: tags that make a ticket a billing ticket on their own
BILLING_TAGS = frozenset(
    {"billing", "invoice", "invoices", "refund", "payment", "payments", "charge", "chargeback", "cancellation"}
)
PRIORITIES = ("low", "normal", "high", "urgent")
#: an invoice number as Odoo writes it (INV/2026/00042, RINV/2026/00003...)
INVOICE_NUMBER = re.compile(r"\b[A-Z]{2,10}/\d{4}(?:/\d{2})?/\d{3,}\b")

_COMPILED = tuple((reason, re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)) for reason, pattern in RULES)


@dataclass(frozen=True)
class Triage:
    """What the rule decided: ``billing``, the ``reason`` and the words that matched."""

    billing: bool
    reason: str = None
    matched: str = None


def _match(text):
    for reason, pattern in _COMPILED:
        found = pattern.search(text or "")
        if found:
            return reason, found.group(0)
    return None


def triage(subject, description=None, tags=()):
    """Apply the rule to a ticket's texts and tags."""
    for text in (subject, description):
        found = _match(text)
        if found:
            return Triage(True, *found)
    numbers = invoice_numbers(subject, description)
    if numbers:
        return Triage(True, "invoice", numbers[0])
    for tag in tags or ():
        tag = str(tag).strip().lower()
        if tag in BILLING_TAGS:
            found = _match(tag.replace("_", " "))
            return Triage(True, found[0] if found else "billing", f"tag {tag}")
    return Triage(False)


def boosted_priority(priority, result):
    """The priority a ticket gets in Odoo: one level up for billing, ``high`` at least for a failed payment."""
    priority = priority if priority in PRIORITIES else "normal"
    if not result.billing:
        return priority
    level = min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)
    if result.reason == "payment_failed":
        level = max(level, PRIORITIES.index("high"))
    return PRIORITIES[level]


def invoice_numbers(*texts):
    """Invoice numbers named in ``texts``, in order of appearance."""
    return [number for text in texts if text for number in INVOICE_NUMBER.findall(text)]
