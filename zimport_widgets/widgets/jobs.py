"""JobsTable: the cluster's import jobs, refreshable."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import config
from .base import GREEN, RED, BaseForm, env_expr, esc, py_str, settings_panel
from .connection import ConnectionForm

if TYPE_CHECKING:  # types only: the client (requests) is built in prepare() through the ConnectionForm
    from ..cloud.jobs import ImportJobSummary

__all__ = ["JobsTable"]


class JobsTable(BaseForm):
    """A table of import jobs (id, collection, state, progress, reason); Refresh re-reads the list."""

    title = "Import jobs"
    run_label = "Refresh"
    run_icon = "refresh"
    css = "zimport-jobs"
    has_progress = False
    cancellable = False

    def __init__(
        self, connection: ConnectionForm | None = None, *, collection: str | None = None, refresh: bool = False
    ) -> None:
        self.connection = connection or ConnectionForm()
        self.collection_filter = collection
        fields = []
        if connection is None:
            fields.append(
                settings_panel((self.connection, "Connection (Zilliz)"), open_if_missing=(config.ZILLIZ_API_KEY,))
            )
        super().__init__(fields)
        if refresh:
            self.run()

    def secrets(self) -> list[str | None]:
        return self.connection.secrets()

    def prepare(self) -> Callable[[BaseForm], list[ImportJobSummary]]:
        client = self.connection.make_client()
        collection = self.collection_filter

        def work(form: BaseForm) -> list[ImportJobSummary]:
            jobs = client.list_import_jobs()
            if collection:  # a job the server lists without a collection may still be one of its jobs
                jobs = [j for j in jobs if j.collection in (collection, None)]
            return jobs

        return work

    def show_result(self, jobs: list[ImportJobSummary]) -> None:
        if not jobs:
            self.output.value = "<div class='zimport-jobs-empty'>No import jobs yet.</div>"
            return
        rows = []
        for job in jobs:
            color = {"Completed": GREEN, "Failed": RED}.get(job.state.value, "var(--jp-ui-font-color1, #333)")
            rows.append(
                f"<tr><td><code>{esc(job.job_id)}</code></td><td>{esc(job.collection or '')}</td>"
                f"<td style='color:{color}'>{esc(job.state)}</td>"
                f"<td>{'' if job.percent is None else f'{job.percent:.0f} %'}</td>"
                f"<td>{esc(job.reason)}</td></tr>"
            )
        self.output.value = (
            "<table class='zimport-jobs-table'><thead><tr><th>job id</th><th>collection</th><th>state</th>"
            f"<th>progress</th><th>reason</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )

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
