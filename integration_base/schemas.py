"""Canonical JSON Schemas: loading and validation (no ORM here).

Every addon may bring canonical types: their schemas live in the addon's
``schemas/v<major>/`` folder as Draft 2020-12 documents, one file per type
(``<code>.json``), with ids under :data:`BASE_URI` so that they can refer
to integration_base's ``common.json``. :func:`validate_message` loads the
folders it is given (``integration.canonical.type._schema_folders()``: every
installed addon's ``schemas/``), validates the envelope first, then ``data``
against the schema of the message's type.

Two rules go beyond Draft 2020-12:

* ``"x-order": [["start", "end"], ...]`` on an object: when both are
  present, the first date (or date-time) is not after the second (an
  impossible period is refused, not stored);
* the format ``iso4217``: a currency code Odoo knows (the codes are given
  by the caller, from ``res.currency``).

A violation raises :class:`SchemaViolation` listing every offending value
(``problems``: pointer, rule, value, the rule's limit or allowed values),
so that a person can be told in plain words what is wrong, and correct it;
its ``pointer`` is the first one (``/data/lines/0/amount``).
"""

import functools
import json
from datetime import UTC, date, datetime
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from .exceptions import SchemaViolation

SCHEMA_DIR = Path(__file__).parent / "schemas"
BASE_URI = "https://schemas.odoo-integration.dev/canonical/v{major}/"
#: documents that are not the schema of a canonical type
SHARED_DOCUMENTS = ("common", "envelope")
#: rules whose parameter is a limit
LIMIT_RULES = (
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
)


def _moment(text):
    """A date or date-time text as a comparable naive UTC datetime, or None."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time())
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _order(validator, pairs, instance, schema):
    """``x-order``: each pair of dates in order when both are given."""
    if not validator.is_type(instance, "object"):
        return
    for first, second in pairs:
        start, end = instance.get(first), instance.get(second)
        if not isinstance(start, str) or not isinstance(end, str):
            continue
        start_at, end_at = _moment(start), _moment(end)
        if start_at and end_at and start_at > end_at:
            yield ValidationError(f"{first} ({start}) is after {second} ({end})", path=[first])


CanonicalValidator = validators.extend(Draft202012Validator, {"x-order": _order})


@functools.cache
def _validators(major="1", folders=(str(SCHEMA_DIR),), currencies=None):
    documents = {}
    for folder in folders:
        for path in sorted(Path(folder, f"v{major}").glob("*.json")):
            if path.stem in documents:
                raise ValueError(f"two addons define the canonical schema {path.stem} (v{major}): {path}")
            documents[path.stem] = json.loads(path.read_text())
    registry = Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in documents.values())
    checker = FormatChecker()
    if currencies is not None:
        checker.checks("iso4217")(lambda value: not isinstance(value, str) or value in currencies)
    return {
        name: CanonicalValidator(doc, registry=registry, format_checker=checker)
        for name, doc in documents.items()
        if name != "common"
    }


def schema_document(name, major="1", folders=None):
    """The JSON Schema document ``name`` (``envelope``, ``customer``...)."""
    return _validators(major, tuple(folders) if folders else (str(SCHEMA_DIR),))[name].schema


def short(value, size=80):
    """A value as a person reads it in one line (JSON for non-texts), cut to ``size``."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= size else text[: size - 1] + "…"


