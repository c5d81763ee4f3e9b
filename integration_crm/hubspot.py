"""HubSpot specifics that need no ORM: signature v3, the CRM object kinds.

HubSpot signs webhook requests (v3) with the app's client secret::

    X-HubSpot-Request-Timestamp: <milliseconds since the epoch>
    X-HubSpot-Signature-v3: base64(HMAC-SHA256(client secret,
                                   method + URI + body + timestamp))

where the URI is the full URL HubSpot called, with a fixed set of
percent-encoded characters decoded (:data:`URI_DECODE`). Requests signed more
than :data:`TOLERANCE` seconds away from our clock are refused (replays).
"""

import base64
import hashlib
import hmac
import time

from odoo.addons.integration_base.billing import monthly  # noqa: F401 (HubSpot's MRR: the suite's)
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

#: webhook object type -> CRM API object path
OBJECT_PATHS = {"contact": "contacts", "company": "companies"}
#: subscription types applied to Odoo (the others are stored as ignored)
SUPPORTED_EVENTS = frozenset(
    {"contact.creation", "contact.propertyChange", "company.creation", "company.propertyChange"}
)
CONTACT_PROPERTIES = ("firstname", "lastname", "email", "phone", "address", "city", "zip", "state", "country")
COMPANY_PROPERTIES = ("name", "domain", "phone", "address", "address2", "city", "zip", "state", "country")


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
