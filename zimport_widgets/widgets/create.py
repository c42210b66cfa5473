"""CreateCollectionForm: make the target collection from the fields of the data, on the sandbox or a real cluster.

"Read the fields" infers a schema from the convert step's source (its first rows, in the background) and
shows it as a table; the primary key, auto id, dynamic field, vector metric and index type are chosen in the
form; Create sends REST v2 ``collections/create`` (each vector field indexed) and shows the schema the
cluster describes back. "Show code" gives the same call with the schema written out.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .base import GREEN, BaseForm, env_expr, error_html, esc, note_html, py_str
from .connection import ConnectionForm
from .main_thread import call_on_main_thread

if TYPE_CHECKING:
    from ..schema import CollectionSchema

__all__ = ["CreateCollectionForm"]

METRICS = ("COSINE", "L2", "IP")
#: The types a field read from the data may be given instead (the data must still fit them: the convert
#: step checks every value against the collection).
SCALAR_TYPES = ("Bool", "Int8", "Int16", "Int32", "Int64", "Float", "Double", "VarChar", "JSON")
VECTOR_TYPES = ("FloatVector", "Float16Vector", "BFloat16Vector")
INDEX_TYPES = ("AUTOINDEX", "HNSW", "IVF_FLAT", "FLAT")


class CreateCollectionForm(BaseForm):
    """Create the collection ``name()`` from the fields of ``source()`` (a path or a DataFrame)."""

    title = "Create the collection"
    run_label = "Create"
    run_icon = "plus"
    css = "zimport-create"
    has_progress = False
    cancellable = False

    def __init__(self, connection: ConnectionForm, name: Callable[[], str], source: Callable[[], Any]) -> None:
        self.connection = connection
        self._name, self._source = name, source
        self.schema: CollectionSchema | None = None
        self.read_button = w.Button(description="Read the fields", icon="table")
        self.read_button.add_class("zimport-read-fields")
        self.read_button.on_click(self._read_fields)
        self.table = w.HTML("<i>Read the fields of the convert step's source first.</i>")
        self.table.add_class("zimport-field-table")
        #: Per field: its type and, for VarChar, its max_length (bytes): what the data suggested, editable.
        self.editors: dict[str, tuple[w.Dropdown, w.BoundedIntText]] = {}
        #: Per field: kept in the collection (unticked: left out; its values then go to $meta or are refused).
        self.keep: dict[str, w.Checkbox] = {}
        self.editor_box = w.VBox([])
        self.editor_box.add_class("zimport-field-editors")
        self.primary = w.Dropdown(description="Primary key", options=[], style={"description_width": "150px"})
        self.auto_id = w.Checkbox(description="Auto id (the server makes the keys; the files must not hold them)")
        self.dynamic = w.Checkbox(description="Dynamic field ($meta: keys beyond the fields are kept)")
        self.metric = w.Dropdown(description="Vector metric", options=METRICS, value="COSINE",
                                 style={"description_width": "150px"})  # fmt: skip
        self.index_type = w.Dropdown(description="Index type", options=INDEX_TYPES, value="AUTOINDEX",
                                     style={"description_width": "150px"})  # fmt: skip
        super().__init__(
            [
                self.read_button,
                self.table,
                self.editor_box,
                self.primary,
                self.auto_id,
                self.dynamic,
                self.metric,
                self.index_type,
            ],
            description="On the sandbox or a real cluster (REST v2 collections/create); each vector field is indexed.",
        )
        self.watch_code(self.primary, self.auto_id, self.dynamic, self.metric, self.index_type)

    def secrets(self) -> list[str | None]:
        return self.connection.secrets()

    # -- reading the fields (its own small thread: the table fills in when done) ---------------------------
    def _read_fields(self, _button: Any = None) -> None:
        source = self._source()
        self.read_button.disabled = True
        self.table.value = "<i>reading the first rows…</i>"

        def work() -> None:
            try:
                schema = infer_from(source)
            except Exception as exc:
                failure = error_html(exc)
                call_on_main_thread(lambda: self._show_fields(None, failure))
                return
            call_on_main_thread(lambda: self._show_fields(schema, ""))

        threading.Thread(target=work, name="zimport-read-fields", daemon=True).start()

    def _show_fields(self, schema: CollectionSchema | None, failure: str) -> None:
        self.read_button.disabled = False
        if schema is None:
            self.table.value = failure
            return
        self.schema = schema
        self.table.value = field_table(schema)
        self.editors, self.keep, rows = {}, {}, []
        for f in schema.fields:
            keep = w.Checkbox(value=True, indent=False, layout=w.Layout(width="28px"), tooltip=f"keep {f.name}")
            keep.add_class("zimport-field-keep")
            self.keep[f.name] = keep
            name = w.HTML(f"<code>{esc(f.name)}</code>", layout=w.Layout(width="180px"))
            choices = (
                SCALAR_TYPES if f.dtype.value in SCALAR_TYPES else VECTOR_TYPES if f.dtype.value in VECTOR_TYPES else ()
            )
            if not choices:  # arrays, sparse and binary vectors keep the type the data has
                rows.append(w.HBox([keep, name, w.HTML(esc(f.describe()))]))
                continue
            kind = w.Dropdown(options=choices, value=f.dtype.value, layout=w.Layout(width="160px"))
            size = w.BoundedIntText(
                value=f.max_length or 512, min=1, max=65535, layout=w.Layout(width="110px"),
                disabled=f.dtype.value != "VarChar", tooltip="VarChar max_length (bytes)",
            )  # fmt: skip
            kind.observe(lambda c, s=size: setattr(s, "disabled", c["new"] != "VarChar"), "value")
            kind.add_class("zimport-field-type")
            self.editors[f.name] = (kind, size)
            rows.append(w.HBox([keep, name, kind, size]))
            self.watch_code(kind, size)
        for box in self.keep.values():
            self.watch_code(box)
        self.editor_box.children = [
            w.HTML("<b>Fields</b> (edit before Create; max_length in bytes; untick to leave a field out: its "
                   "values then go to <code>$meta</code> with the dynamic field on, else the convert step refuses "
                   "them)"),
            *rows,
        ]  # fmt: skip
        keys = [f.name for f in schema.fields if f.dtype.value in ("Int64", "VarChar")]
        self.primary.options = keys
        self.primary.value = schema.primary.name if schema.primary.name in keys else (keys[0] if keys else None)
        if self.code_button.value:
            self._render_code()

    # -- creating ----------------------------------------------------------------------------------------------
    def chosen_schema(self) -> CollectionSchema:
        """The inferred schema with the choices of the form applied."""
        from ..errors import ConfigError
        from ..schema import CollectionSchema

        if self.schema is None:
            raise ConfigError("no fields yet", hint="press “Read the fields” (from the convert step's source)")
        from ..schema import DataType

        pk = self.primary.value
        if not pk:
            raise ConfigError("no primary key chosen", hint="the primary key must be an Int64 or VarChar field")
        fields = []
        for f in self.schema.fields:
            if not self.keep[f.name].value:
                if f.name == pk:
                    raise ConfigError(f"the primary key {pk!r} is left out", hint="tick it, or choose another key")
                continue
            editor = self.editors.get(f.name)
            if editor is not None:
                dtype = DataType.parse(editor[0].value)
                f = replace(f, dtype=dtype, max_length=int(editor[1].value) if dtype is DataType.VARCHAR else None)
            if f.name == pk and f.dtype not in (DataType.INT64, DataType.VARCHAR):
                raise ConfigError(f"the primary key {pk!r} is {f.dtype.value}", hint="make it Int64 or VarChar")
            fields.append(replace(f, is_primary=f.name == pk, auto_id=bool(self.auto_id.value) and f.name == pk))
        if not any(f.dtype.is_vector for f in fields):
            raise ConfigError("no vector field kept", hint="a collection needs one: tick a vector field")
        return CollectionSchema(fields=tuple(fields), enable_dynamic_field=bool(self.dynamic.value),
                                collection_name=self._name() or None)  # fmt: skip

    def prepare(self) -> Callable[[BaseForm], CollectionSchema]:
        from ..errors import ConfigError

        name = self._name()
        if not name:
            raise ConfigError("no collection name", hint="type the name in “Target collection”")
        schema = self.chosen_schema()
        client = self.connection.make_client()
        metric, index_type = self.metric.value, self.index_type.value

        def work(form: BaseForm) -> CollectionSchema:
            if client.has_collection(name):
                raise ConfigError(f"the collection {name!r} exists already", hint="pick it as the target instead")
            return client.create_collection(name, schema, metric_type=metric, index_type=index_type)

        return work

    def show_result(self, schema: CollectionSchema) -> None:
        self.status.value = note_html(
            f"Created collection <code class='zimport-created'>{esc(schema.collection_name or self._name())}</code> "
            f"with {len(schema.fields)} fields.", GREEN,
        )  # fmt: skip
        self.output.value = field_table(schema)

    def code(self) -> str:
        try:
            schema = self.chosen_schema()
        except Exception:
            return "# press “Read the fields” first"
        doc = json.dumps(schema.to_rest(), indent=4)
        return "\n".join([
            "import os",
            "from zimport_widgets import ImportClient, load_schema",
            "",
            f"schema = load_schema({doc})",
            f"client = ImportClient({py_str(self.connection.cluster_endpoint.value.strip())}, "
            f"{env_expr('ZILLIZ_API_KEY')}, api_version='v2')",
            f"client.create_collection({py_str(self._name())}, schema, metric_type={self.metric.value!r}, "
            f"index_type={self.index_type.value!r})",
        ])  # fmt: skip


def infer_from(source: Any) -> CollectionSchema:
    """The schema the first rows of ``source`` suggest (a path: JSON, JSONL, CSV, Parquet, NumPy; a DataFrame)."""
    from ..errors import ConfigError
    from ..prepare.convert_any import schema_for
    from ..prepare.sources import open_source

    if source is None or (isinstance(source, str) and not source.strip()):
        raise ConfigError("no source to read the fields from", hint="choose the source file in the convert step")
    return schema_for(open_source(source.strip() if isinstance(source, str) else source), None)


def field_table(schema: CollectionSchema) -> str:
    rows = "".join(
        f"<tr><td><code>{esc(f.name)}</code></td><td>{esc(f.describe())}</td>"
        f"<td>{'primary key' + (', auto id' if f.auto_id else '') if f.is_primary else ''}</td></tr>"
        for f in schema.fields
    )
    return ("<table class='zimport-fields'><thead><tr><th>field</th><th>type</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")  # fmt: skip
