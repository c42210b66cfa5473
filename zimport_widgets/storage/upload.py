"""Upload prepared import files to the cluster's object store: parallel, resumable, verified, one progress bar.

:func:`upload` sends a file, a list of files or a folder (its relative layout kept) under a prefix to an
OSS or S3 bucket (:mod:`.providers`; :func:`upload_to_oss` for OSS) and returns an :class:`UploadResult`
whose ``object_url`` is what the import API takes. The rules below hold for every backend
(:class:`~.backend.StorageBackend`); the checksum is the provider's (OSS: CRC64; S3: the ETag).

How a run stays safe to interrupt and re-run:

* every object is written atomically: small files with one PUT, large files as a multipart upload
  (``oss2.resumable_upload``) that is invisible until its final ``complete`` call, so no truncated
  object is ever visible under its final key;
* the multipart checkpoints live in a per-user cache folder (:func:`default_checkpoint_dir`), never in
  the working tree; re-running resumes from the parts already stored;
* objects already present with the same size and checksum are skipped;
* every object's checksum is compared with the local file's; an object that does not match is deleted and
  :class:`~zimport_widgets.errors.IntegrityError` is raised;
* at the end the prefix is listed and every expected object must be there with its size: the object URL
  is only returned when the whole set is in place. A failed run raises, so it never hands out a URL.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

from ..config import OssCredentials, StorageKeys, UploadConfig
from ..errors import IntegrityError
from ..progress import ProgressArg, Reporter, UploadProgress
from ..schema import SchemaLike
from .backend import StorageBackend
from .object_url import UrlForm
from .oss import file_crc64
from .plan import PlannedFile, UploadPlan, plan_upload
from .providers import StorageTarget, make_backend, resolve_storage, target_of, target_url
from .results import UploadedObject, UploadResult

__all__ = ["file_crc64", "upload", "upload_to_oss", "verify_upload"]


def upload_to_oss(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    prefix: str,
    credentials: OssCredentials | None = None,
    config: UploadConfig | None = None,
    progress: ProgressArg = True,
    check: bool = True,
    schema: SchemaLike | None = None,
    url_form: UrlForm = "https",
) -> UploadResult:
    """Upload ``source`` under ``prefix`` in an OSS bucket and return the object URL for the import API.

    Parameters
    ----------
    source
        A file, a list of files, or a folder (uploaded with its relative layout, so the prefix is itself
        a valid import source; hidden files are left out).
    prefix
        The folder in the bucket, e.g. ``"medium_articles/v1"``.
    credentials
        Endpoint, bucket and keys; default :meth:`OssCredentials.resolve() <zimport_widgets.OssCredentials.resolve>`
        (the ``OSS_*`` variables, with ``OSS_SECURITY_TOKEN`` for STS keys).
    config
        Part size, threads, retries, checkpoint folder: an :class:`~zimport_widgets.UploadConfig`.
    progress
        ``True`` (one tqdm.auto bar in bytes, current file as postfix), ``False``, a dict of tqdm
        arguments, or a callable receiving :class:`~zimport_widgets.progress.UploadProgress`.
    check, schema
        Run :func:`~zimport_widgets.check_import_source` first (before any request) and refuse an
        invalid source with :class:`~zimport_widgets.errors.SourceInvalidError`.
    url_form
        ``"https"`` (virtual-host for ``*.aliyuncs.com``, path style for an IP/localhost endpoint) or
        ``"oss"`` (``oss://bucket/prefix/``).

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
    return upload(source, prefix=prefix, storage=credentials or OssCredentials.resolve(), config=config,
                  progress=progress, check=check, schema=schema, url_form=url_form)  # fmt: skip


def upload(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    prefix: str,
    storage: StorageTarget | None = None,
    config: UploadConfig | None = None,
    progress: ProgressArg = True,
    check: bool = True,
    schema: SchemaLike | None = None,
    url_form: UrlForm = "https",
) -> UploadResult:
    """Upload ``source`` under ``prefix`` in the bucket ``storage`` names and return the object URL.

    ``storage`` is :class:`~zimport_widgets.OssCredentials` (Aliyun OSS) or
    :class:`~zimport_widgets.S3Credentials` (AWS S3, AWS China, S3-compatible stores); default: the
    environment's (``OSS_*``, else ``S3_BUCKET`` with the ``AWS_*`` variables). ``url_form``: ``"https"``,
    or ``"oss"`` / ``"s3"`` for the provider's scheme. The other arguments are those of :func:`upload_to_oss`.
    """
    started = time.perf_counter()
    config = config or UploadConfig()
    plan = plan_upload(source, prefix)
    target = storage if storage is not None else resolve_storage()
    url = target_url(target, plan.url_key, folder=plan.is_folder, form=url_form)
    if check:  # before any request: an invalid source sends no byte
        from ..prepare.checks import check_import_source

        check_import_source(source, schema).raise_for_errors()

    stop = threading.Event()
    backend = make_backend(target, config, stop=stop)
    with Reporter(
        progress, total=plan.total_bytes, desc="upload", unit="B", unit_scale=True, unit_divisor=1024
    ) as reporter:
        transfer = _Transfer(backend, plan, _ProgressAggregator(reporter, plan.total_bytes, len(plan.files), stop))
        if any(f.size >= config.threshold for f in plan.files):
            backend.open_checkpoints()  # before any request: a folder that cannot be written fails first
        transfer.remote = backend.list_prefix(plan.prefix)  # fails fast on wrong keys or a missing bucket
        objects = transfer.run()
        # The URL is only handed out when the whole set is in place with the right sizes.
        final = backend.list_prefix(plan.prefix)
        missing = [o.key for o in objects if final.get(o.key) != o.size]
        if missing:
            raise IntegrityError(
                f"after the upload, {len(missing)} objects are missing or have the wrong size under "
                f"{backend.location(plan.prefix + '/')}: {', '.join(missing[:5])}",
                code="IncompleteUpload",
                provider=backend.provider.upper(),
                hint="another writer may be changing this prefix; re-run the upload",
            )
        reporter.describe("uploaded")

    expected = {o.key for o in objects}
    extra = tuple(sorted(k for k in final if k not in expected)) if plan.is_folder else ()
    if extra:
        warnings.warn(
            f"{len(extra)} other objects are under {backend.location(plan.prefix + '/')} "
            f"(e.g. {extra[0]}); an import of this prefix reads them too",
            stacklevel=2,
        )
    return UploadResult(
        object_url=url,
        bucket=backend.bucket_name,
        endpoint=backend.endpoint,
        prefix=plan.prefix,
        objects=tuple(objects),
        total_bytes=plan.total_bytes,
        bytes_uploaded=transfer.bytes_uploaded,
        elapsed=time.perf_counter() - started,
        is_folder=plan.is_folder,
        url_key=plan.url_key,
        extra_keys=extra,
        provider=backend.provider,
        region=backend.region,
    )


def verify_upload(result: UploadResult, keys: StorageKeys | None = None) -> int:
    """HEAD every object of ``result`` and compare its size and checksum with the recorded ones.

    Returns the number of objects checked; raises :class:`IntegrityError` naming every object that is
    missing, has another size, or another checksum. ``keys`` default to the provider's variables.
    """
    target = target_of(result.provider, result.endpoint, result.bucket, result.region, keys)
    backend = make_backend(target, UploadConfig(workers=1, num_threads=1))
    bad: list[str] = []
    for o in result.objects:
        head = backend.head_or_none(o.key)
        if head is None:
            bad.append(f"{o.key} (missing)")
        elif head.size != o.size:
            bad.append(f"{o.key} (size {head.size}, expected {o.size})")
        elif head.checksum is not None and o.checksum is not None and head.checksum != o.checksum:
            bad.append(f"{o.key} ({backend.checksum_name} {head.checksum}, expected {o.checksum})")
    if bad:
        raise IntegrityError(f"{len(bad)} objects differ from the upload: {'; '.join(bad[:5])}", code="Verify",
                             provider=backend.provider.upper())  # fmt: skip
    return len(result.objects)


# -- the transfer of one plan ------------------------------------------------------------------------


class _Cancelled(Exception):
    """Raised inside upload threads once another file failed, to stop them early."""


class _ResumedMismatch(IntegrityError):
    """A multipart upload resumed from a checkpoint completed with the wrong checksum (retried afresh once)."""


class _Transfer:
    """Sends the files of a plan through a backend: skips what is there, verifies what it sent."""

    def __init__(self, backend: StorageBackend, plan: UploadPlan, progress: _ProgressAggregator) -> None:
        self.backend, self.plan, self.progress = backend, plan, progress
        self.config = backend.config
        self.stop = backend.stop
        self.bucket_name = backend.bucket_name
        self.remote: dict[str, int] = {}
        self._lock = threading.Lock()
        self.bytes_uploaded = 0

    def upload_file(self, pf: PlannedFile) -> UploadedObject:
        if self.stop.is_set():
            raise _Cancelled()
        local: str | None = None
        if self.remote.get(pf.key) == pf.size:
            head = self.backend.head(pf.key)
            if head.checksum is not None:
                local = self.backend.local_checksum(pf.path)
                if head.checksum == local:
                    self.progress.file_done(pf.relative, pf.size)
                    return self._uploaded(pf, local, skipped=True)
        try:
            return self._send_verified(pf, local)
        except _ResumedMismatch:
            # the parts kept from an interrupted run did not add up to the file (OSS never keeps a part cut
            # short by a kill, so e.g. the file was rewritten in place): the object was deleted and the
            # checkpoint is gone; send it afresh, once
            return self._send_verified(pf, local)

    def _uploaded(self, pf: PlannedFile, checksum: str, *, skipped: bool, verified: bool = True) -> UploadedObject:
        crc = int(checksum) if self.backend.provider == "oss" else None
        return UploadedObject(pf.key, pf.size, crc, skipped=skipped, verified=verified, checksum=checksum)

    def _send_verified(self, pf: PlannedFile, local: str | None) -> UploadedObject:
        multipart = pf.size >= self.config.threshold
        resumed: list[int] = []

        def on_progress(consumed: int, total: int | None) -> None:
            if not resumed:
                resumed.append(consumed)  # a resumed multipart upload starts at the bytes already stored
            # oss2 reports the full size before the multipart upload is completed (and verified): hold the
            # last byte back until the object really exists
            self.progress.advance(pf.relative, min(consumed, pf.size - 1) if multipart else consumed)

        try:
            if multipart:
                put = self.backend.put_parts(pf.key, pf.path, on_progress, before_try=resumed.clear)
            else:
                put = self.backend.put_file(pf.key, pf.path, on_progress)
        except IntegrityError:
            self.backend.delete_quietly(pf.key)
            raise
        sent = pf.size - (resumed[0] if resumed and multipart else 0)
        with self._lock:
            self.bytes_uploaded += max(0, sent)

        backend = self.backend
        name, provider = backend.checksum_name, backend.provider.upper()
        server = put.checksum
        fresh = not multipart or (bool(resumed) and resumed[0] == 0)  # every part sent by this very call
        checked = put.parts_verified if multipart else server
        if local is None:
            if server is not None and fresh and checked == server and backend.verifies_sent_bytes:
                # the SDK had the store check every request's body against a checksum of the bytes it read
                local = server
            else:  # parts from an earlier run, or no server checksum: read the file
                local = backend.local_checksum(pf.path)
        if server is None:
            head = backend.head(pf.key, action="verifying")
            server = head.checksum
            if head.size != pf.size:
                backend.delete_quietly(pf.key)
                raise IntegrityError(
                    f"upload {backend.location(pf.key)}: stored {head.size} "
                    f"bytes, the local file {pf.path} has {pf.size}",
                    code="SizeMismatch", provider=provider,
                )  # fmt: skip
        if server is not None and server != local:
            backend.delete_quietly(pf.key)
            cls = _ResumedMismatch if multipart and not fresh else IntegrityError
            raise cls(
                f"upload {backend.location(pf.key)}: {name} {server} of the stored object differs "
                f"from {name} {local} of {pf.path}; the object was deleted",
                code="InconsistentError", request_id=put.request_id, provider=provider,
            )  # fmt: skip
        self.progress.file_done(pf.relative, pf.size)
        return self._uploaded(pf, local, skipped=False, verified=server is not None)

    def _pooled(self, pf: PlannedFile) -> UploadedObject:
        try:
            return self.upload_file(pf)
        except BaseException:
            self.stop.set()  # the other threads (and the large file in the main thread) stop at their next chunk
            raise

    def run(self) -> list[UploadedObject]:
        threshold = self.config.threshold
        large = [f for f in self.plan.files if f.size >= threshold]
        small = [f for f in self.plan.files if f.size < threshold]
        done: dict[str, UploadedObject] = {}
        pool = ThreadPoolExecutor(max_workers=self.config.workers, thread_name_prefix="zimport-upload")
        futures: list[Future[UploadedObject]] = [pool.submit(self._pooled, f) for f in small]
        error: BaseException | None = None
        try:
            for f in large:  # one at a time, each with num_threads parts in flight, while small files run
                done[f.key] = self.upload_file(f)
            wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException as exc:  # includes KeyboardInterrupt: stop the other threads, then re-raise
            error = exc
            self.stop.set()
        pool.shutdown(wait=True, cancel_futures=self.stop.is_set())
        failed = [e for fu in futures if not fu.cancelled() and (e := fu.exception()) is not None]
        real = [e for e in failed if not isinstance(e, _Cancelled)]
        if error is None or isinstance(error, _Cancelled):
            error = real[0] if real else (error or (failed[0] if failed else None))
        if error is not None:
            raise error
        for fu in futures:
            obj = fu.result()
            done[obj.key] = obj
        return [done[f.key] for f in self.plan.files]


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
