"""Turn botocore exceptions into the package's :class:`~zimport_widgets.errors.StorageError` classes.

Only the S3 error code, HTTP status, request id and the server's one-line message are kept (redacted
against the keys): never the response, whose ``Error`` block may echo the access key id and the string to
sign, nor botocore's exception text.
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

__all__ = ["is_retryable", "storage_error"]

AUTH_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
                        "TokenRefreshRequired", "InvalidClientTokenId"})  # fmt: skip
TOKEN_CODES = {
    "InvalidToken": "the session token was refused (it is not the one issued with these keys)",
    "ExpiredToken": "the session token has expired",
}
DIGEST_CODES = frozenset({"BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"})
RETRYABLE_CODES = frozenset({"RequestTimeout", "SlowDown", "ServiceUnavailable", "InternalError", "Throttling"})
#: The variables each S3-API provider's hints name: key id, secret, bucket, region, endpoint.
VARIABLES = {
    "s3": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_BUCKET", "AWS_REGION", "AWS_ENDPOINT_URL_S3"),
    "cos": ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "COS_BUCKET", "COS_REGION", "COS_ENDPOINT"),
    "gcs": ("GCS_HMAC_ACCESS_KEY_ID", "GCS_HMAC_SECRET", "GCS_BUCKET", "the region (auto)", "GCS_ENDPOINT"),
}


def _parts(exc: BaseException) -> tuple[str | None, int | None, str | None, str]:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    status = meta.get("HTTPStatusCode")
    code = error.get("Code") or None
    if code is not None and code.isdigit():  # a HEAD answer has no body: botocore names the status
        code = {"403": "AccessDenied", "404": "NotFound", "400": "BadRequest"}.get(code)
    request_id = meta.get("RequestId") or (meta.get("HTTPHeaders") or {}).get("x-amz-request-id") or None
    return code, status if isinstance(status, int) else None, request_id, str(error.get("Message") or "")


def is_retryable(exc: BaseException) -> bool:
    """Network errors, HTTP 5xx, 429 and the S3 throttling/timeout codes are worth another try."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, (ConnectionError, HTTPClientError)):
        return True
    if isinstance(exc, ClientError):
        code, status, _, _ = _parts(exc)
        return (status or 0) >= 500 or status == 429 or code in RETRYABLE_CODES
    return False


def storage_error(
    exc: BaseException,
    *,
    action: str,
    bucket: str | None = None,
    key: str | None = None,
    region: str | None = None,
    secrets: Iterable[str | None] = (),
    attempts: int | None = None,
    provider: str = "s3",
) -> BaseException:
    """A :class:`StorageError` subclass describing a botocore ``exc`` raised while doing ``action`` (``provider``:
    ``"s3"`` or ``"cos"``, for the error bracket and the variables the hints name)."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError, NoCredentialsError

    key_var, secret_var, bucket_var, region_var, endpoint_var = VARIABLES[provider]
    label = provider.upper()
    keys_hint = f"the access key id or secret is wrong: check {key_var} / {secret_var}"
    secrets = list(secrets)
    where = (f"{provider}://{bucket}/{key}" if bucket and key
             else (f"bucket {bucket!r}" if bucket else "the object store"))  # fmt: skip
    tries = f" after {attempts} attempts" if attempts and attempts > 1 else ""
    if isinstance(exc, NoCredentialsError):
        return StorageAuthError(f"{action} {where}: no {label} keys given", provider=label, hint=keys_hint)
    if isinstance(exc, (ConnectionError, HTTPClientError)):
        return StorageNetworkError(
            redact(f"{action} {where}: the store could not be reached{tries} ({type(exc).__name__})", secrets),
            provider=label, hint=f"the object store could not be reached: check the endpoint ({endpoint_var}), "
            "the network or a proxy, then re-run",
        )  # fmt: skip
    if not isinstance(exc, ClientError):
        return exc
    code, status, request_id, server_message = _parts(exc)
    server_message = redact(server_message, secrets).strip()

    def made(cls: type[StorageError], what: str, hint: str, error_code: str | None = code) -> StorageError:
        msg = f"{action} {where}: {what}"
        if server_message and server_message not in msg:
            msg += f" (server: {server_message.rstrip('.')})"
        return cls(redact(msg, secrets), code=error_code, status=status, request_id=request_id, hint=hint,
                   provider=label)  # fmt: skip

    if code in DIGEST_CODES:
        return made(IntegrityError, "the store received other bytes than the file's (checksum mismatch)",
                    "the data changed in transit; re-run the upload")  # fmt: skip
    if code in TOKEN_CODES:
        return made(StorageAuthError, TOKEN_CODES[code], "get new temporary keys (STS) and pass all three together")
    if code in AUTH_CODES:
        return made(StorageAuthError, "the access key id or secret was refused", keys_hint)
    if code == "NoSuchBucket":
        return made(BucketNotFoundError, f"the bucket {bucket!r} does not exist",
                    f"create the bucket, or check {bucket_var} and the region")  # fmt: skip
    if code in ("AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException"):
        return made(StorageError, "the bucket is in another region than the one the request was signed for",
                    f"set the bucket's region ({region_var}; now {region or 'unset'})")  # fmt: skip
    if code in ("AccessDenied", "AllAccessDisabled") or (status == 403 and not code):
        return made(StorageAccessDenied, "access denied",
                    "the keys are valid but may not write here: grant s3:PutObject, s3:GetObject and s3:ListBucket "
                    "(s3:AbortMultipartUpload for clean-ups)", code or "AccessDenied")  # fmt: skip
    if status is not None and (status >= 500 or status == 429):
        return made(
            StorageError,
            f"the store failed{tries}",
            "the object store had a server-side problem; re-run the upload (finished objects are skipped)",
        )
    return made(StorageError, "the request failed", "check the endpoint, bucket, region and keys")
