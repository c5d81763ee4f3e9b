"""Canonical JSON Schemas: loading and validation (no ORM here).

The schemas live in ``schemas/v<major>/`` as Draft 2020-12 documents; the
envelope is validated first, then ``data`` against the schema of the
message's type. A violation raises :class:`SchemaViolation` whose
``pointer`` is the JSON pointer of the offending field inside the message
(``/data/lines/0/amount``).
"""

import functools
import json
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from .exceptions import SchemaViolation

SCHEMA_DIR = Path(__file__).parent / "schemas"
BASE_URI = "https://schemas.odoo-integration.dev/canonical/v{major}/"


@functools.cache
def _validators(major="1"):
    folder = SCHEMA_DIR / f"v{major}"
    documents = {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
    registry = Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in documents.values())
    checker = FormatChecker()
    return {
        name: Draft202012Validator(doc, registry=registry, format_checker=checker)
        for name, doc in documents.items()
        if name != "common"
    }


def schema_document(name, major="1"):
    """The JSON Schema document ``name`` (``envelope``, ``customer``...)."""
    return _validators(major)[name].schema


def _raise(error, prefix=""):
    pointer = prefix + "".join(f"/{part}" for part in error.absolute_path)
    raise SchemaViolation(
        f"{pointer or '/'}: {error.message}",
        pointer=pointer or "/",
        hint="The sending system produced a message the suite does not accept. "
        "Correct the payload (Edit and retry) or fix the mapping, then retry.",
    )


def validate_message(message):
    """Validate a canonical message (envelope and data).

    :param message: dict with the envelope keys and ``data``
    :raise SchemaViolation: with the JSON pointer of the first offending field
    """
    if not isinstance(message, dict):
        raise SchemaViolation("/: a canonical message must be a JSON object", pointer="/")
    major = str(message.get("schema_version") or "1").split(".")[0]
    try:
        validators = _validators(major)
    except (FileNotFoundError, KeyError):
        validators = None
    if not validators:
        raise SchemaViolation(
            f"/schema_version: unsupported schema version {message.get('schema_version')!r}",
            pointer="/schema_version",
        )
    error = best_match(validators["envelope"].iter_errors(message))
    if error is not None:
        _raise(error)
    error = best_match(validators[message["type"]].iter_errors(message["data"]))
    if error is not None:
        _raise(error, prefix="/data")
    return message
