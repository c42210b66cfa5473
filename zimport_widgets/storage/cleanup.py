"""Abort the unfinished multipart uploads under a prefix: their parts are invisible, yet OSS and S3 bill them.

A killed upload, a lost checkpoint or another tool can leave them; :func:`abort_stale_uploads` lists
them (``ListMultipartUploads``, through the bucket's backend) and aborts those older than ``older_than``
seconds, so that an upload running now (on this machine or another) is left alone. ``zimport
abort-uploads`` is the same from the shell. Azure needs none: the service drops staged blocks after 7 days.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from ..config import AzureCredentials, UploadConfig
from ..errors import ConfigError
from .providers import StorageTarget, make_backend, resolve_storage

__all__ = ["StaleUpload", "abort_stale_uploads"]


@dataclass(frozen=True)
class StaleUpload:
    """One unfinished multipart upload found under the prefix; ``aborted`` says whether it is gone now."""

    key: str
    upload_id: str
    initiated: datetime
    aborted: bool

    def __str__(self) -> str:
        state = "aborted" if self.aborted else "left"
        return f"{self.key} (started {self.initiated:%Y-%m-%d %H:%M:%S} UTC): {state}"


def abort_stale_uploads(
    prefix: str = "",
    *,
    credentials: StorageTarget | None = None,
    older_than: float = 3600.0,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
) -> tuple[StaleUpload, ...]:
    """Abort the multipart uploads under ``prefix`` started more than ``older_than`` seconds ago.

    ``credentials`` (OSS or S3; Azure has nothing to abort) default to the environment's bucket; ``dry_run``
    lists without aborting. Returns every upload found old enough, oldest first.
    """
    if isinstance(older_than, bool) or not isinstance(older_than, (int, float)) or older_than < 0:
        raise ConfigError(f"older_than must be a number of seconds >= 0, not {older_than!r}")
    target = credentials or resolve_storage(env)
    if isinstance(target, AzureCredentials):
        return ()  # staged blocks are dropped by the service after 7 days; nothing is billed until then
    backend = make_backend(target, UploadConfig())
    cutoff = time.time() - older_than
    key_prefix = prefix.lstrip("/")
    found = sorted((u for u in backend.list_uploads(key_prefix) if u[2] <= cutoff), key=lambda u: u[2])
    out = []
    for key, upload_id, started in found:
        aborted = False if dry_run else backend.abort_upload(key, upload_id, why=f"older than {older_than:g} s")
        out.append(StaleUpload(key, upload_id, datetime.fromtimestamp(started, timezone.utc), aborted))
    return tuple(out)
