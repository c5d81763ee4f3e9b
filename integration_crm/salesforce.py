"""Salesforce specifics that need no ORM: queries, cursors, records -> canonical data.

Salesforce sends no webhook here: streams pull changed records through the
REST query API, by ``SystemModstamp`` (the record's last change, system
changes included), oldest first::

    SELECT <fields> FROM Account WHERE SystemModstamp >= 2026-03-01T00:00:00Z
    ORDER BY SystemModstamp, Id

A query answers ``{"totalSize", "done", "nextRecordsUrl", "records": [{"attributes":
{"type", "url"}, ...}]}``; the next page is a GET of ``nextRecordsUrl``. The
cursor a stream saves after each page (:func:`cursor_after`) holds where the
run started (``since``), the next page's URL (``next``) and the newest
``SystemModstamp`` ingested (``mark``): a run killed mid-way resumes at the
next page, or, when Salesforce forgot the query (``INVALID_QUERY_LOCATOR``),
queries again from ``mark`` (ingested records are already in the inbox: a
repeat is a no-op). Deletions come from ``getDeleted``
(``/sobjects/<type>/deleted/?start=&end=``), one window per type.

External ids are ``Account:<Id>``, ``Contact:<Id>`` and ``Opportunity:<Id>``.
"""

import json
from datetime import UTC, datetime

from odoo.addons.integration_base.values import clean_text

from .hubspot_mapping import date_text, decimal_text

API_VERSION = "v61.0"
#: streamed object -> fields read
FIELDS = {
    "Account": (
        "Id",
        "Name",
        "Phone",
        "Website",
        "BillingStreet",
        "BillingCity",
        "BillingPostalCode",
        "BillingState",
        "BillingCountry",
        "SystemModstamp",
    ),
    "Contact": (
        "Id",
        "FirstName",
        "LastName",
        "Email",
        "Phone",
        "AccountId",
        "MailingStreet",
        "MailingCity",
        "MailingPostalCode",
        "MailingState",
        "MailingCountry",
        "SystemModstamp",
    ),
    "Opportunity": (
        "Id",
        "Name",
        "Amount",
        "CloseDate",
        "StageName",
        "IsClosed",
        "IsWon",
        "AccountId",
        "Description",
        "Owner.Email",
        "SystemModstamp",
    ),
}
CANONICAL_TYPES = {"Account": "customer", "Contact": "customer", "Opportunity": "crm_deal"}
#: event types of stream items
EVENT_TYPES = frozenset({f"{sobject.lower()}.{what}" for sobject in CANONICAL_TYPES for what in ("changed", "deleted")})
#: Salesforce's own limits on a query page (Sforce-Query-Options: batchSize)
PAGE_SIZE = (200, 2000)


