"""Keep keys out of the storage SDKs' logs: oss2 and botocore log Authorization headers, STS tokens and
strings to sign at DEBUG level. :func:`mask_sdk_logs` puts a masking filter on their loggers (when the first
backend is made, not at import time)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["RedactFilter", "mask_sdk_logs"]

_AUTH_HEADER = re.compile(r"(OSS4?-?[A-Z0-9-]*\s+)[^\s:'\",]+:[^\s'\",]+")
_TOKEN_HEADER = re.compile(r"""(['"]x-(?:oss|amz)-security-token['"]\s*:\s*b?['"])[^'"]*['"]""", re.IGNORECASE)
_CREDENTIAL = re.compile(
    r"((?:Credential|OSSAccessKeyId|security-token|X-Amz-Credential|X-Amz-Security-Token)=)[^/&\s'\",]+",
    re.IGNORECASE,
)
#: the token inside a string to sign or canonical request (``x-oss-security-token:TOKEN\n``,
#: ``x-amz-security-token:TOKEN``) and the key id oss2.StsAuth logs (``access_key_id: ID``)
_TOKEN_SIGNED = re.compile(r"(x-(?:oss|amz)-security-token:|access_key_id: )[^\s\\'\",]+", re.IGNORECASE)
#: botocore's credential scope in a string to sign and its canonical-request key id (``AKID/20261201/…``)
_SCOPE = re.compile(r"\b[A-Za-z0-9]{12,128}(/\d{8}/[a-z0-9-]+/(?:s3|oss)/(?:aws4|aliyun_v4)_request)")


class RedactFilter(logging.Filter):
    """Masks the Authorization header, key ids and security tokens the SDKs log at DEBUG level."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            return True
        clean = _CREDENTIAL.sub(r"\1***", _TOKEN_HEADER.sub(r"\1***'", _AUTH_HEADER.sub(r"\1***", text)))
        clean = _SCOPE.sub(r"***\1", _TOKEN_SIGNED.sub(r"\1***", clean))
        if clean != text:
            record.msg, record.args = clean, ()
        return True


_FILTER = RedactFilter()
_QUIET = logging.NullHandler()


def mask_sdk_logs(loggers: Iterable[str], *, quiet: str | None = None) -> None:
    """Put the masking filter on each of ``loggers`` (idempotent); ``quiet``: a logger that gets a null handler,
    so that its warnings do not reach stderr in the middle of an upload that succeeds."""
    for name in loggers:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    if quiet is not None and _QUIET not in logging.getLogger(quiet).handlers:
        logging.getLogger(quiet).addHandler(_QUIET)
