"""FilePicker: a small server-side file chooser (the kernel's file system, not a browser upload).

Browser uploads travel through the websocket and fail silently above ~10 MB (ecosystem notes §B4.8),
so the forms take *server-side* paths: typed, or picked here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import ipywidgets as w

__all__ = ["FilePicker"]

#: Marks from the Geometric Shapes block, in DejaVu and every default Linux font (emoji often are not).
FOLDER, FILE = "▸", "·"
UP = "▴ .."


class FilePicker(w.VBox):
    """A folder listing: pick a folder to open it, pick a file to choose it.

    ``on_pick(path)`` is called with the chosen file (or, with ``folders=True``, the "Use this folder"
    button's folder). ``suffixes`` filters the files shown (e.g. ``(".json",)``).
    """

    def __init__(
        self,
        start: str | os.PathLike[str] | None = None,
        *,
        suffixes: tuple[str, ...] = (),
        folders: bool = False,
        on_pick: Callable[[Path], None] | None = None,
        rows: int = 8,
    ) -> None:
        self.suffixes = tuple(s.lower() for s in suffixes)
        self._on_pick = on_pick
        self.folder = Path(start or os.getcwd()).expanduser().resolve()
        if self.folder.is_file():
            self.folder = self.folder.parent
        self.where = w.HTML()
        self.listing = w.Select(options=[], rows=rows, layout=w.Layout(width="620px"))
        self.listing.add_class("zimport-picker-list")
        self.use_folder = w.Button(description="Use this folder", icon="folder-open", layout=w.Layout(width="auto"))
        self.use_folder.layout.display = "" if folders else "none"
        self.use_folder.on_click(lambda _b: self._pick(self.folder))
        self._entries: dict[str, Path] = {}
        self.listing.observe(self._on_select, "value")
        super().__init__([self.where, self.listing, self.use_folder])
        self.add_class("zimport-picker")
        self.refresh()

    def refresh(self) -> None:
        """Re-read the current folder."""
        entries: dict[str, Path] = {}
        if self.folder.parent != self.folder:
            entries[UP] = self.folder.parent
        try:
            children = sorted(self.folder.iterdir(), key=lambda p: (not p.is_dir(), p.name.lower()))
        except OSError as exc:
            children = []
            self.where.value = f"<code>{self.folder}</code>: cannot list ({exc.strerror})"
        else:
            self.where.value = f"<code>{self.folder}</code>"
        for child in children:
            if child.name.startswith("."):
                continue
            if child.is_dir():
                entries[f"{FOLDER} {child.name}/"] = child
            elif not self.suffixes or child.suffix.lower() in self.suffixes:
                entries[f"{FILE} {child.name}"] = child
        self._entries = entries
        self.listing.unobserve(self._on_select, "value")
        self.listing.options = list(entries)
        self.listing.value = None
        self.listing.observe(self._on_select, "value")

    def show_folder(self, folder: str | os.PathLike[str]) -> None:
        """Show ``folder``."""
        self.folder = Path(folder).expanduser().resolve()
        self.refresh()

    def _on_select(self, change: dict) -> None:
        path = self._entries.get(change["new"])
        if path is None:
            return
        if path.is_dir():
            self.show_folder(path)
        else:
            self._pick(path)

    def _pick(self, path: Path) -> None:
        if self._on_pick is not None:
            self._on_pick(path)
