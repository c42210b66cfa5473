"""TargetForm: the one collection every step of the wizard works for, chosen once and checked on the cluster.

The wizard's convert, upload and import steps never keep a collection of their own: they read this one, show
it in their headers, and ask :meth:`TargetForm.require` (in their worker thread, before any work) whether it
exists on the cluster with the fields the files carry — so one click never converts for one collection and
imports into another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as w
import traitlets

from .base import GREEN, ORANGE, BaseForm, esc, note_html
from .connection import ConnectionForm

if TYPE_CHECKING:
    from ..schema import CollectionSchema

__all__ = ["TargetForm"]


class TargetForm(BaseForm):
    """The target collection: type a name or pick one of the cluster's (Refresh lists them)."""

    title = "Target collection"
    run_label = "Refresh"
    run_icon = "refresh"
    css = "zimport-target"
    has_progress = False
    cancellable = False

    #: The collection name every step uses (stripped); observe it to follow changes.
    collection = traitlets.Unicode("")

    def __init__(self, connection: ConnectionForm, *, collection: str | None = None) -> None:
        self.connection = connection
        self.name = w.Combobox(
            description="Collection", value=collection or "", options=[], ensure_option=False,
            placeholder="pick from the cluster (Refresh) or type a name", layout=w.Layout(width="620px"),
        )  # fmt: skip
        self.name.add_class("zimport-target-name")
        super().__init__(
            [self.name], description="Convert, upload and import all work for this collection, checked on the cluster."
        )
        self.collection = self.name.value.strip()
        self.name.observe(self._typed, "value")
        self.run_button.add_class("zimport-target-refresh")
        self.status.add_class("zimport-target-status")

    def _typed(self, change: dict) -> None:
        self.collection = str(change["new"] or "").strip()
        self.status.value = ""

    def secrets(self) -> list[str | None]:
        return self.connection.secrets()

    def prepare(self) -> Callable[[BaseForm], list[str]]:
        client = self.connection.make_client()
        return lambda form: sorted(client.list_collections())

    def show_result(self, names: list[str]) -> None:
        self.name.options = tuple(names)
        chosen = self.collection
        if not names:
            self.status.value = note_html("The cluster has no collection yet: create one first.", ORANGE,
                                          "zimport-warning")  # fmt: skip
        elif chosen and chosen not in names:
            self.status.value = note_html(
                f"<code>{esc(chosen)}</code> is not on the cluster; it has {len(names)} collection(s): pick one.",
                ORANGE, "zimport-warning",
            )  # fmt: skip
        else:
            self.status.value = note_html(f"{len(names)} collection(s) on the cluster.", GREEN)

    # -- used by the other steps, in their worker threads ------------------------------------------------
    def require(self, files_schema: CollectionSchema | None = None) -> CollectionSchema:
        """The target's schema, read from the cluster; raises if there is no target, it does not exist, or
        ``files_schema`` (what the files were written for) has other input fields than it."""
        from ..errors import ConfigError, SchemaError

        name = self.collection
        if not name:
            raise ConfigError("no target collection chosen", hint="pick or type the collection in “Target collection”")
        client = self.connection.make_client()
        if not client.has_collection(name):
            raise ConfigError(
                f"the collection {name!r} does not exist on the cluster",
                hint="create it first, or pick an existing one in “Target collection” (Refresh lists them)",
            )
        schema = client.describe_collection(name)
        if files_schema is not None:
            have = [(f.name, f.dtype) for f in files_schema.input_fields]
            want = [(f.name, f.dtype) for f in schema.input_fields]
            if sorted(have) != sorted(want):
                missing = sorted({n for n, _ in want} - {n for n, _ in have})
                extra = sorted({n for n, _ in have} - {n for n, _ in want})
                parts = [f"missing {', '.join(missing)}" if missing else "",
                         f"not in the collection {', '.join(extra)}" if extra else ""]  # fmt: skip
                detail = "; ".join(p for p in parts if p)
                raise SchemaError(
                    f"the files were prepared for other fields than the collection {name!r} has"
                    + (f" ({detail})" if detail else " (types differ)"),
                    hint="convert again for this collection (schema “From the collection”)",
                )
        return schema
