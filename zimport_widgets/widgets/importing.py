"""ImportForm: start the import job, follow it live, then verify the collection (row count, sample search)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ipywidgets as w

from .. import config
from .base import GREEN, ORANGE, BaseForm, env_expr, esc, note_html, py_str, settings_panel, text
from .connection import ConnectionForm
from .storage import OSSForm

if TYPE_CHECKING:  # types only: the client (requests) is built in prepare() through the ConnectionForm
    from ..cloud.client import ImportClient
    from ..cloud.jobs import ImportJob, ImportProgress
    from ..cloud.search_results import VerifyResult

__all__ = ["ImportForm", "ImportOutcome"]


@dataclass(frozen=True)
class ImportOutcome:
    """The started job, its final progress report and the core's verify step run on the collection afterwards."""

    job: ImportJob
    progress: ImportProgress
    verify: VerifyResult
    #: Rows in the collection just before the job started (None when it could not be counted).
    rows_before: int | None = None
    #: Rows the source holds, when the form knows (the wizard's converted files).
    source_rows: int | None = None

    @property
    def job_id(self) -> str:
        return self.job.job_id

    @property
    def added_rows(self) -> int | None:
        """Rows this job added: the count after minus the count before (another writer at the same time
        would be counted too)."""
        return None if self.rows_before is None else self.verify.row_count - self.rows_before

    @property
    def imported_rows(self) -> int | None:
        """Rows the job says it imported (None on API v1, whose progress has no row counts)."""
        return self.progress.imported_rows

    @property
    def row_count(self) -> int:
        """Rows in the collection after the import (all of them: a re-import adds to what was there)."""
        return self.verify.row_count


class ImportForm(BaseForm):
    """Collection, object URL (defaults to the last upload), optional partition; Import → live job progress.

    The cluster comes from ``connection`` (a :class:`ConnectionForm`), the OSS keys the job needs from
    ``oss`` (an :class:`OSSForm`); the form embeds its own for any not given (prefilled from the
    environment). Cancel stops following the job; the job itself keeps running on the server. When it
    completes, the form runs :meth:`ImportClient.verify` (row count and one sample search).
    """

    title = "3 · Import into the collection"
    run_label = "Import"
    run_icon = "database"
    css = "zimport-import"

    def __init__(
        self,
        connection: ConnectionForm | None = None,
        oss: OSSForm | None = None,
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
        self._rows_before: int | None = None
        #: Rows the source holds (the wizard sets it from the converted files), to compare the rows added with.
        self.source_rows: int | None = None
        self._follow_job: str | None = None  # "Watch again": follow this job instead of starting one
        self.watch_button = w.Button(description="Watch the job again", icon="eye", layout=w.Layout(display="none"))
        self.watch_button.add_class("zimport-watch-again")
        self.watch_button.on_click(self._watch_again)
        fields: list = [self.collection, self.object_url, self.partition]
        panes = [(f, t) for f, t, given in ((self.connection, "Connection (Zilliz)", connection),
                                            (self.oss, "Object storage", oss)) if given is None]  # fmt: skip
        if panes:
            secrets = (config.ZILLIZ_API_KEY, config.OSS_ACCESS_KEY_ID, config.OSS_ACCESS_KEY_SECRET)
            fields.insert(0, settings_panel(*panes, open_if_missing=secrets))
        super().__init__(
            fields,
            description="The import job reads the files from OSS with the OSS keys above.",
        )
        kids: list[w.Widget] = list(self.children)  # type: ignore[has-type]
        kids.insert(kids.index(self.status) + 1, self.watch_button)  # right under the "Stopped following" note
        self.children = tuple(kids)
        self.watch_code(self.collection, self.object_url, self.partition)

    def secrets(self) -> list[str | None]:
        return [*self.connection.secrets(), *self.oss.secrets()]

    def _client(self) -> ImportClient:
        return self.connection.make_client()

    def prepare(self) -> Callable[[BaseForm], ImportOutcome]:
        from ..errors import ConfigError

        collection = self.collection.value.strip()
        url = self.object_url.value.strip()
        follow, self._follow_job = self._follow_job, None
        self.watch_button.layout.display = "none"
        if not collection:
            raise ConfigError("no collection given", hint="type the name of the collection to import into")
        if follow is not None:
            return self._follow(follow, collection)
        if not url:
            raise ConfigError("no object URL given", hint="upload first, or paste the URL upload_to_oss returned")
        partition = self.partition.value.strip() or None
        client = self._client()
        s = self.oss.settings()
        # the import job reads the bucket with these keys (and an STS token only through the v2 API: a clear
        # error on v1)
        keys = config.StorageKeys.resolve(s["access_key_id"], s["access_key_secret"], s["security_token"],
                                          provider=s["provider"])  # fmt: skip
        key_id, secret = keys.access_key_id, keys.access_key_secret
        timeout, poll, source_rows = self.timeout, self.poll_interval, self.source_rows

        def work(form: BaseForm) -> ImportOutcome:
            form.set_progress(0.0, "counting the rows already there…", force=True)
            before = self._rows_before = client.count_rows(collection)  # kept for "Watch the job again"
            form.set_progress(0.0, "starting the import job…", force=True)
            job = client.start_import(
                collection, url, key_id, secret, partition=partition, security_token=keys.security_token
            )
            self.job_id = job.job_id
            form.set_progress(0.0, f"job <code>{esc(job.job_id)}</code> · Pending", force=True)
            form.check_cancelled()
            return self._wait_and_verify(form, client, job, collection, before, source_rows, timeout, poll)

        return work

    def _follow(self, job_id: str, collection: str) -> Callable[[BaseForm], ImportOutcome]:
        """Work that follows a job started earlier (after Cancel, or a kernel restart) to its end."""
        from ..cloud.jobs import ImportJob

        client = self._client()
        job = ImportJob(job_id=job_id, collection=collection, object_url=None, partition=None, cluster_id=None,
                        api_version=client.api_version)  # fmt: skip
        before, source_rows = self._rows_before, self.source_rows
        timeout, poll = self.timeout, self.poll_interval
        return lambda form: self._wait_and_verify(form, client, job, collection, before, source_rows, timeout, poll)

    def _wait_and_verify(
        self, form: BaseForm, client: ImportClient, job: ImportJob, collection: str, before: int | None,
        source_rows: int | None, timeout: float, poll: float,
    ) -> ImportOutcome:  # fmt: skip
        self._rows_before = before
        # returns only once the job completed: a failed job raises ImportJobFailed (reason, files, hint)
        final = client.wait_for_import(
            job.job_id, progress=form.progress_callback(self._render_job), timeout=timeout, poll_interval=poll
        )
        form.set_progress(1.0, f"{_job_label(final)} · verifying…", force=True)
        verified = client.verify(collection)
        return ImportOutcome(job=job, progress=final, verify=verified, rows_before=before, source_rows=source_rows)

    def _cancelled(self) -> None:
        """Cancel stops following; the job runs on on the server: say so, name it, offer to watch again."""
        super()._cancelled()
        if self.job_id:
            self.status.value = note_html(
                f"Stopped following job <code class='zimport-cancelled-job'>{esc(self.job_id)}</code>: the job "
                "keeps running on the server (an import cannot be stopped from here). "
                "“Watch the job again” follows it to the end.",
                ORANGE, "zimport-cancelled",
            )  # fmt: skip
            self.watch_button.layout.display = ""

    def _watch_again(self, _button: object = None) -> None:
        if self.job_id and not self.running:
            self._follow_job = self.job_id
            self.run()

    def _render_job(self, p: ImportProgress) -> tuple[float | None, str]:
        if p.files:
            self.output.value = p._repr_html_()
        left = "" if p.finished else self.rate_text(p.percent, 100.0, "%", show_rate=False)
        return p.fraction, _job_label(p) + left

    def show_result(self, outcome: ImportOutcome) -> None:
        p = outcome.progress
        imported = outcome.imported_rows
        self.set_progress(1.0, _job_label(p), force=True)  # drop the "verifying…"
        line = f"<b class='zimport-state'>{esc(p.state)}</b>: job <code>{esc(outcome.job_id)}</code>"
        if imported is not None:
            line += f" imported <b class='zimport-imported-rows'>{imported:,}</b> rows"
        added = outcome.added_rows
        added_html, added_good = _added_line(outcome)
        if added_html:
            line += f"; {added_html}"
        verify_html, good = _verify_line(outcome.verify, imported if added is None else None)
        good = good and added_good
        color, css = (GREEN, "zimport-ok") if good else (ORANGE, "zimport-warning")
        self.status.value = note_html(f"{line}; {verify_html}.", color, css)
        search = outcome.verify.search
        self.output.value = p._repr_html_() + (search._repr_html_() if search is not None else "")

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
            f"client.verify({py_str(self.collection.value.strip())})  # row count and a sample search",
        ]
        return "\n".join(lines)


