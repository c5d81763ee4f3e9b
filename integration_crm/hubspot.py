"""HubSpot specifics that need no ORM: signature v3 and what a webhook item is about.

HubSpot signs webhook requests (v3) with the app's client secret::

    X-HubSpot-Request-Timestamp: <milliseconds since the epoch>
    X-HubSpot-Signature-v3: base64(HMAC-SHA256(client secret,
                                   method + URI + body + timestamp))

where the URI is the full URL HubSpot called, with a fixed set of
percent-encoded characters decoded (:data:`URI_DECODE`). Requests signed more
than :data:`TOLERANCE` seconds away from our clock are refused (replays).

A request carries a JSON array of items in one of two formats, which an app
may mix: **legacy** subscriptions name the object in the type
(``contact.creation``, ``deal.propertyChange``...), **generic** ones
(``object.creation``...) carry it as ``objectTypeId`` (``0-1`` contacts,
``0-2`` companies, ``0-3`` deals). :func:`describe` reads both into one
shape: the object kind, the action, the object's id, and for association
changes the other side.
"""

import base64
import hashlib
import hmac
import time

from odoo.addons.integration_base.exceptions import SignatureError

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
TOLERANCE = 300
#: the encoded characters HubSpot decodes in the URI before signing it
URI_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}

#: generic subscriptions: objectTypeId -> object kind (HubSpot's standard object type ids)
OBJECT_TYPE_IDS = {
    "0-1": "contact",
    "0-2": "company",
    "0-3": "deal",
    "0-5": "ticket",
    "0-7": "product",
    "0-8": "line_item",
    "0-14": "quote",
    "0-27": "task",
    "0-46": "note",
    "0-47": "meeting",
    "0-48": "call",
    "0-49": "email",
}
#: object kinds applied to Odoo -> CRM API object path
OBJECT_PATHS = {"contact": "contacts", "company": "companies", "deal": "deals"}
#: actions whose object is read again from the CRM API (the event's own fields are not trusted)
READ_ACTIONS = frozenset({"creation", "propertyChange", "restore", "associationChange", "merge"})
#: every action applied; privacy deletions exist for contacts only
ACTIONS = READ_ACTIONS | {"deletion"}
#: subscription types applied to Odoo (the others are stored as ignored, counted, and reported once)
SUPPORTED_EVENTS = frozenset(
    {f"{kind}.{action}" for kind in OBJECT_PATHS for action in ACTIONS} | {"contact.privacyDeletion"}
)
#: an association change is applied to the side that holds the link in Odoo
#: (a person's parent company, an opportunity's customer)
ASSOCIATION_HOLDER = {
    frozenset({"contact", "company"}): "contact",
    frozenset({"deal", "company"}): "deal",
    frozenset({"deal", "contact"}): "deal",
}


def decode_uri(uri):
    for encoded, char in URI_DECODE.items():
        uri = uri.replace(encoded, char).replace(encoded.lower(), char)
    return uri


def sign(secret, method, uri, body, timestamp):
    """The v3 signature of a request. ``body`` bytes, ``timestamp`` str (ms)."""
    text = method.upper().encode() + decode_uri(uri).encode() + body + str(timestamp).encode()
    return base64.b64encode(hmac.new(secret.encode(), text, hashlib.sha256).digest()).decode()