def parse_time(value):
    """A Salesforce date-time (``2026-03-01T10:00:00.000+0000``) as an aware UTC datetime, or None."""
    text = clean_text(value)
    if not text:
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def soql_time(value):
    """A datetime (naive: UTC, as Odoo stores them) as a SOQL date-time literal (``2026-03-01T10:00:00Z``)."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def soql(sobject, since=None, multicurrency=False):
    """The query of the records of ``sobject`` changed since ``since`` (an aware datetime), oldest first.

    :param multicurrency: the organization has multiple currencies: records
        carry ``CurrencyIsoCode`` (a single-currency organization refuses the field)
    """
    fields = FIELDS[sobject] + (("CurrencyIsoCode",) if multicurrency and sobject == "Opportunity" else ())
    where = f" WHERE SystemModstamp >= {soql_time(since)}" if since else ""
    return f"SELECT {', '.join(fields)} FROM {sobject}{where} ORDER BY SystemModstamp, Id"


def read_cursor(cursor, backfill_from=None):
    """The saved cursor as ``{"since", "next", "mark"}`` (``since`` from ``backfill_from`` on a first run)."""
    if cursor:
        return json.loads(cursor)
    return {"since": soql_time(backfill_from) if backfill_from else None, "next": None, "mark": None}


def cursor_after(state, page):
    """The cursor to save once ``page`` is ingested, and whether a page follows.

    :return: ``(cursor text, has more)``
    """
    stamps = [record.get("SystemModstamp") for record in page.get("records") or () if record.get("SystemModstamp")]
    mark = max([parse_time(stamp) for stamp in stamps] + ([parse_time(state["mark"])] if state.get("mark") else []))
    mark = soql_time(mark) if stamps or state.get("mark") else None
    if page.get("done", True) or not page.get("nextRecordsUrl"):
        # the run is over: the next one starts at the newest change seen (>=: a change of the same second too)
        return json.dumps({"since": mark or state.get("since"), "next": None, "mark": None}), False
    return json.dumps({"since": state.get("since"), "next": page["nextRecordsUrl"], "mark": mark}), True


def stream_item(record):
    """An inbox item of a changed record: one event per version (``SystemModstamp``)."""
    sobject = record["attributes"]["type"]
    stamp = record.get("SystemModstamp")
    return {
        "external_id": f"{sobject}:{record['Id']}:{stamp}",
        "event_type": f"{sobject.lower()}.changed",
        "occurred_at": parse_time(stamp),
        "payload": json.dumps(record, sort_keys=True),
    }


def deleted_item(sobject, deleted):
    """An inbox item of a record ``getDeleted`` listed."""
    return {
        "external_id": f"{sobject}:{deleted['id']}:deleted",
        "event_type": f"{sobject.lower()}.deleted",
        "occurred_at": parse_time(deleted.get("deletedDate")),
        "payload": json.dumps({"attributes": {"type": sobject}, "Id": deleted["id"], **deleted}, sort_keys=True),
    }


# ----------------------------------------------------------------------
# Records -> canonical data
# ----------------------------------------------------------------------
def external_id(sobject, record_id):
    return f"{sobject}:{record_id}"


def _address(record, prefix, country_code):
    street = clean_text(record.get(f"{prefix}Street")) or ""
    line1, _sep, line2 = street.partition("\n")
    address = {
        "line1": clean_text(line1),
        "line2": clean_text(line2),
        "city": clean_text(record.get(f"{prefix}City")),
        "zip": clean_text(record.get(f"{prefix}PostalCode")),
        "state": clean_text(record.get(f"{prefix}State")),
        "country": country_code(record.get(f"{prefix}Country")),
    }
    return address if any(address.values()) else None


def account_data(record, country_code):
    data = {
        "name": clean_text(record.get("Name")) or f"Salesforce account {record['Id']}",
        "phone": clean_text(record.get("Phone")),
        "is_company": True,
        "metadata": {"salesforce_object": "Account", "salesforce_id": record["Id"]},
    }
    if clean_text(record.get("Website")):
        data["website"] = clean_text(record["Website"])
    address = _address(record, "Billing", country_code)
    if address:
        data["address"] = address
    return data


def contact_data(record, country_code):
    name = " ".join(part for part in (clean_text(record.get("FirstName")), clean_text(record.get("LastName"))) if part)
    data = {
        "name": name or clean_text(record.get("Email")) or f"Salesforce contact {record['Id']}",
        "email": clean_text(record.get("Email")),
        "phone": clean_text(record.get("Phone")),
        "is_company": False,
        "parent_ref": external_id("Account", record["AccountId"]) if record.get("AccountId") else None,
        "metadata": {"salesforce_object": "Contact", "salesforce_id": record["Id"]},
    }
    address = _address(record, "Mailing", country_code)
    if address:
        data["address"] = address
    return data


def opportunity_data(record):
    status = "won" if record.get("IsWon") else ("lost" if record.get("IsClosed") else "open")
    currency = clean_text(record.get("CurrencyIsoCode"))  # multi-currency organizations only
    return {
        "name": clean_text(record.get("Name")) or f"Salesforce opportunity {record['Id']}",
        "customer_ref": external_id("Account", record["AccountId"]) if record.get("AccountId") else None,
        "amount": decimal_text(record.get("Amount")),
        "currency": currency.upper() if currency else None,
        "close_date": date_text(record.get("CloseDate")),
        "stage": clean_text(record.get("StageName")),
        "status": status,
        "owner_email": clean_text((record.get("Owner") or {}).get("Email")),
        "description": clean_text(record.get("Description")),
        "metadata": {"salesforce_object": "Opportunity", "salesforce_id": record["Id"]},
    }


def message(record, country_code):
    """The canonical message of a streamed record (a change or a deletion)."""
    sobject = record["attributes"]["type"]
    result = {"type": CANONICAL_TYPES[sobject], "external_id": external_id(sobject, record["Id"])}
    if "deletedDate" in record:
        result.update(action="delete", data={"name": f"Salesforce {sobject} {record['Id']}"})
        return result
    if sobject == "Account":
        data = account_data(record, country_code)
    elif sobject == "Contact":
        data = contact_data(record, country_code)
    else:
        data = opportunity_data(record)
    result.update(action="upsert", data=data)
    stamp = parse_time(record.get("SystemModstamp"))
    if stamp:
        result["occurred_at"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return result


def errors(response):
    """``"CODE: message; ..."`` of a Salesforce error answer (an array of ``errorCode``/``message``)."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):  # the OAuth endpoint: {"error", "error_description"}
        body = [{"errorCode": body.get("error"), "message": body.get("error_description")}]
    if not isinstance(body, list):
        return None
    codes = [item for item in body if isinstance(item, dict) and item.get("errorCode")]
    return codes or None
