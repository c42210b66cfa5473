"""ImportWizard: connection and OSS settings, then convert → upload → import, each result feeding the next."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import ipywidgets as w

from .. import config
from .base import BaseForm
from .connection import ConnectionForm
from .convert import ConvertForm, ConvertOutcome
from .importing import ImportForm
from .jobs import JobsTable
from .oss import OSSForm
from .upload import UploadForm

if TYPE_CHECKING:
    from ..storage.results import UploadResult

__all__ = ["ImportWizard"]


class ImportWizard(w.VBox):
    """All steps in one widget. The converted folder becomes the upload source, the upload's object URL
    the import's object URL, the convert step's collection the import's collection; a finished import
    refreshes the jobs table.

    Keyword arguments prefill the steps; the settings come from the ``ZILLIZ_*``/``OSS_*`` variables.
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
        self.convert = ConvertForm(
            self.connection, source=source, out_dir=out_dir, collection=collection, infer=infer_schema
        )
        self.upload = UploadForm(self.oss, prefix=prefix or (f"{collection}/import" if collection else None))
        self.importer = ImportForm(
            self.connection, self.oss, collection=collection, poll_interval=poll_interval, timeout=timeout
        )
        self.jobs = JobsTable(self.connection)
        self.settings = w.Accordion(children=[self.connection, self.oss])
        self.settings.set_title(0, "Connection (Zilliz)")
        self.settings.set_title(1, "Object storage (OSS)")
        configured = all(os.environ.get(n) for n in (config.ZILLIZ_API_KEY, config.OSS_ACCESS_KEY_SECRET))
        self.settings.selected_index = None if configured else 0
        self.convert.observe(self._converted, "result")
        self.upload.observe(self._uploaded, "result")
        self.importer.observe(self._imported, "result")
        self.convert.collection.observe(self._collection_changed, "value")
        super().__init__([
            w.HTML("<h3 style='margin:4px 0'>Import into Zilliz Cloud</h3>"),
            self.settings, self.convert, self.upload, self.importer, self.jobs,
        ])  # fmt: skip
        self.add_class("zimport-wizard")

    @property
    def steps(self) -> list[BaseForm]:
        return [self.convert, self.upload, self.importer]

    def _converted(self, change: dict) -> None:
        outcome: ConvertOutcome | None = change["new"]
        if outcome is None or not outcome.ok:
            return
        self.upload.source.value = str(outcome.out_dir)
        self.upload.schema = outcome.schema
        if not self.upload.prefix.value:
            name = self.convert.collection.value.strip() or outcome.out_dir.name
            self.upload.prefix.value = f"{name}/import"

    def _uploaded(self, change: dict) -> None:
        result: UploadResult | None = change["new"]
        if result is not None:
            self.importer.object_url.value = result.object_url

    def _imported(self, change: dict) -> None:
        if change["new"] is not None:
            self.jobs.run()

    def _collection_changed(self, change: dict) -> None:
        if change["new"] and (not self.importer.collection.value or self.importer.collection.value == change["old"]):
            self.importer.collection.value = change["new"]
