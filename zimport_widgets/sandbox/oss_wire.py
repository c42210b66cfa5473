"""The Aliyun OSS wire format that the sandbox's store speaks, as plain functions and constants.

Everything here is a fact about OSS's HTTP dialect that holds whatever answers the request: what a
request id looks like, how an error document is spelled, which reason phrase goes with a status, how
S3 user-metadata header names read in OSS, the 100 KiB minimum multipart part size, and how a request
body that ends before its ``Content-Length`` is refused (``IncompleteBody``). It imports nothing of
the sandbox, so the moto plumbing (:mod:`.oss_moto`), the CRC64 bookkeeping (:mod:`.oss_crc`) and the
WSGI translation (:mod:`.oss_dialect`) can all build on it.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from xml.sax.saxutils import escape

__all__ = [
    "OSS_MIN_PART_SIZE",
    "REASONS",
    "BodyTooLarge",
    "IncompleteBody",
    "error_xml",
    "new_request_id",
    "oss_header_name",
    "read_exactly",
    "tag",
]

#: OSS's minimum size of a multipart part (all but the last), 100 KiB; S3/moto would use 5 MiB.
OSS_MIN_PART_SIZE = 100 * 1024

#: The reason phrase of each error status the store answers with.
REASONS = {
    400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests",
    500: "Internal Server Error", 503: "Service Unavailable",
}  # fmt: skip


def new_request_id() -> str:
    """An OSS-looking request id (24 upper-case hex digits)."""
    return secrets.token_hex(12).upper()


def error_xml(code: str, message: str, request_id: str, host_id: str, **extra: str | None) -> bytes:
    """An OSS error document."""
    items = [("Code", code), ("Message", message), ("RequestId", request_id), ("HostId", host_id)]
    items += [(k, v) for k, v in extra.items() if v is not None]
    inner = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in items)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}</Error>'.encode()


def tag(body: bytes, name: str) -> str | None:
    """The text of the first ``<name>`` element in an XML ``body`` (None if there is none)."""
    m = re.search(rb"<" + name.encode() + rb">(.*?)</" + name.encode() + rb">", body, re.S)
    return m.group(1).decode("utf-8", "replace") if m else None


def oss_header_name(name: str) -> str:
    """A response header's name as OSS spells it (``x-amz-meta-*`` user metadata becomes ``x-oss-meta-*``)."""
    low = name.lower()
    if low.startswith("x-amz-meta-"):
        return "x-oss-meta-" + name[len("x-amz-meta-") :]
    return name


class IncompleteBody(Exception):
    """The client sent fewer body bytes than it announced (it disconnected mid-body)."""


def read_exactly(stream: Any, length: int) -> bytes:
    """``length`` bytes from ``stream``; :class:`IncompleteBody` if it ends sooner."""
    if length <= 0:
        return b""
    chunks: list[bytes] = []
    got = 0
    while got < length:
        chunk = stream.read(length - got)
        if not chunk:
            raise IncompleteBody(
                f"You did not provide the number of bytes specified by the Content-Length HTTP header "
                f"({got} of {length} bytes arrived)."
            )
        chunks.append(chunk)
        got += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class BodyTooLarge(Exception):
    """The request body is larger than the server accepts (refused before it is read)."""

    def __init__(self, limit: int, length: int | None) -> None:
        self.limit, self.length = limit, length
        got = f"{length} bytes" if length is not None else "more"
        super().__init__(f"The request body is too large: {got}, the limit is {limit} bytes.")


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The whole request body, at most ``limit`` bytes: :class:`BodyTooLarge` (before reading anything
    when ``Content-Length`` says so, else as soon as a chunked body passes the limit) or
    :class:`IncompleteBody` (the client went away mid-body)."""
    stream = environ["wsgi.input"]
    chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    if environ.get("wsgi.input_terminated") or chunked:
        chunks: list[bytes] = []
        got = 0
        try:
            while True:
                chunk = stream.read(min(1 << 20, limit + 1 - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
                if got > limit:
                    raise BodyTooLarge(limit, None)
        except OSError as exc:  # werkzeug's de-chunker: a cut-off chunked body
            raise IncompleteBody(f"The request body was cut off ({exc}).") from None
        return b"".join(chunks)
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise IncompleteBody("The Content-Length header is not a number.") from None
    if length > limit:
        raise BodyTooLarge(limit, length)
    try:
        return read_exactly(stream, length)
    except OSError as exc:
        raise IncompleteBody(f"The request body was cut off ({exc}).") from None
