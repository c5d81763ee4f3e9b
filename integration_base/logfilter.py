"""Credentials out of the access log (no ORM here).

The webhook reference and the billing-context reference are credentials (an
unguessable part of a URL) and the billing-context query names a customer's
e-mail. werkzeug logs every request line (``"POST /integration/webhook/<ref>
HTTP/1.1" 202 ...``): :class:`AccessLogFilter`, installed on the
``werkzeug`` logger when the addon is imported, keeps only the first
:data:`PREFIX` characters of the reference and drops the query string of the
suite's routes. The suite's own log lines name a reference by its prefix too.
"""

import logging
import re

PREFIX = 6
_REFERENCE = re.compile(r"(/integration/(?:webhook|helpdesk)/)([^/?#\s\"']+)")
_QUERY = re.compile(r"(/integration/[^?#\s\"']*)\?[^#\s\"']*")


def redact_path(text):
    """``text`` with the suite's URL credentials shortened and its query strings removed."""
    if "/integration/" not in text:
        return text
    text = _REFERENCE.sub(lambda match: match.group(1) + match.group(2)[:PREFIX] + "…", text)
    return _QUERY.sub(lambda match: match.group(1) + "?…", text)


class AccessLogFilter(logging.Filter):
    def filter(self, record):
        if isinstance(record.msg, str):
            record.msg = redact_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_path(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def install(logger_name="werkzeug"):
    """Add the filter to ``logger_name`` once (idempotent)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, AccessLogFilter) for existing in logger.filters):
        logger.addFilter(AccessLogFilter())
