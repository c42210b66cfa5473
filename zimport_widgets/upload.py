"""Upload prepared import files to Aliyun OSS: parallel, resumable, CRC64-verified, with one progress bar.

:func:`upload_to_oss` sends a file, a list of files or a folder (its relative layout kept) under a prefix
and returns an :class:`UploadResult` whose ``object_url`` is what the import API takes.

How a run stays safe to interrupt and re-run:

* every object is written atomically: small files with one PUT, large files as a multipart upload
  (``oss2.resumable_upload``) that is invisible until its final ``complete`` call, so no truncated
  object is ever visible under its final key;
* the multipart checkpoints live in a per-user cache folder (:func:`default_checkpoint_dir`), never in
  the working tree; re-running resumes from the parts already stored;
* objects already present with the same size and CRC64 are skipped;
* every object's CRC64 is compared with the local file's; an object that does not match is deleted and
  :class:`~zimport_widgets.errors.IntegrityError` is raised;
* at the end the prefix is listed and every expected object must be there with its size: the object URL
  is only returned when the whole set is in place. A failed run raises, so it never hands out a URL.
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import random
import re
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .config import (
    OSS_ACCESS_KEY_ID,
    OSS_ACCESS_KEY_SECRET,
    OSS_BUCKET,
    OSS_ENDPOINT,
    OSS_SECURITY_TOKEN,
    env_value,
    require,
)
from .errors import ConfigError, DataFileError, IntegrityError
from .object_url import UrlForm, join_key, normalize_endpoint, normalize_prefix, object_url
from .oss_errors import is_retryable, storage_error
from .progress import ProgressArg, Reporter, UploadProgress

__all__ = [
    "DEFAULT_MULTIPART_THRESHOLD",
    "DEFAULT_NUM_THREADS",
    "DEFAULT_PART_SIZE",
    "PlannedFile",
    "UploadPlan",
    "UploadResult",
    "UploadedObject",
    "default_checkpoint_dir",
    "file_crc64",
    "plan_upload",
    "upload_to_oss",
    "verify_upload",
]

T = TypeVar("T")

DEFAULT_MULTIPART_THRESHOLD = 32 * 1024 * 1024
DEFAULT_PART_SIZE = 8 * 1024 * 1024
DEFAULT_NUM_THREADS = 4
MIN_PART_SIZE = 100 * 1024  # OSS refuses smaller parts (except the last)
_CRC_CHUNK = 4 * 1024 * 1024


# --------------------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class PlannedFile:
    """One local file and the object key it goes to."""

    path: Path
    key: str
    size: int
    relative: str


@dataclass(frozen=True)
class UploadPlan:
    """What an upload will write: the files, their keys, and the key the object URL points at."""

    files: tuple[PlannedFile, ...]
    prefix: str
    url_key: str
    is_folder: bool

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _is_hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def plan_upload(source: str | os.PathLike | Sequence[str | os.PathLike], prefix: str) -> UploadPlan:
    """Map ``source`` (a file, a list of files or a folder) to object keys under ``prefix``.

    A folder keeps its relative layout (hidden files and folders such as ``.ipynb_checkpoints`` are left
    out); a list of files keeps its layout relative to the files' common folder; a single file goes to
    ``prefix/<name>``. Keys are unique; a missing path raises :class:`DataFileError`.
    """
    prefix = normalize_prefix(prefix)
    if isinstance(source, (str, os.PathLike)):
        root = Path(source)
        if root.is_dir():
            paths = sorted(p for p in root.rglob("*") if p.is_file() and not _is_hidden(p.relative_to(root)))
            if not paths:
                raise DataFileError("the folder holds no files to upload", file=str(root))
            files = tuple(
                PlannedFile(
                    p,
                    join_key(prefix, p.relative_to(root).as_posix()),
                    p.stat().st_size,
                    p.relative_to(root).as_posix(),
                )
                for p in paths
            )
            return UploadPlan(files, prefix, prefix, True)
        if not root.is_file():
            raise DataFileError("no such file or folder", file=str(root), hint="check the path of the source")
        key = join_key(prefix, root.name)
        return UploadPlan((PlannedFile(root, key, root.stat().st_size, root.name),), prefix, key, False)

    paths = [Path(p) for p in source]
    if not paths:
        raise ConfigError("the list of files to upload is empty", hint="pass a file, a list of files or a folder")
    for p in paths:
        if not p.is_file():
            raise DataFileError("no such file (a list may hold files only)", file=str(p))
    parents = [str(p.resolve().parent) for p in paths]
    common = Path(os.path.commonpath(parents))
    files: list[PlannedFile] = []
    seen: dict[str, Path] = {}
    for p in paths:
        rel = p.resolve().relative_to(common).as_posix()
        key = join_key(prefix, rel)
        if key in seen:
            raise ConfigError(f"{p} and {seen[key]} would both be uploaded to {key!r}", hint="list each file once")
        seen[key] = p
        files.append(PlannedFile(p, key, p.stat().st_size, rel))
    return UploadPlan(tuple(files), prefix, prefix, True)


def default_checkpoint_dir() -> Path:
    """The per-user folder for multipart checkpoints: ``$ZIMPORT_CHECKPOINT_DIR``, else the user cache.

    Linux: ``$XDG_CACHE_HOME`` or ``~/.cache``; macOS: ``~/Library/Caches``; Windows: ``%LOCALAPPDATA%``;
    then ``zimport_widgets/oss-checkpoints``. Never the working tree.
    """
    override = os.environ.get("ZIMPORT_CHECKPOINT_DIR")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "zimport_widgets" / "oss-checkpoints"


def file_crc64(path: str | os.PathLike) -> int:
    """CRC-64/ECMA of a file, as OSS computes it (``x-oss-hash-crc64ecma``)."""
    from oss2.utils import Crc64

    crc = Crc64()
    with open(path, "rb") as f:
        while chunk := f.read(_CRC_CHUNK):
            crc.update(chunk)
    return crc.crc


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class UploadedObject:
    """One object of an upload: its key, size and CRC64; ``skipped`` when it was already there."""

    key: str
    size: int
    crc64: int
    skipped: bool = False
    verified: bool = True  # False only when the store reported no CRC64 to compare with


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


@dataclass(frozen=True)
class UploadResult:
    """What :func:`upload_to_oss` wrote. ``object_url`` is what the import API takes."""

    object_url: str
    bucket: str
    endpoint: str
    prefix: str
    objects: tuple[UploadedObject, ...]
    total_bytes: int
    bytes_uploaded: int
    elapsed: float
    is_folder: bool
    url_key: str
    extra_keys: tuple[str, ...] = field(default=())

    @property
    def oss_url(self) -> str:
        """The ``oss://bucket/key`` form of the object URL."""
        return object_url(self.endpoint, self.bucket, self.url_key, folder=self.is_folder, form="oss")

    @property
    def uploaded(self) -> tuple[UploadedObject, ...]:
        return tuple(o for o in self.objects if not o.skipped)

    @property
    def skipped(self) -> tuple[UploadedObject, ...]:
        return tuple(o for o in self.objects if o.skipped)

    def url_for(self, key: str, *, form: UrlForm = "https") -> str:
        """The URL of one object (or sub-folder, with a trailing ``/``) of this upload."""
        folder = key.endswith("/")
        return object_url(self.endpoint, self.bucket, key, folder=folder, form=form)

    def _summary(self) -> str:
        rate = self.bytes_uploaded / self.elapsed if self.elapsed > 0 else 0.0
        return (
            f"{len(self.objects)} objects, {_fmt_bytes(self.total_bytes)} "
            f"({len(self.uploaded)} uploaded, {len(self.skipped)} already there), "
            f"{self.elapsed:.1f} s" + (f", {_fmt_bytes(rate)}/s" if self.bytes_uploaded else "")
        )

    def __repr__(self) -> str:
        lines = [f"UploadResult({self._summary()})", f"  object_url: {self.object_url}"]
        for o in self.objects[:10]:
            mark = "skipped" if o.skipped else ("ok" if o.verified else "unverified")
            lines.append(f"  {o.key}  {_fmt_bytes(o.size)}  crc64={o.crc64}  {mark}")
        if len(self.objects) > 10:
            lines.append(f"  … and {len(self.objects) - 10} more")
        if self.extra_keys:
            shown = ", ".join(self.extra_keys[:3])
            lines.append(f"  note: {len(self.extra_keys)} other objects under the prefix: {shown}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        rows = "".join(
            f"<tr><td><code>{e(o.key)}</code></td><td style='text-align:right'>{e(_fmt_bytes(o.size))}</td>"
            f"<td><code>{o.crc64}</code></td><td>{'skipped' if o.skipped else 'uploaded'}"
            f"{'' if o.verified else ' (unverified)'}</td></tr>"
            for o in self.objects[:50]
        )
        more = f"<p>… and {len(self.objects) - 50} more objects</p>" if len(self.objects) > 50 else ""
        extra = (
            f"<p><b>Note:</b> {len(self.extra_keys)} other objects are under this prefix "
            f"(e.g. <code>{e(self.extra_keys[0])}</code>); an import reads them too.</p>"
            if self.extra_keys
            else ""
        )
        return (
            "<div class='zimport-upload-result'>"
            f"<p><b>Uploaded</b> {e(self._summary())}</p>"
            f"<p>Object URL: <code>{e(self.object_url)}</code></p>"
            "<table><thead><tr><th>key</th><th>size</th><th>CRC64</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{more}{extra}</div>"
        )


