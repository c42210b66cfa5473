"""UploadForm: the converted files (a folder or files on the server) -> the bucket, giving the object URL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .. import config
from ..fmt import format_bytes
from .base import BaseForm, esc, note_html, py_str, settings_panel, text
from .storage import OSSForm

if TYPE_CHECKING:  # types only: the upload code (oss2) is imported in work()
    from ..progress import UploadProgress
    from ..schema import CollectionSchema
    from ..storage.results import UploadResult

__all__ = ["UploadForm"]

_KEY_NAMES = (config.OSS_ACCESS_KEY_ID, config.OSS_ACCESS_KEY_SECRET, config.AWS_ACCESS_KEY_ID)


class UploadForm(BaseForm):
    """Source folder/files (defaults to the last conversion) and bucket prefix; bar in bytes with the file.

    The bucket and keys come from ``oss`` (a :class:`~.storage.StorageForm`: OSS or S3); without one the form
    embeds its own (prefilled from the environment). ``schema`` (the wizard sets the conversion's) lets the
    pre-upload check compare the files with it.
    """

    title = "2 · Upload"
    run_label = "Upload"
    run_icon = "upload"
    css = "zimport-upload"

    def __init__(
        self,
        oss: OSSForm | None = None,
        *,
        source: str | None = None,
        prefix: str | None = None,
        schema: CollectionSchema | None = None,
    ) -> None:
        self.oss = oss or OSSForm()
        self.schema: CollectionSchema | None = schema
        self.source = text("Source", str(source or ""), "folder of .npy files (or one file) on the server")
        self.prefix = text("Bucket prefix", prefix or "", "e.g. medium_articles/v1")
        fields: list = [self.source, self.prefix]
        if oss is None:
            fields.insert(0, settings_panel((self.oss, "Object storage"), open_if_missing=_KEY_NAMES))
        super().__init__(
            fields,
            description="Files are read on the server; the object URL is what the import job needs.",
        )
        self.watch_code(self.source, self.prefix)

    def secrets(self) -> list[str | None]:
        return self.oss.secrets()

    def prepare(self) -> Callable[[BaseForm], UploadResult]:
        from ..errors import ConfigError

        src = self.source.value.strip()
        if not src:
            raise ConfigError("no source folder or file given", hint="convert first, or type a path on the server")
        source = Path(src).expanduser()
        if not source.exists():
            raise ConfigError(f"{source}: no such file or folder on the server", hint="check the path")
        prefix = self.prefix.value.strip().strip("/")
        if not prefix:
            raise ConfigError("no bucket prefix given", hint="type a folder name for the bucket, e.g. articles/v1")
        credentials = self.oss.credentials()
        schema = self.schema

        def work(form: BaseForm) -> UploadResult:
            from ..storage.upload import upload

            form.set_progress(0.0, "checking the files…", force=True)
            return upload(
                source,
                prefix=prefix,
                progress=form.progress_callback(self._render_upload),
                schema=schema,
                storage=credentials,
            )

        return work

    def show_result(self, result: UploadResult) -> None:
        total = result.total_bytes
        checksum = {"s3": "ETag (MD5)", "cos": "ETag (MD5)", "gcs": "ETag (MD5)", "azure": "Content-MD5"}.get(
            result.provider, "CRC64"
        )
        url = f"Object URL: <code class='zimport-object-url'>{esc(result.object_url)}</code>"
        if result.objects and not result.uploaded:  # nothing was sent: never a rate or "100 % done"
            self.set_progress(1.0, f"nothing to send: all {len(result.objects)} object(s) were there", force=True)
            self.status.value = note_html(
                f"All {len(result.objects)} object(s) ({format_bytes(total)}) were already in the bucket, "
                f"the same size and {checksum}: nothing was uploaded. {url}"
            )
        else:
            sent = sum(o.size for o in result.uploaded)
            skipped = f", {len(result.skipped)} already there" if result.skipped else ""
            n = len(result.objects)
            self.set_progress(1.0, f"{format_bytes(total)} of {format_bytes(total)} · {n}/{n} files · verified",
                              force=True)  # fmt: skip
            self.status.value = note_html(
                f"Uploaded {len(result.uploaded)} object(s), {format_bytes(sent)}{skipped}; every object "
                f"verified ({checksum}). {url}"
            )
        self.output.value = result._repr_html_()

    def code(self) -> str:
        cls, storage = self.oss.storage_code()
        return "\n".join([
            "import os",
            f"from zimport_widgets import {cls}, upload",
            "",
            *storage,
            "result = upload(",
            f"    {py_str(self.source.value.strip())},",
            f"    prefix={py_str(self.prefix.value.strip())},",
            "    storage=storage,",
            ")",
            "result.object_url",
        ])  # fmt: skip

    def _render_upload(self, event: UploadProgress) -> tuple[float | None, str]:
        label = f"{format_bytes(event.bytes_done)} of {format_bytes(event.bytes_total)}"
        label += self.rate_text(event.bytes_done, event.bytes_total)
        if event.files_total:
            label += f" · {event.files_done}/{event.files_total} files"
        if event.current_file:
            label += f" · <code>{esc(event.current_file)}</code>"
        # 100 % only once every object is verified (show_result): the bytes can all be sent before that
        return min(event.fraction, 0.99), label
