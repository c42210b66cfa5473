"""ConvertForm: a source on the server (or a DataFrame in code) -> Parquet (default) or NumPy files, then the check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import ipywidgets as w

from .base import RED, BaseForm, esc, note_html, py_str, text
from .connection import ConnectionForm
from .filepicker import FilePicker

if TYPE_CHECKING:  # types only: the conversion code (numpy, pyarrow) is imported in work()
    from ..prepare.convert import ConvertResult
    from ..prepare.parquet_out import ParquetResult
    from ..prepare.report import CheckReport
    from ..progress import ConvertProgress
    from ..schema import CollectionSchema

__all__ = ["ConvertForm", "ConvertOutcome"]

FROM_COLLECTION = "From the collection"
INFER = "Infer from the data"
PARQUET, NUMPY = "Parquet", "NumPy"
#: What a source path holds, by suffix (a folder: Parquet files or a NumPy folder), shown beside the path.
_KINDS = {
    ".json": "JSON rows",
    ".jsonl": "JSON Lines",
    ".ndjson": "JSON Lines",
    ".csv": "CSV",
    ".tsv": "CSV (tab)",
    ".parquet": "Parquet",
}


@dataclass(frozen=True)
class ConvertOutcome:
    """What the form produced: the conversion result, the check of its files and the schema the files
    follow (the collection's, the one given, or the inferred one), which the upload step checks against."""

    result: ConvertResult | ParquetResult
    report: CheckReport
    schema: CollectionSchema

    @property
    def ok(self) -> bool:
        """The check found no error (the conversion itself succeeded, or there would be no outcome)."""
        return self.report.ok

    @property
    def out_dir(self) -> Path:
        """The folder holding the files written (what the upload step uploads)."""
        result = self.result
        return result.out_dir if hasattr(result, "out_dir") else result.path.parent

    @property
    def files(self) -> list[Path]:
        return _file_paths(self.result)


class ConvertForm(BaseForm):
    """Source (server-side path typed or picked, or a DataFrame / Arrow table given in code), output format
    (Parquet, the default Zilliz recommends, or NumPy) and folder, schema source; Convert; bar; the check.

    With "From the collection" the schema is fetched with ``describe_collection`` through ``connection``
    (a :class:`ConnectionForm`); otherwise it is inferred from the data.
    """

    title = "1 · Convert to import files"
    run_label = "Convert"
    run_icon = "cogs"
    css = "zimport-convert"

    def __init__(
        self,
        connection: ConnectionForm | None = None,
        *,
        source: Any = None,
        out_dir: str | None = None,
        collection: str | None = None,
        schema: CollectionSchema | None = None,
        infer: bool | None = None,
        output_format: str = PARQUET,
    ) -> None:
        self.connection = connection
        self.schema = schema
        #: a DataFrame / Arrow table / rows given in code (the path field then only names it)
        self.frame = None if source is None or isinstance(source, (str, Path)) else source
        shown = _frame_label(self.frame) if self.frame is not None else str(source or "")
        self.source = text("Source", shown, "/path/on/the/server/data.parquet | .json | .jsonl | .csv | folder")
        self.source.disabled = self.frame is not None
        self.kind = w.HTML(layout=w.Layout(margin="0 0 0 8px"))
        self.output_format = w.ToggleButtons(
            options=[PARQUET, NUMPY],
            value=output_format,
            description="Output",
            tooltips=[
                "Parquet: what Zilliz recommends (arrays, sparse, nullable fields)",
                "NumPy: one .npy per field (Zilliz marks it about to be deprecated)",
            ],
            style={"description_width": "150px"},
        )
        self.browse = w.ToggleButton(description="Browse…", icon="folder-open", layout=w.Layout(width="auto"))
        self.picker: FilePicker | None = None
        self.picker_box = w.VBox([])
        self.out_dir = text("Output folder", str(out_dir or ""), "default: <source name>_parquet next to the source")
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
            [
                w.HBox([self.source, self.browse, self.kind]),
                self.picker_box,
                self.output_format,
                self.out_dir,
                self.schema_mode,
                self.collection,
            ],
            description="The path is on the machine running the kernel (no browser upload); in code, pass "
            "source=a DataFrame.",
        )
        self.browse.observe(self._on_browse, "value")
        self.source.observe(self._on_source, "value")
        self.output_format.observe(self._on_format, "value")
        self.out_dir.observe(self._on_out_dir, "value")
        self.watch_code(self.source, self.out_dir, self.collection, self.schema_mode, self.output_format)
        if self.frame is not None:
            self.browse.disabled = True
            self.kind.value = f"<small>{esc(type(self.frame).__name__)}</small>"
            if not out_dir:
                self._set_out(Path.cwd() / f"frame_{self._suffix}")
        elif source and not out_dir:
            self._on_source({"new": str(source)})
        elif source:
            self._show_kind(str(source))

    # ---------------------------------------------------------------- widgets
    def _on_browse(self, change: dict) -> None:
        if change["new"]:
            if self.picker is None:
                start = Path(self.source.value).expanduser().parent if self.source.value else None
                self.picker = FilePicker(
                    start if start and start.is_dir() else None, suffixes=tuple(_KINDS), on_pick=self._picked
                )
            self.picker_box.children = [self.picker]
        else:
            self.picker_box.children = []

    def _picked(self, path: Path) -> None:
        self.source.value = str(path)
        self.browse.value = False

    @property
    def _suffix(self) -> str:
        return "parquet" if self.output_format.value == PARQUET else "npy"

    def _set_out(self, path: Path) -> None:
        self._setting_out = True
        self.out_dir.value = str(path)
        self._setting_out = False

    def _default_out(self, src: str) -> Path:
        path = Path(src).expanduser()
        return path.with_name(f"{path.stem if path.suffix else path.name}_{self._suffix}")

    def _show_kind(self, src: str) -> None:
        path = Path(src).expanduser()
        kind = _KINDS.get(path.suffix.lower()) if path.suffix else ("folder" if path.is_dir() else None)
        self.kind.value = f"<small>{esc(kind)}</small>" if kind else ""

    def _on_source(self, change: dict) -> None:
        if self.frame is not None:
            return
        self._show_kind(change["new"] or "")
        if self._auto_out and change["new"]:
            self._set_out(self._default_out(change["new"]))

    def _on_format(self, change: dict) -> None:
        if not self._auto_out:
            return
        if self.frame is not None:
            self._set_out(Path.cwd() / f"frame_{self._suffix}")
        elif self.source.value.strip():
            self._set_out(self._default_out(self.source.value.strip()))

    def _on_out_dir(self, change: dict) -> None:
        if not self._setting_out:
            self._auto_out = not change["new"]

    # ---------------------------------------------------------------- work
    def prepare(self) -> Callable[[BaseForm], ConvertOutcome]:
        from ..errors import ConfigError

        src = self.source.value.strip()
        source: Any
        if self.frame is not None:
            source = self.frame
            out = Path(self.out_dir.value.strip() or Path.cwd() / f"frame_{self._suffix}").expanduser()
        else:
            if not src:
                raise ConfigError("no source file given", hint="type its path on the server or use Browse…")
            source = Path(src).expanduser()
            if not source.exists():
                raise ConfigError(f"{source}: no such file on the server", hint="check the path (it is the kernel's)")
            out = Path(self.out_dir.value.strip() or self._default_out(src)).expanduser()
        to: Literal["parquet", "numpy"] = "parquet" if self.output_format.value == PARQUET else "numpy"
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
            from ..prepare.convert_any import convert

            used = schema
            if client is not None:
                form.set_progress(0.0, f"reading the schema of <code>{esc(collection)}</code>…", force=True)
                used = client.describe_collection(collection)
            form.check_cancelled()
            result = convert(source, out, used, to=to, progress=form.progress_callback(self._render_convert))
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
            kind = "Parquet" if outcome.out_dir != getattr(result, "out_dir", None) else "NumPy"
            self.status.value = note_html(
                f"Converted {result.rows:,} rows into {len(outcome.files)} {kind} file(s) in "
                f"<code>{esc(outcome.out_dir)}</code>; the check passed."
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

    def _render_convert(self, event: ConvertProgress) -> tuple[float | None, str]:
        rate = self.rate_text(event.bytes_done, event.bytes_total)
        return event.fraction, f"{event.rows_done:,} rows · {event.fraction * 100:.0f} %{rate}"

    def code(self) -> str:
        src = self.source.value.strip()
        out = self.out_dir.value.strip()
        collection = self.collection.value.strip()
        to: Literal["parquet", "numpy"] = "parquet" if self.output_format.value == PARQUET else "numpy"
        lines = ["from zimport_widgets import check_import_source, convert"]
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
            f"result = convert({'frame' if self.frame is not None else py_str(src)}, {py_str(out)}, schema, to={to!r})",
            "report = check_import_source("
            + ("list(result.files)" if to == "parquet" else "[f.path for f in result.files]")
            + ", schema)",
            "report.raise_for_errors()",
            "result",
        ]
        return "\n".join(lines)


def _file_paths(result: ConvertResult | ParquetResult) -> list[Path]:
    """The files written (the check then sees exactly them); the folder if there were none."""
    paths = [f if isinstance(f, Path) else f.path for f in result.files]
    return paths or [getattr(result, "out_dir", Path("."))]


def _frame_label(frame: Any) -> str:
    rows = getattr(frame, "num_rows", None) or (len(frame) if hasattr(frame, "__len__") else None)
    return f"{type(frame).__name__} in code" + (f" ({rows:,} rows)" if rows else "")
