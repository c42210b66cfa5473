"""Abort the unfinished multipart uploads under a prefix: their parts are invisible, yet OSS bills them.

A killed upload, a lost checkpoint or another tool can leave them; :func:`abort_stale_uploads` lists
them (``ListMultipartUploads``) and aborts those older than ``older_than`` seconds, so that an upload
running now (on this machine or another) is left alone. ``zimport abort-uploads`` is the same from
the shell.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from ..config import OssCredentials, UploadConfig
from ..errors import ConfigError
from .oss import OssBackend

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
    credentials: OssCredentials | None = None,
    older_than: float = 3600.0,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
) -> tuple[StaleUpload, ...]:
    """Abort the multipart uploads under ``prefix`` started more than ``older_than`` seconds ago.

    ``credentials`` default to the ``OSS_*`` variables; ``dry_run`` lists without aborting. Returns every
    upload found old enough, oldest first.
    """
    if isinstance(older_than, bool) or not isinstance(older_than, (int, float)) or older_than < 0:
        raise ConfigError(f"older_than must be a number of seconds >= 0, not {older_than!r}")
    import oss2

    creds = credentials or OssCredentials.resolve(env=env)
    backend = OssBackend(creds, UploadConfig())
    cutoff = time.time() - older_than
    key_prefix = prefix.lstrip("/")

    def listing() -> list[tuple[str, str, int]]:
        return [(u.key, u.upload_id, int(u.initiation_date or 0))
                for u in oss2.MultipartUploadIterator(backend._bucket, prefix=key_prefix)]  # fmt: skip

    found = sorted((u for u in backend.call(listing, action="listing uploads", key=key_prefix) if u[2] <= cutoff),
                   key=lambda u: u[2])  # fmt: skip
    out = []
    for key, upload_id, started in found:
        aborted = False if dry_run else backend._abort(key, upload_id, why=f"older than {older_than:g} s")
        out.append(StaleUpload(key, upload_id, datetime.fromtimestamp(started, timezone.utc), aborted))
    return tuple(out)
