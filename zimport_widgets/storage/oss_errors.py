"""Turn ``oss2`` exceptions into the package's :class:`~zimport_widgets.errors.StorageError` classes.

Only the OSS error code, HTTP status, request id and the server's one-line message are kept (redacted
against the keys): never the response body, headers or ``details``, which for signature errors echo
the access key id and the string to sign.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import (
    BucketNotFoundError,
    IntegrityError,
    StorageAccessDenied,
    StorageAuthError,
    StorageError,
    StorageNetworkError,
    redact,
)

__all__ = ["AUTH_CODES", "is_retryable", "storage_error"]

AUTH_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurityToken", "SecurityTokenExpired", "AccessKeyDisabled"}
)
TOKEN_CODES = {
    "InvalidSecurityToken": "the STS security token was refused (it is not the one issued with these keys)",
    "SecurityTokenExpired": "the STS security token has expired",
}
TOKEN_HINT = (
    "get new temporary keys from STS (AssumeRole) and pass all three together: access_key_id, "
    "access_key_secret and security_token (or OSS_SECURITY_TOKEN)"
)
DENIED_CODES = frozenset({"AccessDenied", "AccessForbidden", "UserDisable"})
RETRYABLE_CODES = frozenset({"RequestTimeout", "SlowDown", "ServiceUnavailable", "InternalError"})


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def is_retryable(exc: BaseException) -> bool:
    """Network errors, HTTP 5xx, 429 and the OSS throttling/timeout codes are worth another try."""
    import oss2.exceptions as oe

    if isinstance(exc, oe.RequestError):
        return True
    if isinstance(exc, oe.ServerError):
        status = _status(exc) or 0
        return status >= 500 or status == 429 or getattr(exc, "code", "") in RETRYABLE_CODES
    return False


def storage_error(
    exc: BaseException,
    *,
    action: str,
    bucket: str | None = None,
    key: str | None = None,
    secrets: Iterable[str | None] = (),
    attempts: int | None = None,
) -> StorageError:
    """A :class:`StorageError` subclass describing ``exc``, raised while doing ``action`` (e.g. "upload")."""
    import oss2.exceptions as oe

    secrets = list(secrets)
    where = f"oss://{bucket}/{key}" if bucket and key else (f"bucket {bucket!r}" if bucket else "the object store")
    code = getattr(exc, "code", "") or None
    status = _status(exc)
    request_id = getattr(exc, "request_id", "") or None
    server_message = redact(str(getattr(exc, "message", "") or ""), secrets).strip()
    tries = f" after {attempts} attempts" if attempts and attempts > 1 else ""

    def text(what: str) -> str:
        msg = f"{action} {where}: {what}"
        if server_message and server_message not in msg:
            msg += f" (server: {server_message.rstrip('.')})"
        return redact(msg, secrets)

    if isinstance(exc, oe.InconsistentError):
        return IntegrityError(
            redact(f"{action} {where}: the CRC64 of the stored data differs from the local data", secrets),
            code="InconsistentError",
            request_id=request_id,
        )
    if isinstance(exc, oe.RequestError):
        cause = getattr(exc, "exception", None)
        reason = type(cause).__name__ if cause is not None else "connection error"
        return StorageNetworkError(
            redact(f"{action} {where}: the store could not be reached{tries} ({reason})", secrets),
            code=None,
            status=None,
        )
    if code in TOKEN_CODES:
        return StorageAuthError(
            text(TOKEN_CODES[code]), code=code, status=status, request_id=request_id, hint=TOKEN_HINT
        )
    if code in AUTH_CODES:
        return StorageAuthError(
            text("the access key id or secret was refused"), code=code, status=status, request_id=request_id
        )
    if code == "NoSuchBucket":
        return BucketNotFoundError(
            text(f"the bucket {bucket!r} does not exist"), code=code, status=status, request_id=request_id
        )
    if code in DENIED_CODES or (status == 403 and not code):
        return StorageAccessDenied(
            text("access denied"), code=code or "AccessDenied", status=status, request_id=request_id
        )
    if status is not None and (status >= 500 or status == 429):
        return StorageError(
            text(f"the store failed{tries}"),
            code=code,
            status=status,
            request_id=request_id,
            hint="the object store had a server-side problem; re-run the upload (finished objects are skipped)",
        )
    return StorageError(text("the request failed"), code=code, status=status, request_id=request_id)
