"""ImportForm: start the import job, follow it live, then verify the row count on the cluster."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import config
from .base import BaseForm, env_expr, esc, note_html, py_str, settings_panel, text
from .connection import ConnectionForm
from .oss import OSSForm

__all__ = ["ImportForm", "ImportOutcome"]


@dataclass(frozen=True)
class ImportOutcome:
    """The started job, its final progress report and the collection's row count read afterwards."""

    job: Any
    progress: Any
    row_count: int | None

    @property
    def job_id(self) -> str:
        return str(self.job.job_id)

    @property
    def imported_rows(self) -> int | None:
        return getattr(self.progress, "imported_rows", None)


class ImportForm(BaseForm):
    """Collection, object URL (defaults to the last upload), optional partition; Import → live job progress.

    The cluster comes from ``connection`` (a :class:`ConnectionForm`), the OSS keys the job needs from
    ``oss`` (an :class:`OSSForm`); the form embeds its own for any not given (prefilled from the
    environment). Cancel stops following the job;
    the job itself keeps running on the server.
    """

    title = "3 · Import into the collection"
    run_label = "Import"
    run_icon = "database"
    css = "zimport-import"

    def __init__(
        self,
        connection: Any = None,
        oss: Any = None,
        *,
        collection: str | None = None,
        object_url: str | None = None,
        partition: str | None = None,
        timeout: float = 3600.0,
        poll_interval: float = 1.0,
    ) -> None:
        self.connection = connection or ConnectionForm()
        self.oss = oss or OSSForm()
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.collection = text("Collection", collection or "", "the target collection")
        self.object_url = text("Object URL", object_url or "", "from the upload step")
        self.partition = text("Partition", partition or "", "optional")
        self.job_id = ""
        fields: list = [self.collection, self.object_url, self.partition]
        panes = [(f, t) for f, t, given in ((self.connection, "Connection (Zilliz)", connection),
                                            (self.oss, "Object storage (OSS)", oss)) if given is None]  # fmt: skip
        if panes:
            secrets = (config.ZILLIZ_API_KEY, config.OSS_ACCESS_KEY_ID, config.OSS_ACCESS_KEY_SECRET)
            fields.insert(0, settings_panel(*panes, open_if_missing=secrets))
        super().__init__(
            fields,
            description="The import job reads the files from OSS with the OSS keys above.",
        )
        self.watch_code(self.collection, self.object_url, self.partition)

    def secrets(self) -> list[str | None]:
        return [*self.connection.secrets(), *self.oss.secrets()]

    def _client(self) -> Any:
        return self.connection.make_client()

    def prepare(self) -> Callable[[BaseForm], Any]:
        from ..errors import ConfigError

        collection = self.collection.value.strip()
        url = self.object_url.value.strip()
        if not collection:
            raise ConfigError("no collection given", hint="type the name of the collection to import into")
        if not url:
            raise ConfigError("no object URL given", hint="upload first, or paste the URL upload_to_oss returned")
        partition = self.partition.value.strip() or None
        client = self._client()
        s = self.oss.settings()
        keys = config.StorageKeys.resolve(s["access_key_id"], s["access_key_secret"])  # the import job reads OSS
        key_id, secret = keys.access_key_id, keys.access_key_secret
        timeout, poll = self.timeout, self.poll_interval

        def work(form: BaseForm) -> ImportOutcome:
            from ..errors import ImportJobFailed

            form.set_progress(0.0, "starting the import job…", force=True)
            job = client.start_import(collection, url, key_id, secret, partition=partition)
            self.job_id = str(job.job_id)
            form.set_progress(0.0, f"job <code>{esc(job.job_id)}</code> · Pending", force=True)
            form.check_cancelled()
            final = client.wait_for_import(
                job.job_id,
                progress=form.progress_callback(self._render_job),
                timeout=timeout,
                poll_interval=poll,
            )
            if getattr(final, "failed", False):
                raise ImportJobFailed(str(job.job_id), getattr(final, "reason", ""), getattr(final, "files", ()))
            form.set_progress(1.0, _job_label(final), force=True)
            count = client.count_rows(collection)
            return ImportOutcome(job=job, progress=final, row_count=count)

        return work

    def _render_job(self, p: Any) -> tuple[float | None, str]:
        render = getattr(p, "_repr_html_", None)
        if render is not None and getattr(p, "files", None):
            self.output.value = render()
        return getattr(p, "fraction", None), _job_label(p)

    def show_result(self, outcome: ImportOutcome) -> None:
        p = outcome.progress
        imported = outcome.imported_rows
        state = esc(getattr(p, "state", "Completed"))
        line = f"<b class='zimport-state'>{state}</b>: job <code>{esc(outcome.job_id)}</code>"
        if imported is not None:
            line += f" imported <b class='zimport-imported-rows'>{imported:,}</b> rows"
        if outcome.row_count is not None:
            verdict = ""
            if imported is not None:
                verdict = " ✓" if outcome.row_count >= imported else " (fewer than imported: check the collection)"
            line += (
                f"; verified: collection <code>{esc(self.collection.value.strip())}</code> now has "
                f"<b class='zimport-row-count'>{outcome.row_count:,}</b> rows{verdict}"
            )
        self.status.value = note_html(line + ".")
        render = getattr(p, "_repr_html_", None)
        self.output.value = render() if render else ""

    def code(self) -> str:
        conn = self.connection
        endpoint = conn.cluster_endpoint.value.strip()
        lines = [
            "import os",
            "from zimport_widgets import ImportClient",
            "",
            f"client = ImportClient({py_str(endpoint)}, {env_expr(config.ZILLIZ_API_KEY)}"
            + (
                f", controller_url={py_str(conn.controller_url.value.strip())}"
                if conn.controller_url.value.strip()
                else ""
            )
            + (f", cluster_id={py_str(conn.cluster_id.value.strip())}" if conn.cluster_id.value.strip() else "")
            + f", api_version={conn.api_version.value!r}"
            + ")",
            "job = client.start_import(",
            f"    {py_str(self.collection.value.strip())},",
            f"    {py_str(self.object_url.value.strip())},",
            f"    {env_expr(config.OSS_ACCESS_KEY_ID)},",
            f"    {env_expr(config.OSS_ACCESS_KEY_SECRET)},",
            f"    partition={py_str(self.partition.value.strip())},",
            ")",
            f"final = client.wait_for_import(job.job_id, progress=True, timeout={self.timeout:g})",
            f"client.count_rows({py_str(self.collection.value.strip())})",
        ]
        return "\n".join(lines)


def _job_label(p: Any) -> str:
    phase = getattr(p, "phase", None) or str(getattr(p, "state", ""))
    percent = getattr(p, "percent", None)
    label = f"<span class='zimport-job-state'>{html.escape(str(phase))}</span>"
    if percent is not None:
        label += f" · {percent:.0f} %"
    rows = p.rows_text() if hasattr(p, "rows_text") else ""
    if rows:
        label += f" · {html.escape(rows)}"
    job_id = getattr(p, "job_id", "")
    if job_id:
        label += f" · job <code>{html.escape(str(job_id))}</code>"
    return label
