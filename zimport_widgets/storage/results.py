"""What an upload returns: :class:`UploadResult` (the object URL and every object's size and checksum)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from ..fmt import format_bytes
from .object_url import UrlForm, bucket_object_url

__all__ = ["UploadResult", "UploadedObject"]


@dataclass(frozen=True)
class UploadedObject:
    """One object of an upload: its key, size and checksum; ``skipped`` when it was already there.

    ``checksum`` is the provider's (OSS: the CRC64 in decimal; S3: the ETag); ``crc64`` the CRC64 for OSS.
    """

    key: str
    size: int
    crc64: int | None
    skipped: bool = False
    verified: bool = True  # False only when the store reported no checksum to compare with
    checksum: str | None = None


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
    provider: str = "oss"
    region: str | None = None

    @property
    def oss_url(self) -> str:
        """The ``oss://bucket/key`` (or, for S3, ``s3://bucket/key``) form of the object URL."""
        return self.url_for(self.url_key + ("/" if self.is_folder else ""), form=self.provider)  # type: ignore[arg-type]

    @property
    def uploaded(self) -> tuple[UploadedObject, ...]:
        return tuple(o for o in self.objects if not o.skipped)

    @property
    def skipped(self) -> tuple[UploadedObject, ...]:
        return tuple(o for o in self.objects if o.skipped)

    def url_for(self, key: str, *, form: UrlForm = "https") -> str:
        """The URL of one object (or sub-folder, with a trailing ``/``) of this upload."""
        folder = key.endswith("/")
        return bucket_object_url(self.provider, self.endpoint, self.bucket, key, region=self.region, folder=folder,
                                 form=form)  # fmt: skip

    @property
    def _checksum_name(self) -> str:
        return "etag" if self.provider == "s3" else "crc64"

    def _summary(self) -> str:
        rate = self.bytes_uploaded / self.elapsed if self.elapsed > 0 else 0.0
        return (
            f"{len(self.objects)} objects, {format_bytes(self.total_bytes)} "
            f"({len(self.uploaded)} uploaded, {len(self.skipped)} already there), "
            f"{self.elapsed:.1f} s" + (f", {format_bytes(rate)}/s" if self.bytes_uploaded else "")
        )

    def __repr__(self) -> str:
        lines = [f"UploadResult({self._summary()})", f"  object_url: {self.object_url}"]
        for o in self.objects[:10]:
            mark = "skipped" if o.skipped else ("ok" if o.verified else "unverified")
            lines.append(f"  {o.key}  {format_bytes(o.size)}  {self._checksum_name}={o.checksum}  {mark}")
        if len(self.objects) > 10:
            lines.append(f"  … and {len(self.objects) - 10} more")
        if self.extra_keys:
            shown = ", ".join(self.extra_keys[:3])
            lines.append(f"  note: {len(self.extra_keys)} other objects under the prefix: {shown}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        rows = "".join(
            f"<tr><td><code>{e(o.key)}</code></td><td style='text-align:right'>{e(format_bytes(o.size))}</td>"
            f"<td><code>{e(str(o.checksum))}</code></td><td>{'skipped' if o.skipped else 'uploaded'}"
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
            f"<table><thead><tr><th>key</th><th>size</th><th>{self._checksum_name}</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{more}{extra}</div>"
        )
