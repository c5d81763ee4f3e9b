"""Reading a request body with a bound, chunked bodies included (no ORM here).

werkzeug (as Odoo 19 ships it) applies no limit to a ``Transfer-Encoding:
chunked`` body: ``request.get_data()`` or Odoo's form parsing read it whole,
so one request can fill a worker's memory before any check. The public
routes read their body here instead, before anything else looks at it:

* with a ``Content-Length`` above the limit: refused without reading;
* chunked: decoded here from the raw socket, chunk size lines of at most
  :data:`MAX_CHUNK_LINE` bytes, refused as soon as the announced chunks
  exceed the limit -- never more than the limit is read;
* the bytes read are kept in the WSGI environ (:data:`ENVIRON_KEY`) and
  served to werkzeug, so Odoo's own parsing and a retried request (after a
  serialization failure) see the same bounded body.
"""

import io

from werkzeug.serving import DechunkedInput

ENVIRON_KEY = "integration_base.body"
#: longest chunk size line accepted (hex size, extensions, CRLF)
MAX_CHUNK_LINE = 1024
_MAX_TRAILER_LINES = 64


class BodyTooLarge(Exception):
    """The body is longer than the limit (HTTP 413)."""


class MalformedBody(Exception):
    """The body cannot be read (HTTP 400): broken chunked encoding, short read."""


def _read_exactly(stream, size):
    parts, missing = [], size
    while missing > 0:
        part = stream.read(min(missing, 65536))
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def _dechunk(rfile, limit):
    body = bytearray()
    while True:
        line = rfile.readline(MAX_CHUNK_LINE + 1)
        if not line.endswith(b"\n"):
            raise MalformedBody("chunked body: chunk size line too long or truncated")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise MalformedBody("chunked body: invalid chunk size") from exc
        if size < 0:
            raise MalformedBody("chunked body: negative chunk size")
        if size == 0:
            for _index in range(_MAX_TRAILER_LINES):  # trailers, then the final empty line
                if rfile.readline(MAX_CHUNK_LINE + 1) in (b"\r\n", b"\n", b""):
                    break
            return bytes(body)
        if len(body) + size > limit:
            raise BodyTooLarge()
        chunk = _read_exactly(rfile, size)
        if len(chunk) < size:
            raise MalformedBody("chunked body: truncated chunk")
        body += chunk
        rfile.readline(MAX_CHUNK_LINE + 1)  # the CRLF closing the chunk


def read_bounded(environ, limit):
    """The request body, at most ``limit`` bytes (read once, then cached).

    :param environ: the raw WSGI environ (with ``wsgi.input``)
    :raise BodyTooLarge: the body is longer than ``limit``
    :raise MalformedBody: it cannot be read
    """
    if ENVIRON_KEY in environ:
        return environ[ENVIRON_KEY]
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH")
    if isinstance(stream, DechunkedInput):
        data = _dechunk(stream._rfile, limit)  # werkzeug's server: decode from the socket ourselves
    elif environ.get("wsgi.input_terminated"):
        data = _read_exactly(stream, limit + 1)  # another server that dechunks for us
        if len(data) > limit:
            raise BodyTooLarge()
    elif length:
        try:
            size = int(length)
        except ValueError as exc:
            raise MalformedBody("invalid Content-Length") from exc
        if size > limit:
            raise BodyTooLarge()
        data = _read_exactly(stream, size)
        if len(data) < size:
            raise MalformedBody("the body is shorter than its Content-Length")
    else:
        data = b""
    environ[ENVIRON_KEY] = data
    return data


def serve_from_memory(wsgi_request, data):
    """Make werkzeug read ``data`` (already read) as the request's body."""
    wsgi_request.environ.pop("wsgi.input_terminated", None)
    wsgi_request.environ["wsgi.input"] = io.BytesIO(data)
    wsgi_request.environ["CONTENT_LENGTH"] = str(len(data))
    wsgi_request.__dict__.pop("stream", None)


def json_depth_exceeds(value, limit):
    """True when ``value`` (decoded JSON) nests lists/objects deeper than ``limit``."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
