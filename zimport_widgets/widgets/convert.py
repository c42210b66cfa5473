"""ConvertForm: a JSON file on the server -> one ``<field>.npy`` per field, then the source check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as w

from .base import RED, BaseForm, esc, note_html, py_str, text
from .connection import ConnectionForm
from .filepicker import FilePicker

if TYPE_CHECKING:  # types only: the conversion code (numpy) is imported in work()
    from ..prepare.convert import ConvertResult
    from ..prepare.report import CheckReport
    from ..progress import ConvertProgress
    from ..schema import CollectionSchema

__all__ = ["ConvertForm", "ConvertOutcome"]

FROM_COLLECTION = "From the collection"
INFER = "Infer from the data"


@dataclass(frozen=True)
class ConvertOutcome:
    """What the form produced: the conversion result, the check of its files and the schema the files
    follow (the collection's, the one given, or the inferred one), which the upload step checks against."""

    result: ConvertResult
    report: CheckReport
    schema: CollectionSchema

    @property
    def ok(self) -> bool:
        """The check found no error (the conversion itself succeeded, or there would be no outcome)."""
        return self.report.ok

    @property
    def out_dir(self) -> Path:
        return self.result.out_dir


class ConvertForm(BaseForm):
    """Source JSON (typed server-side path or picked), output folder, schema source; Convert; bar in rows.

    With "From the collection" the schema is fetched with ``describe_collection`` through ``connection``
    (a :class:`ConnectionForm`); otherwise it is inferred from the data.
    """

    title = "1 · Convert JSON to NumPy"
    run_label = "Convert"
    run_icon = "cogs"
    css = "zimport-convert"

    def __init__(
        self,
        connection: ConnectionForm | None = None,
        *,
        source: str | None = None,
        out_dir: str | None = None,
        collection: str | None = None,
        schema: CollectionSchema | None = None,
        infer: bool | None = None,
    ) -> None:
        self.connection = connection
        self.schema = schema
        self.source = text("Source JSON", str(source or ""), "/path/on/the/server/data.json")
        self.browse = w.ToggleButton(description="Browse…", icon="folder-open", layout=w.Layout(width="auto"))
        self.picker: FilePicker | None = None
        self.picker_box = w.VBox([])
        self.out_dir = text("Output folder", str(out_dir or ""), "default: <source name>_npy next to the source")
        self.collection = text("Collection", collection or "", "the target collection (for its schema)")
        if infer is None:
            infer = connection is None and schema is None
        self.schema_mode = w.ToggleButtons(
            options=[FROM_COLLECTION, INFER],
            value=INFER if infer else FROM_COLLECTION,
            description="Schema",
            style={"description_width": "150px"},
        )
        self._auto_out = not out_dir
        self._setting_out = False  # True while the form itself fills in the output folder
        super().__init__(
            [w.HBox([self.source, self.browse]), self.picker_box, self.out_dir, self.schema_mode, self.collection],
            description="The path is on the machine running the kernel (no browser upload).",
        )
        self.browse.observe(self._on_browse, "value")
        self.source.observe(self._on_source, "value")
        self.out_dir.observe(self._on_out_dir, "value")
        self.watch_code(self.source, self.out_dir, self.collection, self.schema_mode)
        if source and not out_dir:
            self._on_source({"new": str(source)})

    # ---------------------------------------------------------------- widgets
    def _on_browse(self, change: dict) -> None:
        if change["new"]:
            if self.picker is None:
                start = Path(self.source.value).expanduser().parent if self.source.value else None
                self.picker = FilePicker(
                    start if start and start.is_dir() else None, suffixes=(".json",), on_pick=self._picked
                )
            self.picker_box.children = [self.picker]
        else:
            self.picker_box.children = []

    def _picked(self, path: Path) -> None:
        self.source.value = str(path)
        self.browse.value = False

    def _on_source(self, change: dict) -> None:
        if self._auto_out and change["new"]:
            src = Path(change["new"]).expanduser()
            self._setting_out = True
            self.out_dir.value = str(src.with_name(f"{src.stem}_npy"))
            self._setting_out = False

    def _on_out_dir(self, change: dict) -> None:
        if not self._setting_out:
            self._auto_out = not change["new"]

    # ---------------------------------------------------------------- work
    def prepare(self) -> Callable[[BaseForm], ConvertOutcome]:
        from ..errors import ConfigError

        src = self.source.value.strip()
        if not src:
            raise ConfigError("no source JSON file given", hint="type its path on the server or use Browse…")
        source = Path(src).expanduser()
        if not source.exists():
            raise ConfigError(f"{source}: no such file on the server", hint="check the path (it is the kernel's)")
        out = Path(self.out_dir.value.strip() or source.with_name(f"{source.stem}_npy")).expanduser()
        collection = self.collection.value.strip()
        schema = self.schema
        client = None
        if self.schema_mode.value == FROM_COLLECTION and schema is None:
            if not collection:
                raise ConfigError(
                    "no collection name given to read the schema from",
                    hint="type the collection name, or choose “Infer from the data”",
                )
            if self.connection is None:
                raise ConfigError("no connection to read the collection's schema", hint="choose “Infer from the data”")
            client = self.connection.make_client()
        elif self.schema_mode.value == INFER:
            schema = None

        def work(form: BaseForm) -> ConvertOutcome:
            from ..prepare.checks import check_import_source
            from ..prepare.convert import convert_json_to_numpy

            used = schema
            if client is not None:
                form.set_progress(0.0, f"reading the schema of <code>{esc(collection)}</code>…", force=True)
                used = client.describe_collection(collection)
            form.check_cancelled()
            result = convert_json_to_numpy(source, out, used, progress=form.progress_callback(_render_convert))
            form.set_progress(1.0, f"{result.rows:,} rows · 100 % · checking…", force=True)
            form.check_cancelled()
            report = check_import_source(_file_paths(result), used)
            form.set_progress(1.0, f"{result.rows:,} rows · 100 %", force=True)
            return ConvertOutcome(result=result, report=report, schema=used if used is not None else result.schema)

        return work

    def show_result(self, outcome: ConvertOutcome) -> None:
        result, report = outcome.result, outcome.report
        self.output.value = result._repr_html_() + report._repr_html_()
        if outcome.ok:
            self.status.value = note_html(
                f"Converted {result.rows:,} rows into {len(result.files)} files in "
                f"<code>{esc(result.out_dir)}</code>; the check passed."
            )
        else:
            errors = report.errors
            self.status.value = note_html(
                f"Converted, but the check found {len(errors)} problem(s): "
                + esc("; ".join(str(e) for e in errors[:3])),
                RED,
                "zimport-error",
            )
            self.progress.bar_style = "danger"

    def code(self) -> str:
        src = self.source.value.strip()
        out = self.out_dir.value.strip()
        collection = self.collection.value.strip()
        lines = ["from zimport_widgets import check_import_source, convert_json_to_numpy"]
        if self.schema_mode.value == FROM_COLLECTION and self.schema is None:
            lines += [
                "from zimport_widgets import ImportClient",
                "",
                "# ImportClient() reads ZILLIZ_CLUSTER_ENDPOINT / ZILLIZ_API_KEY from the environment",
                f"schema = ImportClient().describe_collection({py_str(collection)})",
            ]
        else:
            lines += ["", "schema = None  # inferred from the data"]
        lines += [
            f"result = convert_json_to_numpy({py_str(src)}, {py_str(out)}, schema)",
            "report = check_import_source([f.path for f in result.files], schema)",
            "report.raise_for_errors()",
            "result",
        ]
        return "\n".join(lines)


def _render_convert(event: ConvertProgress) -> tuple[float | None, str]:
    return event.fraction, f"{event.rows_done:,} rows · {event.fraction * 100:.0f} %"


def _file_paths(result: ConvertResult) -> list[Path]:
    """The files written (the check then sees exactly them); the folder if there were none."""
    return [f.path for f in result.files] or [result.out_dir]
