"""JobsTable: the cluster's import jobs, refreshable."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import ipywidgets as w

from .. import config
from .base import GREEN, RED, BaseForm, env_expr, esc, py_str, settings_panel
from .connection import ConnectionForm
from .main_thread import call_on_main_thread

if TYPE_CHECKING:  # types only: the client (requests) is built in prepare() through the ConnectionForm
    from ..cloud.jobs import ImportJobSummary, ImportProgress, ImportState

__all__ = ["JobRow", "JobsTable"]


class JobsTable(BaseForm):
    """The cluster's import jobs: state, progress and rows (running ones read in detail), start time (of
    the jobs started from this machine: the APIs give none), finish time and reason; optionally only one
    collection's; refreshed every few seconds while any job runs; a running job can be followed again in
    the import step (after Cancel, or a kernel restart)."""

    title = "Import jobs"
    run_label = "Refresh"
    run_icon = "refresh"
    css = "zimport-jobs"
    has_progress = False
    cancellable = False
    #: Seconds between refreshes while a job runs.
    refresh_every = 3.0
    #: Jobs read in detail per refresh (the running ones first): the list itself has no rows or times.
    detail_limit = 10

    def __init__(
        self, connection: ConnectionForm | None = None, *, collection: str | None = None, refresh: bool = False
    ) -> None:
        self.connection = connection or ConnectionForm()
        self.collection_filter = collection
        self.only_collection = w.Checkbox(value=bool(collection), description="Only the target collection")
        self.auto_refresh = w.Checkbox(value=True, description="Refresh while a job runs")
        self.running_jobs = w.Dropdown(description="Running job", options=[], style={"description_width": "150px"})
        self.watch_button = w.Button(description="Follow it in the import step", icon="eye", disabled=True)
        self.watch_button.add_class("zimport-jobs-watch")
        #: Set by the wizard: follow job ``id`` in the import step.
        self.on_watch: Callable[[str], None] | None = None
        self.watch_button.on_click(lambda _b: self._watch())
        self._timer: threading.Timer | None = None
        fields: list[w.Widget] = [w.HBox([self.only_collection, self.auto_refresh]),
                                  w.HBox([self.running_jobs, self.watch_button])]  # fmt: skip
        if connection is None:
            fields.insert(
                0, settings_panel((self.connection, "Connection (Zilliz)"), open_if_missing=(config.ZILLIZ_API_KEY,))
            )
        super().__init__(fields)
        if refresh:
            self.run()

    def secrets(self) -> list[str | None]:
        return self.connection.secrets()

    def prepare(self) -> Callable[[BaseForm], list[JobRow]]:
        client = self.connection.make_client()
        collection = self.collection_filter if self.only_collection.value else None
        limit = self.detail_limit

        def work(form: BaseForm) -> list[JobRow]:
            jobs = client.list_import_jobs()
            if collection:  # a job the server lists without a collection may still be one of its jobs
                jobs = [j for j in jobs if j.collection in (collection, None)]
            ordered = sorted(range(len(jobs)), key=lambda i: (jobs[i].state.finished, i))  # running first
            detailed = set(ordered[:limit])
            rows = []
            for i, job in enumerate(jobs):
                detail = None
                if i in detailed:
                    try:
                        detail = client.get_import_progress(job.job_id)
                    except Exception:  # the table still shows what the list said
                        detail = None
                rows.append(JobRow(job, detail))
            return rows

        return work

    def show_result(self, rows: list[JobRow]) -> None:
        running = [r.job.job_id for r in rows if not r.state.finished]
        self.running_jobs.options = running
        self.watch_button.disabled = not running or self.on_watch is None
        if not rows:
            self.output.value = "<div class='zimport-jobs-empty'>No import jobs yet.</div>"
        else:
            head = "".join(f"<th style='{_TH}'>{h}</th>" for h in ("job id", "collection", "state", "progress",
                                                                     "rows", "started (UTC)", "finished (UTC)",
                                                                     "reason"))  # fmt: skip
            self.output.value = (
                f"<table class='zimport-jobs-table' style='border-collapse:collapse'><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(r.html() for r in rows)}</tbody></table>"
            )
        self._schedule(bool(running))

    def _schedule(self, any_running: bool) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if any_running and self.auto_refresh.value:
            self._timer = threading.Timer(self.refresh_every, lambda: call_on_main_thread(self._tick))
            self._timer.daemon = True
            self._timer.start()

    def _tick(self) -> None:
        if not self.running and self.auto_refresh.value:
            self.run()

    def _watch(self) -> None:
        job_id = self.running_jobs.value
        if job_id and self.on_watch is not None:
            self.on_watch(job_id)

    def code(self) -> str:
        endpoint = self.connection.cluster_endpoint.value.strip()
        return "\n".join(
            [
                "import os",
                "from zimport_widgets import ImportClient",
                "",
                f"client = ImportClient({py_str(endpoint)}, {env_expr(config.ZILLIZ_API_KEY)})",
                "client.list_import_jobs()",
            ]
        )


_TH = "text-align:left;padding:2px 10px 2px 0;border-bottom:1px solid var(--jp-border-color1, #ccc)"
_TD = "padding:2px 10px 2px 0"


_ELSEWHERE = "not started from this machine: the job APIs give no start time"


def _when(at: datetime | None, unknown: str) -> str:
    """A time in UTC for the table; for an unknown one, a dash that says why (``unknown``) on hover."""
    if at is None:
        return f"<span title='{esc(unknown)}'>—</span>" if unknown else ""
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc)
    return esc(at.strftime("%Y-%m-%d %H:%M:%S"))


@dataclass(frozen=True)
class JobRow:
    """A listed job and, for the newest and running ones, its detailed progress."""

    job: ImportJobSummary
    detail: ImportProgress | None = None

    @property
    def state(self) -> ImportState:
        return self.detail.state if self.detail is not None else self.job.state

    def html(self) -> str:
        d = self.detail
        state = self.state
        color = {"Completed": GREEN, "Failed": RED}.get(state.value, "var(--jp-ui-font-color1, #333)")
        percent = d.percent if d is not None else self.job.percent
        finished = d.completed_at if d is not None else None
        reason = (d.reason if d is not None else "") or self.job.reason
        cells = [
            f"<code>{esc(self.job.job_id)}</code>", esc(self.job.collection or ""),
            f"<span style='color:{color}'>{esc(state)}</span>",
            "" if percent is None else f"{percent:.0f} %",
            esc(d.rows_text()) if d is not None else "",
            _when(self.job.started_at, _ELSEWHERE),
            _when(finished, ""),
            esc(reason),
        ]  # fmt: skip
        return "<tr>" + "".join(f"<td style='{_TD}'>{c}</td>" for c in cells) + "</tr>"
