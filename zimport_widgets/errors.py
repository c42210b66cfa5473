"""The one exception tree of zimport_widgets.

Every error the package raises on purpose derives from :class:`ZImportError`, carries an
actionable message (what went wrong, where, what to do) and never contains a key or secret.

* ZImportError
  x ConfigError                 - a setting (endpoint, bucket, key) is missing or malformed
  x SchemaError                 - a collection schema is malformed or cannot be used
    - UnsupportedFieldError     - a field type NumPy import cannot carry (ARRAY, SPARSE, nullable)
  x DataFileError               - a value or file of the import source is wrong (file, row, field)
  x SourceInvalidError          - :func:`check_import_source` found errors; carries the report
  x LocalFileError              - a local file or folder could not be read or written (also an OSError)
  x StorageError                - object storage (OSS) failed; carries OSS code, status, request id
    - StorageAuthError          - wrong access key id or secret (InvalidAccessKeyId, SignatureDoesNotMatch)
    - BucketNotFoundError       - the bucket does not exist (NoSuchBucket)
    - StorageAccessDenied       - the keys are valid but lack permission (AccessDenied)
    - StorageNetworkError       - the store could not be reached after bounded retries
    - IntegrityError            - a CRC64 check failed: the stored object differs from the local file
  x ZillizError                 - the import / cluster REST API failed; carries the endpoint
    - ZillizAPIError            - the API answered an error code; carries code, HTTP status, hint
      - RetryableStatus         - an HTTP 429 or 5xx answer (``retry_after`` from the header)
    - ZillizNetworkError        - the API could not be reached, or did not answer, after bounded retries
      - RequestNotSent          - the request certainly did not reach the server
      - AmbiguousRequestError   - the request was sent but no clear answer came back: it may have acted
      - DeadlineExceeded        - a call ran out of the time its caller allowed
  x ImportJobFailed             - an import job ended in state Failed; carries reason and per-file details
  x ImportTimeout               - waiting for an import job exceeded its timeout
  x ProgressCallbackError       - a user's progress callback raised
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "AmbiguousRequestError",
    "BucketNotFoundError",
    "ConfigError",
    "DataFileError",
    "DeadlineExceeded",
    "ImportJobFailed",
    "ImportTimeout",
    "IntegrityError",
    "LocalFileError",
    "ProgressCallbackError",
    "RequestNotSent",
    "RetryableStatus",
    "SchemaError",
    "SourceInvalidError",
    "StorageAccessDenied",
    "StorageAuthError",
    "StorageError",
    "StorageNetworkError",
    "UnsupportedFieldError",
    "ZImportError",
    "ZillizAPIError",
    "ZillizError",
    "ZillizNetworkError",
    "local_file_errors",
    "redact",
]

MASK = "***"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-empty secret in ``text`` with ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, MASK)
    return text


class ZImportError(Exception):
    """Base class of every error zimport_widgets raises on purpose."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message


class ConfigError(ZImportError, ValueError):
    """A required setting is missing or malformed."""


class SchemaError(ZImportError, ValueError):
    """A collection schema is malformed or cannot be used for this operation."""


class UnsupportedFieldError(SchemaError):
    """A field whose type NumPy import cannot carry (ARRAY, SPARSE_FLOAT_VECTOR, nullable fields)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(
            f"field {field!r}: {reason}; NumPy import cannot carry it",
            hint='import this collection from a JSON file ({"rows": [...]}) instead of NumPy files',
        )


class DataFileError(ZImportError, ValueError):
    """A value or a file of the import source is wrong.

    ``file``, ``row`` (0-based index) and ``field`` say where; ``expected`` and ``got`` say what.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        expected: str | None = None,
        got: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file, self.row, self.field = file, row, field
        self.expected, self.got = expected, got
        #: The message alone, without where (file, row, field) and what (expected, got).
        self.detail = message
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        text = (", ".join(where) + ": " if where else "") + self.what
        super().__init__(text, hint=hint)

    @property
    def what(self) -> str:
        """The message with expected/got, without the file, row and field."""
        if self.expected is None:
            return self.detail
        return f"{self.detail} (expected {self.expected}" + (f", got {self.got})" if self.got is not None else ")")