def _added_line(outcome: ImportOutcome) -> tuple[str, bool]:
    """The rows this job added (count after − before) against the rows the source holds, when known."""
    added = outcome.added_rows
    if added is None:
        return "", True
    after = outcome.verify.row_count
    text = (f"added <b class='zimport-added-rows'>{added:,}</b> rows "
            f"({outcome.rows_before:,} before → {after:,} after)")  # fmt: skip
    expected = outcome.source_rows if outcome.source_rows is not None else outcome.imported_rows
    if expected is None:
        return text, added > 0
    if added == expected:
        return text + f" ✓ the source holds {expected:,}", True
    return text + f" — the source holds {expected:,}: check the collection (another writer, or rows refused)", False


def _verify_line(verify: VerifyResult, imported: int | None) -> tuple[str, bool]:
    """The verify step as html, and whether it looks right: at least the imported rows (``>=``: the
    collection may have held rows before) and, when there are rows, a sample search that finds one."""
    rows = verify.row_count
    enough = imported is None or rows >= imported
    verdict = "" if imported is None else " ✓" if enough else " (fewer than imported: check the collection)"
    out = (
        f"verified: collection <code>{esc(verify.collection)}</code> now has "
        f"<b class='zimport-row-count'>{rows:,}</b> rows{verdict}"
    )
    hits = verify.search.hits if verify.search is not None else ()
    if hits:
        top = hits[0]
        out += (
            f"; sample search top hit <code class='zimport-top-hit'>{esc(top.id)}</code> (distance {top.distance:.4f})"
        )
    elif not verify.searched:
        out += "; no dense vector field to search (count only)"
    elif rows:
        out += "; the sample search found no row"
    return out, enough and (bool(hits) or not rows or not verify.searched)


def _job_label(p: ImportProgress) -> str:
    label = f"<span class='zimport-job-state'>{esc(p.phase)}</span> · {p.percent:.0f} %"
    rows = p.rows_text()
    if rows:
        label += f" · {esc(rows)}"
    if p.job_id:
        label += f" · job <code>{esc(p.job_id)}</code>"
    return label
