"""ImportWizard: connection and OSS settings, then convert → upload → import, each result feeding the next."""

from __future__ import annotations

import os
import secrets
import time
from typing import TYPE_CHECKING

import ipywidgets as w

from .. import config
from .base import BaseForm
from .connection import ConnectionForm
from .convert import ConvertForm, ConvertOutcome
from .create import CreateCollectionForm
from .importing import ImportForm
from .jobs import JobsTable
from .storage import OSSForm
from .target import TargetForm
from .upload import UploadForm

if TYPE_CHECKING:
    from ..schema import CollectionSchema
    from ..storage.results import UploadResult

__all__ = ["ImportWizard"]


class ImportWizard(w.VBox):
    """All steps in one widget, for one target collection chosen once (:class:`TargetForm`).

    The target feeds every step (their headers show it) and is checked on the cluster before each step
    works (it must exist; the files must carry its fields). The converted folder becomes the upload source,
    the upload's object URL the import's object URL; each upload goes under a fresh prefix
    (``<collection>/<run id>``) unless one is typed, and a failed or cancelled upload clears the object URL,
    so an import never starts on a partial set. A finished import refreshes the jobs table.

    Keyword arguments prefill the steps; the settings come from the ``ZILLIZ_*`` and ``OSS_*`` (or ``AWS_*``) variables.
    """

    def __init__(
        self,
        *,
        source: str | None = None,
        out_dir: str | None = None,
        collection: str | None = None,
        prefix: str | None = None,
        infer_schema: bool = False,
        api_version: str = "v1",
        connection: ConnectionForm | None = None,
        oss: OSSForm | None = None,
        poll_interval: float = 1.0,
        timeout: float = 3600.0,
    ) -> None:
        self.connection = connection or ConnectionForm(api_version=api_version)
        self.oss = oss or OSSForm()
        self.target = TargetForm(self.connection, collection=collection)
        self.convert = ConvertForm(
            self.connection, source=source, out_dir=out_dir, collection=collection, infer=infer_schema
        )
        self.upload = UploadForm(self.oss, prefix=prefix)
        self._prefix_typed = bool(prefix)
        self.importer = ImportForm(
            self.connection, self.oss, collection=collection, poll_interval=poll_interval, timeout=timeout
        )
        self.jobs = JobsTable(self.connection, collection=collection)
        self.jobs.on_watch = self._watch_job
        self.creator = CreateCollectionForm(
            self.connection, name=lambda: self.target.collection,
            source=lambda: self.convert.frame if self.convert.frame is not None else self.convert.source.value,
        )  # fmt: skip
        self.create_panel = w.Accordion(children=[self.creator])
        self.create_panel.set_title(0, "Create a new collection (from the fields of the data)")
        self.create_panel.selected_index = None
        self.target.fields.children = (*self.target.fields.children, self.create_panel)
        self.creator.observe(self._created, "result")
        for step_field in (self.convert.collection, self.importer.collection):
            step_field.layout.display = "none"  # the target is the one place to choose it
        self.convert.preflight.append(lambda: self._check_target(None))
        self.upload.preflight.append(lambda: self._check_target(self.upload.schema))
        self.importer.preflight.append(lambda: self._check_target(self.upload.schema))
        self.settings = w.Accordion(children=[self.connection, self.oss])
        self.settings.set_title(0, "Connection (Zilliz)")
        self.settings.set_title(1, "Object storage")
        configured = all(os.environ.get(n) for n in (config.ZILLIZ_API_KEY, config.OSS_ACCESS_KEY_SECRET))
        self.settings.selected_index = None if configured else 0
        self.convert.observe(self._converted, "result")
        self.upload.observe(self._uploaded, "result")
        self.upload.observe(self._upload_ended, "error")
        self.upload.observe(self._upload_started, "running")
        self.upload.prefix.observe(self._prefix_edited, "value")
        self.importer.observe(self._imported, "result")
        self.target.observe(self._target_changed, "collection")
        self._target_changed({"new": self.target.collection})
        # the steps as tabs (one screen high, not a 2,800 px column); a finished step opens the next one
        self.tabs = w.Tab(children=[self.convert, self.upload, self.importer, self.jobs])
        for i, title in enumerate(STEP_TITLES):
            self.tabs.set_title(i, title)
        self.tabs.add_class("zimport-steps")
        super().__init__([
            w.HTML("<h3 style='margin:4px 0'>Import into Zilliz Cloud</h3>"),
            self.settings, self.target, self.tabs,
        ])  # fmt: skip
        self.add_class("zimport-wizard")

    def _step_done(self, index: int) -> None:
        """Mark step ``index`` done in its tab title and open the next step."""
        self.tabs.set_title(index, STEP_TITLES[index] + " ✓")
        if index + 1 < len(STEP_TITLES):
            self.tabs.selected_index = index + 1

    @property
    def steps(self) -> list[BaseForm]:
        return [self.convert, self.upload, self.importer]

    def _check_target(self, files_schema: CollectionSchema | None) -> None:
        self.target.require(files_schema)

    def _target_changed(self, change: dict) -> None:
        name = change["new"] or ""
        self.convert.collection.value = name
        self.importer.collection.value = name
        for step in self.steps:
            step.set_target(name)
        self.jobs.collection_filter = name or None
        self.jobs.only_collection.value = bool(name)
        if not self._prefix_typed:
            self._set_prefix(fresh_prefix(name) if name else "")

    def _set_prefix(self, value: str) -> None:
        self._setting_prefix = True
        try:
            self.upload.prefix.value = value
        finally:
            self._setting_prefix = False

    def _prefix_edited(self, change: dict) -> None:
        if not getattr(self, "_setting_prefix", False):
            self._prefix_typed = bool(str(change["new"]).strip())

    def _converted(self, change: dict) -> None:
        outcome: ConvertOutcome | None = change["new"]
        if outcome is None or not outcome.ok:
            return
        self._step_done(0)
        self.upload.source.value = str(outcome.out_dir)
        self.upload.schema = outcome.schema
        self.importer.source_rows = outcome.result.rows  # the import shows the rows it added against these
        if not self._prefix_typed:  # a new set of files: a new prefix, never on top of an earlier upload
            self._set_prefix(fresh_prefix(self.target.collection or outcome.out_dir.name))

    def _upload_started(self, change: dict) -> None:
        if change["new"]:
            self.importer.object_url.value = ""  # until this upload is complete, there is nothing to import

    def _uploaded(self, change: dict) -> None:
        result: UploadResult | None = change["new"]
        if result is not None:
            self._step_done(1)
            self.importer.object_url.value = result.object_url
            if not self._prefix_typed:  # the next upload goes elsewhere
                self._set_prefix(fresh_prefix(self.target.collection or "import"))

    def _upload_ended(self, change: dict) -> None:
        if change["new"] is not None:
            self.importer.object_url.value = ""  # a failed or cancelled upload: a partial set stays unimported

    def _created(self, change: dict) -> None:
        if change["new"] is not None:
            self.create_panel.selected_index = None  # done: fold it away
            self.target.run()  # the new collection shows in the list, and is the target

    def _watch_job(self, job_id: str) -> None:
        """Follow a running job (found in the jobs table) in the import step, e.g. after a kernel restart."""
        importer = self.importer
        if importer.running:
            return
        importer.job_id, importer._follow_job, importer._rows_before = job_id, job_id, None
        self.tabs.selected_index = 2
        importer.run()

    def _imported(self, change: dict) -> None:
        if change["new"] is not None:
            self.tabs.set_title(2, STEP_TITLES[2] + " ✓")  # the import's result stays in view
            self.jobs.run()


#: The tab titles of the steps.
STEP_TITLES = ("1 · Convert", "2 · Upload", "3 · Import", "Jobs")


def fresh_prefix(collection: str) -> str:
    """``<collection>/<run id>``: each run's files under their own prefix (UTC time and a random tail)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{collection}/{stamp}-{secrets.token_hex(2)}"
