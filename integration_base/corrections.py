"""Values people corrected, applied to canonical messages (no ORM here).

When a message is refused for some of its values, a finance person corrects
them in a guided form (``integration.exception.correct.wizard``). Each
correction is a dict of ``type`` and ``external_id`` (the message it is
for), ``pointer`` (a JSON pointer under ``/data/``), ``value`` (JSON; None
removes the value), ``user`` and ``date``. They are kept on the event
(``corrections``) and applied to the messages the connector maps at every
attempt, before validation: the raw payload stays as the sender sent it,
and a later attempt (a retry, a fetch of the current object) is corrected
the same way.
"""

from decimal import Decimal, InvalidOperation


def convert(text, types):
    """The value a person typed, as the JSON type of the field.

    :param types: the JSON type(s) the field takes (``"integer"``,
        ``["string", "null"]``...); unknown: text
    :return: the value (None for an empty text)
    :raise ValueError: the text is not a value of that type
    """
    types = [types] if isinstance(types, str) else list(types or [])
    text = (text or "").strip()
    if not text:
        return None
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"“{text}” is not a whole number") from None
    if "number" in types:
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise ValueError(f"“{text}” is not a number") from None
        return int(number) if number == number.to_integral_value() else float(number)
    if "boolean" in types:
        return text.lower() in ("1", "true", "yes", "y")
    return text


def _parts(pointer):
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]


def set_value(message, pointer, value):
    """Set (or, for None, remove) the value at ``pointer`` in ``message``.

    :return: True when the pointer leads somewhere in the message
    """
    parts = _parts(pointer)
    if not parts or parts[0] != "data":
        return False
    node = message
    for part in parts[:-1]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.setdefault(part, {}) if value is not None else node.get(part)
        else:
            return False
        if node is None:
            return True  # nothing to remove
    last = parts[-1]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    else:
        return False
    return True


def get_value(message, pointer):
    """The value at ``pointer`` in ``message``, or None."""
    node = message
    for part in _parts(pointer):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def apply(messages, corrections):
    """Apply ``corrections`` to the messages they are for (in place).

    :return: the number of values set
    """
    applied = 0
    for correction in corrections:
        for message in messages:
            if message.get("type") == correction.get("type") and message.get("external_id") == correction.get(
                "external_id"
            ):
                applied += set_value(message, correction["pointer"], correction.get("value"))
    return applied