# --------------------------------------------------------------------------------------------- progress


class _Cancelled(Exception):
    """Raised inside upload threads once another file failed, to stop them early."""


class _ResumedMismatch(IntegrityError):
    """A multipart upload resumed from a checkpoint completed with the wrong CRC64 (retried afresh once)."""


class _ProgressAggregator:
    """Sums per-file byte counts into one monotonic total and feeds a :class:`Reporter`.

    oss2 calls back with absolute per-file positions from several threads; a retried PUT restarts at 0,
    so each file counts its maximum. Callable targets get at most one event per ``step`` bytes (and
    always the final one); the whole update runs under one lock, so events arrive in order.
    """

    def __init__(self, reporter: Reporter, bytes_total: int, files_total: int, stop: threading.Event) -> None:
        self._reporter = reporter
        self._lock = threading.Lock()
        self._per_file: dict[str, int] = {}
        self.bytes_done = 0
        self.files_done = 0
        self.bytes_total = bytes_total
        self.files_total = files_total
        self._step = max(256 * 1024, bytes_total // 500)
        self._last_emit = -1
        self._stop = stop

    def advance(self, name: str, consumed: int) -> None:
        if self._stop.is_set():
            raise _Cancelled()
        with self._lock:
            prev = self._per_file.get(name, 0)
            if consumed > prev:
                self._per_file[name] = consumed
                self.bytes_done += consumed - prev
            if self.bytes_done - self._last_emit >= self._step:
                self._emit(name)

    def file_done(self, name: str, size: int) -> None:
        with self._lock:
            prev = self._per_file.get(name, 0)
            if size > prev:
                self._per_file[name] = size
                self.bytes_done += size - prev
            self.files_done += 1
            self._emit(name)

    def _emit(self, name: str) -> None:
        self._last_emit = self.bytes_done
        event = UploadProgress(self.bytes_done, self.bytes_total, self.files_done, self.files_total, name)
        self._reporter.update(self.bytes_done, event, postfix=name)


# ------------------------------------------------------------------------------------------- log filter

_AUTH_HEADER = re.compile(r"(OSS4?-?[A-Z0-9-]*\s+)[^\s:'\",]+:[^\s'\",]+")
_TOKEN_HEADER = re.compile(r"('x-oss-security-token'\s*:\s*')[^']*'", re.IGNORECASE)
_CREDENTIAL = re.compile(r"((?:Credential|OSSAccessKeyId|security-token)=)[^/&\s'\",]+")
#: the token inside a string to sign (oss2.auth logs it: ``x-oss-security-token:TOKEN\n``) and the key id
#: oss2.StsAuth logs when it is made (``Init StsAuth: access_key_id: ID, ...``)
_TOKEN_SIGNED = re.compile(r"(x-oss-security-token:|access_key_id: )[^\s\\'\",]+", re.IGNORECASE)


class _RedactFilter(logging.Filter):
    """Masks the Authorization header and security token oss2 logs at DEBUG level."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            return True
        clean = _CREDENTIAL.sub(r"\1***", _TOKEN_HEADER.sub(r"\1***'", _AUTH_HEADER.sub(r"\1***", text)))
        clean = _TOKEN_SIGNED.sub(r"\1***", clean)
        if clean != text:
            record.msg, record.args = clean, ()
        return True


_FILTER = _RedactFilter()
for _name in ("oss2", "oss2.api", "oss2.http", "oss2.auth", "oss2.resumable", "oss2.utils"):
    if _FILTER not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_FILTER)


# ----------------------------------------------------------------------------------------------- upload


class _Uploader:
    def __init__(
        self,
        *,
        bucket: Any,
        bucket_name: str,
        secrets: list[str | None],
        plan: UploadPlan,
        store: Any,
        multipart_threshold: int,
        part_size: int,
        num_threads: int,
        retries: int,
        retry_backoff: float,
        progress: _ProgressAggregator,
        stop: threading.Event,
    ) -> None:
        self.bucket, self.bucket_name, self.secrets, self.plan = bucket, bucket_name, secrets, plan
        self.store, self.multipart_threshold, self.part_size = store, multipart_threshold, part_size
        self.num_threads, self.retries, self.retry_backoff = num_threads, retries, retry_backoff
        self.progress, self.stop = progress, stop
        self.remote: dict[str, int] = {}
        self._lock = threading.Lock()
        self.bytes_uploaded = 0

    # -- helpers
    def call(self, fn: Callable[[], T], *, action: str, key: str | None = None) -> T:
        """Run ``fn`` with bounded retries and exponential backoff for network errors, 5xx and 429."""
        import oss2.exceptions as oe

        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except oe.OssError as exc:
                if is_retryable(exc) and attempt <= self.retries and not self.stop.is_set():
                    delay = min(self.retry_backoff * 2 ** (attempt - 1), 20.0) * (0.5 + random.random() / 2)
                    time.sleep(delay)
                    continue
                err = storage_error(
                    exc, action=action, bucket=self.bucket_name, key=key, secrets=self.secrets, attempts=attempt
                )
            raise err from None  # the oss2 exception's body and details may echo the access key id

    def list_prefix(self, prefix: str) -> dict[str, int]:
        """Sizes of the objects under ``prefix/``."""
        import oss2

        def run() -> dict[str, int]:
            return {o.key: o.size for o in oss2.ObjectIterator(self.bucket, prefix=prefix + "/")}

        return self.call(run, action="listing", key=prefix + "/")

    def _delete_quietly(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self.bucket.delete_object(key)

    # -- one file
    def upload_file(self, pf: PlannedFile) -> UploadedObject:
        if self.stop.is_set():
            raise _Cancelled()
        local_crc: int | None = None
        if self.remote.get(pf.key) == pf.size:
            head = self.call(lambda: self.bucket.head_object(pf.key), action="checking", key=pf.key)
            if head.server_crc is not None:
                local_crc = file_crc64(pf.path)
                if head.server_crc == local_crc:
                    self.progress.file_done(pf.relative, pf.size)
                    return UploadedObject(pf.key, pf.size, local_crc, skipped=True)

        try:
            return self._send_verified(pf, local_crc)
        except _ResumedMismatch:
            # the parts kept from an interrupted run did not add up to the file (OSS never keeps a part cut
            # short by a kill, so e.g. the file was rewritten in place): the object was deleted and the
            # checkpoint is gone; send it afresh, once
            return self._send_verified(pf, local_crc)

    def _send_verified(self, pf: PlannedFile, local_crc: int | None) -> UploadedObject:
        import oss2

        multipart = pf.size >= self.multipart_threshold
        resumed: list[int] = []

        def on_progress(consumed: int, total: int | None) -> None:
            if not resumed:
                resumed.append(consumed)  # a resumed multipart upload starts at the bytes already stored
            # oss2 reports the full size before the multipart upload is completed (and verified): hold the
            # last byte back until the object really exists
            self.progress.advance(pf.relative, min(consumed, pf.size - 1) if multipart else consumed)

        def send() -> Any:
            resumed.clear()
            if multipart:
                return oss2.resumable_upload(
                    self.bucket,
                    pf.key,
                    str(pf.path),
                    store=self.store,
                    multipart_threshold=self.multipart_threshold,
                    part_size=self.part_size,
                    num_threads=self.num_threads,
                    progress_callback=on_progress,
                )
            with open(pf.path, "rb") as f:
                return self.bucket.put_object(pf.key, f, progress_callback=on_progress)

        try:
            result = self.call(send, action="uploading", key=pf.key)
        except IntegrityError:
            self._delete_quietly(pf.key)
            raise
        sent = pf.size - (resumed[0] if resumed and multipart else 0)
        with self._lock:
            self.bytes_uploaded += max(0, sent)

        server_crc = getattr(result, "crc", None)
        fresh = not multipart or (bool(resumed) and resumed[0] == 0)  # every part sent by this very call
        checked = getattr(self.bucket, "verified_multipart", {}).pop(pf.key, None) if multipart else server_crc
        if local_crc is None:
            if server_crc is not None and fresh and checked == server_crc and self.bucket.enable_crc:
                # oss2 compared the CRC64 of the bytes it read from the file (each part) with the server's
                local_crc = server_crc
            else:  # parts from an earlier run, or no server CRC: read the file
                local_crc = file_crc64(pf.path)
        if server_crc is None:
            head = self.call(lambda: self.bucket.head_object(pf.key), action="verifying", key=pf.key)
            server_crc = head.server_crc
            if head.content_length != pf.size:
                self._delete_quietly(pf.key)
                raise IntegrityError(
                    f"upload oss://{self.bucket_name}/{pf.key}: stored {head.content_length} "
                    f"bytes, the local file {pf.path} has {pf.size}",
                    code="SizeMismatch",
                )
        if server_crc is not None and server_crc != local_crc:
            self._delete_quietly(pf.key)
            cls = _ResumedMismatch if multipart and not fresh else IntegrityError
            raise cls(
                f"upload oss://{self.bucket_name}/{pf.key}: CRC64 {server_crc} of the stored object differs "
                f"from CRC64 {local_crc} of {pf.path}; the object was deleted",
                code="InconsistentError",
                request_id=getattr(result, "request_id", None),
            )
        self.progress.file_done(pf.relative, pf.size)
        return UploadedObject(pf.key, pf.size, local_crc, skipped=False, verified=server_crc is not None)

    # -- the whole plan
    def _pooled(self, pf: PlannedFile) -> UploadedObject:
        try:
            return self.upload_file(pf)
        except BaseException:
            self.stop.set()  # the other threads (and the large file in the main thread) stop at their next chunk
            raise

    def run(self, workers: int) -> list[UploadedObject]:
        large = [f for f in self.plan.files if f.size >= self.multipart_threshold]
        small = [f for f in self.plan.files if f.size < self.multipart_threshold]
        done: dict[str, UploadedObject] = {}
        pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="zimport-upload")
        futures: list[Future] = [pool.submit(self._pooled, f) for f in small]
        error: BaseException | None = None
        try:
            for f in large:  # one at a time, each with num_threads parts in flight, while small files run
                done[f.key] = self.upload_file(f)
            wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException as exc:  # includes KeyboardInterrupt: stop the other threads, then re-raise
            error = exc
            self.stop.set()
        pool.shutdown(wait=True, cancel_futures=self.stop.is_set())
        failed = [fu.exception() for fu in futures if not fu.cancelled() and fu.exception() is not None]
        real = [e for e in failed if not isinstance(e, _Cancelled)]
        if error is None or isinstance(error, _Cancelled):
            error = real[0] if real else (error or (failed[0] if failed else None))
        if error is not None:
            raise error
        for fu in futures:
            obj = fu.result()
            done[obj.key] = obj
        return [done[f.key] for f in self.plan.files]


_BUCKET_CLASS: Any = None


def _bucket_class() -> Any:
    """``oss2.Bucket`` that remembers which multipart uploads oss2 verified end to end (CRC64 of every part)."""
    global _BUCKET_CLASS
    if _BUCKET_CLASS is None:
        import oss2
        from oss2.utils import calc_obj_crc_from_parts

        class VerifyingBucket(oss2.Bucket):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.verified_multipart: dict[str, int] = {}
                self._verified_lock = threading.Lock()

            def complete_multipart_upload(self, key: Any, upload_id: Any, parts: Any, headers: Any = None) -> Any:
                result = super().complete_multipart_upload(key, upload_id, parts, headers=headers)
                # upload_part compared each part's client CRC64 with the server's; combined, they must give
                # the object's CRC64. Only then does the object equal the bytes read from the file.
                combined = calc_obj_crc_from_parts(sorted(parts, key=lambda p: p.part_number)) if parts else None
                if self.enable_crc and combined is not None and combined == result.crc:
                    with self._verified_lock:
                        self.verified_multipart[str(key)] = combined
                return result

        _BUCKET_CLASS = VerifyingBucket
    return _BUCKET_CLASS


def _make_bucket(
    endpoint: str,
    bucket: str,
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None,
    connect_timeout: float,
    pool_size: int,
) -> Any:
    import oss2

    auth = (
        oss2.StsAuth(access_key_id, access_key_secret, security_token)
        if security_token
        else oss2.Auth(access_key_id, access_key_secret)
    )
    return _bucket_class()(
        auth,
        endpoint,
        bucket,
        enable_crc=True,
        connect_timeout=connect_timeout,
        session=oss2.Session(pool_size=pool_size),
    )


def _sts_token(security_token: str | None, access_key_id: str | None) -> str | None:
    """The STS token: the argument, else ``OSS_SECURITY_TOKEN`` if the key id comes from the environment too.

    A token only belongs with the temporary key id it was issued with; OSS refuses a token sent with
    long-term keys, so keys passed as arguments never pick one up from the environment.
    """
    if security_token:
        return security_token
    return None if access_key_id else env_value(None, OSS_SECURITY_TOKEN)


def _run_check(source: Any, schema: Any) -> None:
    from .checks import check_import_source

    report = check_import_source(source, schema)
    report.raise_for_errors()


def upload_to_oss(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    prefix: str,
    endpoint: str | None = None,
    bucket: str | None = None,
    access_key_id: str | None = None,
    access_key_secret: str | None = None,
    security_token: str | None = None,
    progress: ProgressArg = True,
    check: bool = True,
    schema: Any = None,
    url_form: UrlForm = "https",
    part_size: int = DEFAULT_PART_SIZE,
    multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
    num_threads: int = DEFAULT_NUM_THREADS,
    workers: int = DEFAULT_NUM_THREADS,
    retries: int = 4,
    retry_backoff: float = 0.5,
    connect_timeout: float = 30.0,
    checkpoint_dir: str | os.PathLike | None = None,
) -> UploadResult:
    """Upload ``source`` under ``prefix`` in an OSS bucket and return the object URL for the import API.

    Parameters
    ----------
    source
        A file, a list of files, or a folder (uploaded with its relative layout, so the prefix is itself
        a valid import source; hidden files are left out).
    prefix
        The folder in the bucket, e.g. ``"medium_articles/v1"``.
    endpoint, bucket, access_key_id, access_key_secret
        Default to ``OSS_ENDPOINT``, ``OSS_BUCKET``, ``OSS_ACCESS_KEY_ID``, ``OSS_ACCESS_KEY_SECRET``.
    security_token
        The STS security token that goes with temporary keys (``oss2.StsAuth``). Defaults to
        ``OSS_SECURITY_TOKEN`` when the key id also comes from the environment.
    progress
        ``True`` (one tqdm.auto bar in bytes, current file as postfix), ``False``, a dict of tqdm
        arguments, or a callable receiving :class:`~zimport_widgets.progress.UploadProgress`.
    check, schema
        Run :func:`~zimport_widgets.checks.check_import_source` first (before any request) and refuse an
        invalid source with :class:`~zimport_widgets.errors.SourceInvalidError`.
    url_form
        ``"https"`` (virtual-host for ``*.aliyuncs.com``, path style for an IP/localhost endpoint) or
        ``"oss"`` (``oss://bucket/prefix/``).
    part_size, multipart_threshold, num_threads
        Files of at least ``multipart_threshold`` bytes go through ``oss2.resumable_upload`` in parts of
        ``part_size`` bytes, ``num_threads`` parts at a time; smaller files are sent whole,
        ``workers`` at a time.
    retries, retry_backoff
        Network errors, 5xx and 429 answers are retried ``retries`` times, waiting about
        ``retry_backoff * 2**n`` seconds; then :class:`~zimport_widgets.errors.StorageNetworkError` or
        :class:`~zimport_widgets.errors.StorageError` is raised.
    checkpoint_dir
        Where multipart checkpoints are kept; default :func:`default_checkpoint_dir`.

    Returns
    -------
    UploadResult
        ``.object_url``, ``.objects`` (key, size, CRC64, skipped), ``.total_bytes``, ``.elapsed``.

    Examples
    --------
    >>> result = upload_to_oss("prepared/", prefix="articles/v1")  # doctest: +SKIP
    >>> result.object_url  # doctest: +SKIP
    'https://my-bucket.oss-cn-hangzhou.aliyuncs.com/articles/v1/'
    """
    started = time.perf_counter()
    if part_size < MIN_PART_SIZE:
        raise ConfigError(
            f"part_size {part_size} is below the OSS minimum of {MIN_PART_SIZE} bytes (100 KiB)",
            hint="use part_size >= 102400",
        )
    if num_threads < 1 or workers < 1 or retries < 0:
        raise ConfigError("num_threads and workers must be >= 1 and retries >= 0")
    multipart_threshold = max(multipart_threshold, part_size)

    plan = plan_upload(source, prefix)
    endpoint_url = normalize_endpoint(require(endpoint, OSS_ENDPOINT, "OSS endpoint"))
    bucket_name = require(bucket, OSS_BUCKET, "OSS bucket")
    security_token = _sts_token(security_token, access_key_id)
    key_id = require(access_key_id, OSS_ACCESS_KEY_ID, "OSS access key id")
    key_secret = require(access_key_secret, OSS_ACCESS_KEY_SECRET, "OSS access key secret")
    secrets = [key_id, key_secret, security_token]
    url = object_url(endpoint_url, bucket_name, plan.url_key, folder=plan.is_folder, form=url_form)

    if check:
        _run_check(source, schema)  # before any request: an invalid source sends no byte

    import oss2

    ckpt = Path(checkpoint_dir).expanduser() if checkpoint_dir is not None else default_checkpoint_dir()
    ckpt.mkdir(parents=True, exist_ok=True)
    store = oss2.ResumableStore(root=str(ckpt.parent), dir=ckpt.name)
    oss_bucket = _make_bucket(
        endpoint_url,
        bucket_name,
        key_id,
        key_secret,
        security_token,
        connect_timeout,
        pool_size=workers + num_threads + 2,
    )

    stop = threading.Event()
    with Reporter(
        progress, total=plan.total_bytes, desc="upload", unit="B", unit_scale=True, unit_divisor=1024
    ) as reporter:
        agg = _ProgressAggregator(reporter, plan.total_bytes, len(plan.files), stop)
        up = _Uploader(
            bucket=oss_bucket,
            bucket_name=bucket_name,
            secrets=secrets,
            plan=plan,
            store=store,
            multipart_threshold=multipart_threshold,
            part_size=part_size,
            num_threads=num_threads,
            retries=retries,
            retry_backoff=retry_backoff,
            progress=agg,
            stop=stop,
        )
        up.remote = up.list_prefix(plan.prefix)  # fails fast on wrong keys or a missing bucket
        objects = up.run(workers)
        # The URL is only handed out when the whole set is in place with the right sizes.
        final = up.list_prefix(plan.prefix)
        missing = [o.key for o in objects if final.get(o.key) != o.size]
        if missing:
            raise IntegrityError(
                f"after the upload, {len(missing)} objects are missing or have the wrong size under "
                f"oss://{bucket_name}/{plan.prefix}/: {', '.join(missing[:5])}",
                code="IncompleteUpload",
                hint="another writer may be changing this prefix; re-run the upload",
            )
        reporter.describe("uploaded")

    expected = {o.key for o in objects}
    extra = tuple(sorted(k for k in final if k not in expected)) if plan.is_folder else ()
    if extra:
        warnings.warn(
            f"{len(extra)} other objects are under oss://{bucket_name}/{plan.prefix}/ "
            f"(e.g. {extra[0]}); an import of this prefix reads them too",
            stacklevel=2,
        )
    return UploadResult(
        object_url=url,
        bucket=bucket_name,
        endpoint=endpoint_url,
        prefix=plan.prefix,
        objects=tuple(objects),
        total_bytes=plan.total_bytes,
        bytes_uploaded=up.bytes_uploaded,
        elapsed=time.perf_counter() - started,
        is_folder=plan.is_folder,
        url_key=plan.url_key,
        extra_keys=extra,
    )


def verify_upload(
    result: UploadResult,
    *,
    access_key_id: str | None = None,
    access_key_secret: str | None = None,
    security_token: str | None = None,
) -> int:
    """HEAD every object of ``result`` and compare its size and CRC64 with the recorded ones.

    Returns the number of objects checked; raises :class:`IntegrityError` naming every object that is
    missing, has another size, or another CRC64. Keys and token default as in :func:`upload_to_oss`.
    """
    security_token = _sts_token(security_token, access_key_id)
    key_id = require(access_key_id, OSS_ACCESS_KEY_ID, "OSS access key id")
    key_secret = require(access_key_secret, OSS_ACCESS_KEY_SECRET, "OSS access key secret")
    import oss2.exceptions as oe

    bucket = _make_bucket(result.endpoint, result.bucket, key_id, key_secret, security_token, 30.0, pool_size=4)
    bad: list[str] = []
    for o in result.objects:
        try:
            head = bucket.head_object(o.key)
        except oe.NotFound:
            bad.append(f"{o.key} (missing)")
            continue
        except oe.OssError as exc:
            raise storage_error(
                exc, action="verifying", bucket=result.bucket, key=o.key, secrets=[key_id, key_secret, security_token]
            ) from None
        if head.content_length != o.size:
            bad.append(f"{o.key} (size {head.content_length}, expected {o.size})")
        elif head.server_crc is not None and head.server_crc != o.crc64:
            bad.append(f"{o.key} (CRC64 {head.server_crc}, expected {o.crc64})")
    if bad:
        raise IntegrityError(f"{len(bad)} objects differ from the upload: {'; '.join(bad[:5])}", code="Verify")
    return len(result.objects)
