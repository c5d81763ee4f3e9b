"""What of a request or an answer may be stored, logged or shown (no ORM here).

* Headers are kept by **allow-list**: only the names in
  :data:`const.SAFE_HEADERS` (plus the ones a connector declares harmless)
  keep their value; every other header is stored as ``***``. A deny-list
  always misses the next vendor's ``X-Whatever-Key``.
* Bodies logged for debugging mask the keys of :data:`const.SENSITIVE_KEYS`.
* What a remote system answered in an error reaches people (an event's error,
  an exception's details, a connection test) only as a short excerpt of a
  JSON or plain-text answer, with control characters and known secrets
  removed; HTML pages and binary answers are named, never shown.
"""

import json
import re

from .const import REMOTE_EXCERPT_CHARS, SAFE_HEADERS, SENSITIVE_KEYS

MASK = "***"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]+")
_SPACE = re.compile(r"\s+")
#: shapes of credentials worth masking wherever they appear in a text
_CREDENTIAL = re.compile(
    r"(?i)\b(?:bearer\s+[\w.~+/=-]{8,}|(?:sk|rk|pk|whsec)_(?:live|test)?_?[\w]{8,}|pat-[a-z0-9]+-[\w-]{8,})"
)


def redact_headers(headers, safe=()):
    """Copy of ``headers`` where only harmless headers keep their value.

    :param safe: more harmless header names (any case), e.g. a connector's
        event id and timestamp headers
    """
    allowed = SAFE_HEADERS | {name.lower() for name in safe}
    return {key: (value if key.lower() in allowed else MASK) for key, value in (headers or {}).items()}


def redact_data(data):
    """Copy of a JSON-like structure with sensitive keys masked."""
    if isinstance(data, dict):
        return {
            key: (MASK if str(key).lower() in SENSITIVE_KEYS else redact_data(value)) for key, value in data.items()
        }
    if isinstance(data, list):
        return [redact_data(value) for value in data]
    return data


def sanitize_text(text, secrets=(), limit=REMOTE_EXCERPT_CHARS):
    """``text`` on one line, without control characters, secrets or credentials, at most ``limit`` characters."""
    text = _SPACE.sub(" ", _CONTROL.sub(" ", str(text or ""))).strip()
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, MASK)
    text = _CREDENTIAL.sub(MASK, text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def remote_excerpt(response, secrets=(), limit=REMOTE_EXCERPT_CHARS):
    """A short, safe excerpt of what a remote system answered, for people to read.

    :param response: anything with ``headers`` and ``content`` (a requests response)
    """
    content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    content = response.content or b""
    if not content:
        return "(empty answer)"
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            text = json.dumps(json.loads(content), separators=(",", ":"), ensure_ascii=False)
        except ValueError:
            text = content[: limit * 4].decode("utf-8", errors="replace")
    elif content_type == "text/plain":
        text = content[: limit * 4].decode("utf-8", errors="replace")
    else:
        return f"({content_type or 'untyped'} answer of {len(content)} bytes, not shown)"
    return sanitize_text(text, secrets=secrets, limit=limit)


def changed_paths(before, after, limit=20):
    """JSON pointers of what differs between two JSON values, never the values themselves.

    What an audit of an edited payload may tell everyone who reads the chatter.
    """
    paths = []

    def walk(old, new, path):
        if len(paths) > limit:
            return
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new), key=str):
                pointer = f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"
                if key not in old or key not in new:
                    paths.append(pointer)
                else:
                    walk(old[key], new[key], pointer)
        elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            for index, (old_item, new_item) in enumerate(zip(old, new, strict=True)):
                walk(old_item, new_item, f"{path}/{index}")
        elif old != new:
            paths.append(path or "/")

    walk(before, after, "")
    return paths[:limit] + (["…"] if len(paths) > limit else [])