class LocalFileError(ZImportError, OSError):
    """A local file or folder could not be read or written (permissions, a full disk, a name too long...).

    ``path`` names it; ``errno`` is the system's code. Nothing half-written is left behind.
    """

    _HINTS: ClassVar[dict[int, str]] = {
        errno.EACCES: "check the permissions of {path} (ls -ld) or choose another place",
        errno.EPERM: "check the permissions of {path} (ls -ld) or choose another place",
        errno.ENOSPC: "the disk holding {path} is full: free some space or write elsewhere",
        errno.EFBIG: "{path} grew past the largest file this process may write (ulimit -f) or the disk allows",
        errno.EDQUOT: "the disk quota for {path} is used up: free some space or write elsewhere",
        errno.ENAMETOOLONG: "a file name is too long (each field becomes <field>.npy): shorten the field names",
        errno.EEXIST: "a file is in the way: {path} is a file where a folder is needed",
        errno.ENOTDIR: "a file is in the way: part of {path} is a file where a folder is needed",
        errno.EISDIR: "{path} is a folder where a file is needed",
        errno.EROFS: "{path} is on a read-only file system: write elsewhere",
        errno.ENOENT: "check the path: {path} does not exist",
    }

    def __init__(
        self, message: str, *, path: str | None = None, errno_: int | None = None, strerror: str | None = None
    ) -> None:
        self.path = path
        hint = self._HINTS.get(errno_ or -1)
        super().__init__(message, hint=hint.format(path=path or "the file") if hint else None)
        # an OSError as the system would give it: errno, strerror and filename for callers that look
        self.errno, self.strerror, self.filename = errno_, strerror, path

    @classmethod
    def from_os_error(cls, exc: OSError) -> LocalFileError:
        """The error for ``exc``, naming its file (and the second one of a rename)."""
        if isinstance(exc, LocalFileError):
            return exc
        path = os.fsdecode(exc.filename) if exc.filename is not None else None
        what = exc.strerror or type(exc).__name__
        if path is not None and exc.filename2 is not None:
            text = f"{path} -> {os.fsdecode(exc.filename2)}: {what}"
        else:
            text = f"{path}: {what}" if path is not None else what
        return cls(text, path=path, errno_=exc.errno, strerror=exc.strerror)


def local_file_errors(fn: F) -> F:
    """Let ``fn`` raise :class:`LocalFileError` (naming the file) instead of a bare ``OSError``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LocalFileError:
            raise
        except OSError as exc:
            if isinstance(exc, (ConnectionError, TimeoutError)) or (exc.errno is None and exc.filename is None):
                raise  # not about a local file
            raise LocalFileError.from_os_error(exc) from None

    return wrapper  # type: ignore[return-value]


class SourceInvalidError(ZImportError, ValueError):
    """:func:`check_import_source` found errors; ``report`` holds them all."""

    def __init__(self, report: Any) -> None:
        self.report = report
        errors = list(getattr(report, "errors", []))
        head = "; ".join(str(e) for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(
            f"the import source is invalid: {head}{more}",
            hint="fix the files (zimport check PATH shows every problem), then try again",
        )


class StorageError(ZImportError):
    """Object storage failed. ``code`` is the store's error code (``provider``'s: OSS, S3…), ``request_id``
    the store's request id."""

    hint = "check the endpoint, bucket and keys (OSS_* variables)"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        provider: str = "OSS",
    ) -> None:
        self.code, self.status, self.request_id = code, status, request_id
        parts = [message]
        if code:
            parts.append(f"[{provider} {code}" + (f", HTTP {status}" if status else "") + "]")
        if request_id:
            parts.append(f"(request id {request_id})")
        super().__init__(" ".join(parts), hint=hint)


class StorageAuthError(StorageError):
    hint = "the access key id or secret is wrong: check OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET"


class BucketNotFoundError(StorageError):
    hint = "create the bucket, or check OSS_BUCKET and that OSS_ENDPOINT is the bucket's region"


class StorageAccessDenied(StorageError):
    hint = "the keys are valid but may not write here: grant oss:PutObject (and oss:GetObject, oss:ListObjects)"


class StorageNetworkError(StorageError):
    hint = "the object store could not be reached: check OSS_ENDPOINT, the network or a proxy, then re-run"


class IntegrityError(StorageError):
    hint = "the stored object differs from the local file (CRC64); re-run the upload to replace it"


class ZillizError(ZImportError):
    """The REST API failed. ``endpoint`` is ``"METHOD /path"``; ``server_message`` the message alone."""

    def __init__(self, message: str, *, endpoint: str | None = None, hint: str | None = None) -> None:
        self.endpoint = endpoint
        self.server_message = message
        super().__init__((f"{endpoint}: " if endpoint else "") + message, hint=hint)


