"""Canonical JSON Schemas: loading and validation (no ORM here).

Every addon may bring canonical types: their schemas live in the addon's
``schemas/v<major>/`` folder as Draft 2020-12 documents, one file per type
(``<code>.json``), with ids under :data:`BASE_URI` so that they can refer
to integration_base's ``common.json``. :func:`validate_message` loads the
folders it is given (``integration.canonical.type._schema_folders()``: every
installed addon's ``schemas/``), validates the envelope first, then ``data``
against the schema of the message's type. A violation raises
:class:`SchemaViolation` whose ``pointer`` is the JSON pointer of the
offending field inside the message (``/data/lines/0/amount``).
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
#: documents that are not the schema of a canonical type
SHARED_DOCUMENTS = ("common", "envelope")


@functools.cache
def _validators(major="1", folders=(str(SCHEMA_DIR),)):
    documents = {}
    for folder in folders:
        for path in sorted(Path(folder, f"v{major}").glob("*.json")):
            if path.stem in documents:
                raise ValueError(f"two addons define the canonical schema {path.stem} (v{major}): {path}")
            documents[path.stem] = json.loads(path.read_text())
    registry = Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in documents.values())
    checker = FormatChecker()
    return {
        name: Draft202012Validator(doc, registry=registry, format_checker=checker)
        for name, doc in documents.items()
        if name != "common"
    }


def schema_document(name, major="1", folders=None):
    """The JSON Schema document ``name`` (``envelope``, ``customer``...)."""
    return _validators(major, *([tuple(folders)] if folders else []))[name].schema


def _raise(error, prefix=""):
    pointer = prefix + "".join(f"/{part}" for part in error.absolute_path)
    raise SchemaViolation(
        f"{pointer or '/'}: {error.message}",
        pointer=pointer or "/",
        hint="The sending system produced a message the suite does not accept. "
        "Correct the payload (Edit and retry) or fix the mapping, then retry.",
    )


def validate_message(message, folders=None):
    """Validate a canonical message (envelope and data).

    :param message: dict with the envelope keys and ``data``
    :param folders: ``schemas/`` folders to load (default: integration_base's)
    :raise SchemaViolation: with the JSON pointer of the first offending field
    """
    if not isinstance(message, dict):
        raise SchemaViolation("/: a canonical message must be a JSON object", pointer="/")
    major = str(message.get("schema_version") or "1").split(".")[0]
    validators = _validators(major, *([tuple(folders)] if folders else []))
    if "envelope" not in validators:
        raise SchemaViolation(
            f"/schema_version: unsupported schema version {message.get('schema_version')!r}",
            pointer="/schema_version",
        )
    error = best_match(validators["envelope"].iter_errors(message))
    if error is not None:
        _raise(error)
    if message["type"] in SHARED_DOCUMENTS or message["type"] not in validators:
        known = ", ".join(sorted(set(validators) - set(SHARED_DOCUMENTS)))
        raise SchemaViolation(f"/type: unknown canonical type {message['type']!r} (known: {known})", pointer="/type")
    error = best_match(validators[message["type"]].iter_errors(message["data"]))
    if error is not None:
        _raise(error, prefix="/data")
    return message
