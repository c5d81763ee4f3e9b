"""HubSpot CRM objects -> canonical messages (no ORM here).

The connector reads the objects an event is about from the CRM API and hands
them here with what the mapping needs from Odoo as plain callables (a
country name to its ISO code):

* a **contact** is a canonical ``customer`` person; its primary company
  (``associatedcompanyid``) is its parent;
* a **company** is a canonical ``customer`` company; its ``domain`` is its
  website;
* a **deal** is a canonical ``crm_deal``: name, amount and currency, closing
  date, pipeline and stage (mapped to an Odoo stage by the backend's table),
  owner's e-mail (the salesperson), won / lost, and its customer: the
  primary associated company, else the first associated contact.

External ids are ``contact:<id>``, ``company:<id>`` and ``deal:<id>``: the
id spaces of HubSpot's objects overlap. A message's ``occurred_at`` is the
object's ``updatedAt``, so that an older read never overwrites a newer one.
"""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from odoo.addons.integration_base.values import clean_text

CONTACT_PROPERTIES = (
    "firstname",
    "lastname",
    "email",
    "phone",
    "address",
    "city",
    "zip",
    "state",
    "country",
    "associatedcompanyid",
)
COMPANY_PROPERTIES = ("name", "domain", "phone", "address", "address2", "city", "zip", "state", "country")
DEAL_PROPERTIES = (
    "dealname",
    "amount",
    "deal_currency_code",
    "closedate",
    "pipeline",
    "dealstage",
    "hubspot_owner_id",
    "hs_is_closed",
    "hs_is_closed_won",
    "closed_lost_reason",
    "description",
)
PROPERTIES = {"contact": CONTACT_PROPERTIES, "company": COMPANY_PROPERTIES, "deal": DEAL_PROPERTIES}
CANONICAL_TYPES = {"contact": "customer", "company": "customer", "deal": "crm_deal"}


def external_id(kind, object_id):
    return f"{kind}:{object_id}"


def split_external_id(value):
    """``(kind, object id)`` of an external id made here, or None for another system's."""
    kind, _sep, object_id = (value or "").partition(":")
    return (kind, object_id) if kind in PROPERTIES and object_id.isdigit() else None


def decimal_text(value):
    """A HubSpot number property as a canonical amount (``"1500.5"``), or None."""
    text = clean_text(value)
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number) >= 10**15:
        return None
    return format(number.quantize(Decimal("0.000001")).normalize(), "f")


def date_text(value):
    """A HubSpot date or date-time property (ISO text, or milliseconds) as ``YYYY-MM-DD``, or None."""
    text = clean_text(value)
    if text is None:
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC).date().isoformat()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


def _address(props, country_code):
    address = {
        "line1": clean_text(props.get("address")),
        "line2": clean_text(props.get("address2")),
        "city": clean_text(props.get("city")),
        "zip": clean_text(props.get("zip")),
        "state": clean_text(props.get("state")),
        "country": country_code(props.get("country")),
    }
    return address if any(address.values()) else None


def contact_data(obj, country_code, unlinked=False):
    """The canonical customer of a HubSpot contact.

    :param unlinked: the event removed an association: a contact left
        without a company loses its parent (otherwise a parent set in Odoo
        stays when HubSpot knows no company)
    """
    props = obj.get("properties") or {}
    name = " ".join(part for part in (clean_text(props.get("firstname")), clean_text(props.get("lastname"))) if part)
    company = clean_text(props.get("associatedcompanyid"))
    data = {
        "name": name or clean_text(props.get("email")) or f"HubSpot contact {obj['id']}",
        "email": clean_text(props.get("email")),
        "phone": clean_text(props.get("phone")),
        "is_company": False,
        "metadata": {"hubspot_object": "contact", "hubspot_id": str(obj["id"])},
    }
    if company and company.isdigit():
        data["parent_ref"] = external_id("company", company)
    elif unlinked:
        data["parent_ref"] = None
    address = _address(props, country_code)
    if address:
        data["address"] = address
    return data


def website(domain):
    """A company domain as a website (``acme.example`` -> ``https://acme.example``)."""
    domain = clean_text(domain)
    if not domain:
        return None
    return domain if "://" in domain else f"https://{domain}"


def company_data(obj, country_code):
    props = obj.get("properties") or {}
    data = {
        "name": clean_text(props.get("name")) or clean_text(props.get("domain")) or f"HubSpot company {obj['id']}",
        "phone": clean_text(props.get("phone")),
        "is_company": True,
        "metadata": {"hubspot_object": "company", "hubspot_id": str(obj["id"])},
    }
    if website(props.get("domain")):
        data["website"] = website(props.get("domain"))
    address = _address(props, country_code)
    if address:
        data["address"] = address
    return data


def deal_status(props):
    if str(props.get("hs_is_closed_won") or "").lower() == "true":
        return "won"
    if str(props.get("hs_is_closed") or "").lower() == "true":
        return "lost"
    return "open"


def deal_data(obj, companies, contacts, owner_email=None):
    """The canonical deal of a HubSpot deal.

    :param companies: associated company ids, the primary one first
    :param contacts: associated contact ids
    :param owner_email: e-mail of the deal's owner (``hubspot_owner_id``)
    """
    props = obj.get("properties") or {}
    if companies:
        customer = external_id("company", companies[0])
    elif contacts:
        customer = external_id("contact", contacts[0])
    else:
        customer = None
    currency = clean_text(props.get("deal_currency_code"))
    status = deal_status(props)
    return {
        "name": clean_text(props.get("dealname")) or f"HubSpot deal {obj['id']}",
        "customer_ref": customer,
        "amount": decimal_text(props.get("amount")),
        "currency": currency.upper() if currency else None,
        "close_date": date_text(props.get("closedate")),
        "pipeline": clean_text(props.get("pipeline")),
        "stage": clean_text(props.get("dealstage")),
        "status": status,
        "lost_reason": clean_text(props.get("closed_lost_reason")) if status == "lost" else None,
        "owner_email": owner_email,
        "description": clean_text(props.get("description")),
        "metadata": {"hubspot_object": "deal", "hubspot_id": str(obj["id"])},
    }


def message(kind, obj, data, action="upsert", merged=()):
    """The canonical message of a CRM object read from the API."""
    result = {
        "type": CANONICAL_TYPES[kind],
        "external_id": external_id(kind, obj["id"]),
        "action": action,
        "data": data,
    }
    if obj.get("updatedAt"):
        result["occurred_at"] = obj["updatedAt"]
    if merged:
        result["merged_refs"] = [external_id(kind, object_id) for object_id in merged]
    return result


def gone(kind, object_id, action):
    """The message of an object HubSpot deleted (``delete``) or erased for privacy (``erase``)."""
    return {
        "type": CANONICAL_TYPES[kind],
        "external_id": external_id(kind, object_id),
        "action": action,
        "data": {"name": f"HubSpot {kind} {object_id}"},
    }