def verify(secrets, headers, body, method, uris, now=None, tolerance=TOLERANCE):
    """Accept the request when one of ``secrets`` signed it for one of ``uris``.

    :param uris: the URLs the request may have been sent to (as received,
        and as configured in HubSpot when a proxy rewrites the host)
    :raise SignatureError: missing, stale or invalid signature
    """
    signature = (headers.get(SIGNATURE_HEADER) or "").strip()
    timestamp = (headers.get(TIMESTAMP_HEADER) or "").strip()
    if not signature or not timestamp:
        raise SignatureError(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header")
    if not timestamp.isdigit():
        raise SignatureError(f"malformed {TIMESTAMP_HEADER} header (milliseconds expected)")
    now = time.time() if now is None else now
    if abs(now - int(timestamp) / 1000) > tolerance:
        raise SignatureError(f"stale signature timestamp (more than {tolerance} seconds from now)")
    for secret in secrets:
        for uri in uris:
            if uri and hmac.compare_digest(sign(secret, method, uri, body, timestamp).encode(), signature.encode()):
                return True
    raise SignatureError("no matching signature")


# ----------------------------------------------------------------------
# Webhook items
# ----------------------------------------------------------------------
def _text_id(value):
    """An object id as text, or None (ids arrive as numbers or strings)."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


def _kind_of(type_id):
    type_id = _text_id(type_id)
    if not type_id:
        return None
    return OBJECT_TYPE_IDS.get(type_id, f"object_{type_id}")


def _association_kinds(item, prefix):
    """``(from kind, to kind)`` of an association change, legacy or generic."""
    from_kind, to_kind = _kind_of(item.get("fromObjectTypeId")), _kind_of(item.get("toObjectTypeId"))
    # legacy (and some generic) items name the pair: CONTACT_TO_COMPANY, DEAL_TO_LINE_ITEM...
    named_from, _sep, named_to = str(item.get("associationType") or "").lower().partition("_to_")
    from_kind = from_kind or named_from or (prefix if prefix != "object" else None)
    to_kind = to_kind or named_to or None
    return from_kind, to_kind


def describe(item):
    """What a webhook item is about, in either format.

    :return: dict of ``kind`` (``contact``, ``company``, ``deal``, ``ticket``,
        ``object_2-123``... for objects not applied), ``action``
        (``creation``, ``propertyChange``, ``deletion``, ``merge``,
        ``associationChange``...), ``object_id``, ``generic`` (bool), and for
        association changes ``other_kind``, ``other_id`` and ``removed``
    :raise ValueError: the item names no type or no object
    """
    raw_type = item.get("subscriptionType")
    if not isinstance(raw_type, str) or "." not in raw_type:
        raise ValueError("a HubSpot event needs a subscriptionType such as contact.creation or object.creation")
    prefix, _sep, action = raw_type.partition(".")
    generic = prefix == "object"
    info = {"action": action, "generic": generic, "raw_type": raw_type}
    if action == "associationChange":
        from_kind, to_kind = _association_kinds(item, prefix)
        info.update(
            kind=from_kind,
            object_id=_text_id(item.get("fromObjectId")) or _text_id(item.get("objectId")),
            other_kind=to_kind,
            other_id=_text_id(item.get("toObjectId")),
            removed=bool(item.get("associationRemoved")),
        )
    else:
        info.update(
            kind=_kind_of(item.get("objectTypeId")) if generic else prefix,
            object_id=_text_id(item.get("objectId")),
        )
    if not info["kind"] or not info["object_id"]:
        raise ValueError(f"a HubSpot {raw_type} event needs objectId (or fromObjectId) and its object type")
    return info


def event_type(info):
    """The event type stored for an item: ``<kind>.<action>``, whatever the format."""
    return f"{info['kind']}.{info['action']}"


def survivor_id(item):
    """The object a merge kept: ``newObjectId`` when the merge made a new one, else the primary."""
    for key in ("newObjectId", "primaryObjectId", "objectId"):
        value = _text_id(item.get(key))
        if value:
            return value
    return None


def merged_ids(item):
    """The objects a merge folded into the survivor."""
    values = item.get("mergedObjectIds")
    ids = [_text_id(value) for value in values] if isinstance(values, list) else []
    survivor = survivor_id(item)
    primary = _text_id(item.get("primaryObjectId"))
    if primary and primary != survivor:
        ids.append(primary)  # a merge that made a new object folded the primary too
    return [value for value in dict.fromkeys(ids) if value and value != survivor]


def reads(info, item):
    """``[(kind, id)]`` of the objects to read from the CRM API for an item (mapped kinds only)."""
    action = info["action"]
    if action not in READ_ACTIONS:
        return []
    if action == "merge":
        targets = [(info["kind"], survivor_id(item))]
    elif action == "associationChange":
        holder = ASSOCIATION_HOLDER.get(frozenset({info["kind"], info.get("other_kind")}))
        if holder is None:
            return []
        targets = [(info["kind"], info["object_id"]) if holder == info["kind"] else (holder, info["other_id"])]
    else:
        targets = [(info["kind"], info["object_id"])]
    return [(kind, object_id) for kind, object_id in targets if kind in OBJECT_PATHS and object_id]