class ZillizAPIError(ZillizError):
    """The REST API answered an error. ``code`` is the API's code, ``status`` the HTTP status."""

    HINTS: ClassVar[dict[int, str]] = {
        80002: "the API key is wrong or lacks permission: check ZILLIZ_API_KEY",
        80020: "the cluster id is wrong or the key may not access it: check ZILLIZ_CLUSTER_ID",
        40021: "the cluster id does not exist: check ZILLIZ_CLUSTER_ID / the cluster endpoint",
        90102: "the cluster is not in this region: check the controller URL's region",
        90104: "no cluster id was sent: set ZILLIZ_CLUSTER_ID or pass the cluster endpoint",
        47005: "create the collection first, or check the collection name",
        47036: "a NumPy source needs exactly one <field>.npy per collection field (no extra, none missing)",
        47053: "a data file failed the server's checks: run `zimport check` on the local files",
        83001: "the object could not be read: check the object URL and that the keys may read the bucket",
        83004: "the bucket must be in the same cloud and region as the cluster",
        10003: "the object URL is malformed or outside the bucket: use the URL that upload_to_oss returned",
        90011: "collection names may contain only letters, digits and underscores",
        90144: "no such job on this cluster: check the job id and cluster id",
        21119: "the API key is wrong: check ZILLIZ_API_KEY",
        1800: "not authenticated: check the API key (user:password for self-hosted Milvus)",
        47035: "an object is larger than the import limit: split the data into several files",
        47039: "this cluster runs one import at a time: wait for the running job (zimport jobs), then retry",
        47055: "the cluster is busy importing: wait for the running job (zimport jobs), then retry",
        90142: "nothing to import was given: pass the object URL that upload_to_oss returned",
        90145: "no object URL was sent: pass the object URL that upload_to_oss returned",
    }

    def __init__(
        self,
        code: int | None,
        message: str,
        *,
        status: int | None = None,
        endpoint: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.code, self.status = code, status
        text = f"code {code}: {message}" if code is not None else message
        if status and status != 200:
            text += f" (HTTP {status})"
        if hint is None and code is not None:
            hint = self.HINTS.get(code)
        super().__init__(text, endpoint=endpoint, hint=hint)
        self.server_message = message


class RetryableStatus(ZillizAPIError):
    """An HTTP 429 or 5xx answer (``retry_after`` from the header, if any)."""

    def __init__(
        self, code: int | None, message: str, *, status: int, endpoint: str | None, retry_after: float | None
    ) -> None:
        super().__init__(code, message, status=status, endpoint=endpoint)
        self.retry_after = retry_after


class ZillizNetworkError(ZillizError):
    """The REST API could not be reached, or did not answer, after bounded retries."""

    def __init__(self, message: str, *, endpoint: str | None = None, hint: str | None = None) -> None:
        super().__init__(
            message, endpoint=endpoint, hint=hint or "check the endpoint URL, the network or a proxy, then try again"
        )


class RequestNotSent(ZillizNetworkError):
    """The request certainly did not reach the server (connection refused, connect timeout)."""


class AmbiguousRequestError(ZillizNetworkError):
    """The request was sent but no answer came back: the server may or may not have acted on it."""


class DeadlineExceeded(ZillizNetworkError):
    """A call ran out of the time its caller allowed (see ``deadline=``)."""


class ImportJobFailed(ZImportError):
    """An import job failed on the server; ``reason`` and ``details`` come from the server."""

    def __init__(self, job_id: str, reason: str, details: Any = (), *, hint: str | None = None) -> None:
        self.job_id, self.reason, self.details = job_id, reason, details
        super().__init__(
            f"import job {job_id} failed: {reason or 'no reason given'}",
            hint=hint or "fix the source files (zimport check) and start a new import",
        )


class ImportTimeout(ZImportError, TimeoutError):
    """Waiting for an import job took longer than the timeout; the job may still be running."""

    def __init__(self, job_id: str, timeout: float, last: Any = None) -> None:
        self.job_id, self.timeout, self.last = job_id, timeout, last
        super().__init__(
            f"import job {job_id} did not finish within {timeout:g} s",
            hint="the job keeps running on the server: follow it with `zimport status JOB_ID`",
        )


class ProgressCallbackError(ZImportError):
    """A user-supplied progress callback raised; the original exception is ``__cause__``."""