def _problem(error, prefix):
    """One offending value: pointer, rule, value and the rule's parameters."""
    path = prefix + "".join(f"/{part}" for part in error.absolute_path)
    rule = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    problem = {"pointer": path or "/", "rule": rule, "message": error.message, "kind": schema.get("x-kind")}
    problem["value"] = short(error.instance) if rule not in ("required", "dependentRequired") else None
    problem["types"] = schema.get("type") or _json_type(error.instance)
    if rule in LIMIT_RULES:
        problem["limit"] = error.validator_value
    elif rule == "enum":
        problem["allowed"] = [value for value in error.validator_value if value is not None]
    elif rule == "format":
        problem["format"] = error.validator_value
    elif rule == "type":
        problem["expected"] = error.validator_value
    elif rule == "required" and isinstance(error.instance, dict):
        missing = [key for key in error.validator_value if key not in error.instance]
        if missing:
            problem.update(pointer=f"{path}/{missing[0]}", types=_property_type(schema, missing[0]))
    elif rule == "dependentRequired" and isinstance(error.instance, dict):
        for key, needed in error.validator_value.items():
            missing = [other for other in needed if key in error.instance and other not in error.instance]
            if missing:
                problem.update(
                    pointer=f"{path}/{missing[0]}", other=f"{path}/{key}", types=_property_type(schema, missing[0])
                )
                break
    elif rule == "x-order":
        _order_problem(problem, error, path)
    return problem


def _order_problem(problem, error, path):
    """An ``x-order`` error sits on the first date; name the second one too."""
    first = error.path[-1] if error.path else None
    second = next((pair[1] for pair in error.validator_value if pair[0] == first), None)
    parent = error.instance if isinstance(error.instance, dict) else {}
    problem.update(value=short(parent.get(first)), other=second, other_value=short(parent.get(second)))
    problem["types"] = "string"
    problem["other_pointer"] = f"{path.rpartition('/')[0]}/{second}"


def _json_type(value):
    """The JSON type of a value (what a corrected value is converted to)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else None


def _property_type(schema, key):
    prop = (schema.get("properties") or {}).get(key) or {}
    return prop.get("type")


def _problems(errors, prefix):
    """Every offending value, once per pointer (the most relevant error of each), in pointer order."""
    by_path = {}
    for error in errors:
        by_path.setdefault(tuple(error.absolute_path), []).append(error)
    problems = [_problem(best_match(group), prefix) for group in by_path.values()]
    seen, unique = set(), []
    for problem in sorted(problems, key=lambda item: item["pointer"]):
        if problem["pointer"] not in seen:
            seen.add(problem["pointer"])
            unique.append(problem)
    return unique


def _raise(problems, message):
    text = "; ".join(f"{problem['pointer']}: {problem['message']}" for problem in problems)
    raise SchemaViolation(
        text,
        pointer=problems[0]["pointer"],
        problems=problems,
        canonical_type=message.get("type") if isinstance(message.get("type"), str) else None,
        external_id=message.get("external_id") if isinstance(message.get("external_id"), str) else None,
    )


def validate_message(message, folders=None, currencies=None):
    """Validate a canonical message (envelope and data).

    :param message: dict with the envelope keys and ``data``
    :param folders: ``schemas/`` folders to load (default: integration_base's)
    :param currencies: the currency codes Odoo knows (a frozenset), checked
        by the ``iso4217`` format; None checks the pattern only
    :raise SchemaViolation: with every offending value and the JSON pointer of the first
    """
    if not isinstance(message, dict):
        raise SchemaViolation("/: a canonical message must be a JSON object", pointer="/")
    major = str(message.get("schema_version") or "1").split(".")[0]
    validators_ = _validators(major, tuple(folders) if folders else (str(SCHEMA_DIR),), currencies)
    if "envelope" not in validators_:
        raise SchemaViolation(
            f"/schema_version: unsupported schema version {message.get('schema_version')!r}",
            pointer="/schema_version",
        )
    errors = list(validators_["envelope"].iter_errors(message))
    if errors:
        _raise(_problems(errors, ""), message)
    if message["type"] in SHARED_DOCUMENTS or message["type"] not in validators_:
        known = ", ".join(sorted(set(validators_) - set(SHARED_DOCUMENTS)))
        raise SchemaViolation(f"/type: unknown canonical type {message['type']!r} (known: {known})", pointer="/type")
    errors = list(validators_[message["type"]].iter_errors(message["data"]))
    if errors:
        _raise(_problems(errors, "/data"), message)
    return message
