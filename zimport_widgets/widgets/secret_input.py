"""SecretInput: a password box whose value is taken into kernel memory and cleared from the widget state."""

from __future__ import annotations

import os

import ipywidgets as w

__all__ = ["SecretInput"]


class SecretInput:
    """A Password box whose value is read once, kept in kernel memory and cleared from the widget.

    The box syncs only on Enter or leaving it (``continuous_update=False``) and the kernel takes the value
    and empties the box right away, so a saved notebook's widget state never holds it. Order of
    precedence: the value taken from the box, then the environment variable ``env_name``. The box only
    ever shows a placeholder saying where the value comes from.
    """

    def __init__(self, description: str, env_name: str, *, value: str | None = None, width: str = "620px") -> None:
        self.env_name = env_name
        self._value: str | None = value or None
        self.widget = w.Password(
            description=description,
            style={"description_width": "150px"},
            layout=w.Layout(width=width),
            continuous_update=False,
        )
        self.widget.add_class("zimport-secret")
        self.widget.observe(self._on_value, "value")
        self.clear_button = w.Button(description="Forget", icon="eraser", tooltip="drop the typed value",
                                     layout=w.Layout(width="auto"))  # fmt: skip
        self.clear_button.add_class("zimport-secret-forget")
        self.clear_button.on_click(lambda _b: self.forget())
        #: The box and its Forget button, for a form's field list.
        self.row = w.HBox([self.widget, self.clear_button])
        self._refresh_placeholder()

    def _on_value(self, change: dict) -> None:
        if change["new"]:
            self._value = change["new"]
            self.widget.value = ""
            self._refresh_placeholder()

    @property
    def source(self) -> str:
        """Where the value will come from: ``"typed"``, ``"memory"``, ``"env"`` or ``"missing"``."""
        if self.widget.value:
            return "typed"
        if self._value:
            return "memory"
        if os.environ.get(self.env_name):
            return "env"
        return "missing"

    def _refresh_placeholder(self) -> None:
        if self._value:
            self.widget.placeholder = "•••••• typed, kept in kernel memory (type to replace, Forget to drop)"
        elif os.environ.get(self.env_name):
            self.widget.placeholder = f"using ${self.env_name} (type to replace)"
        else:
            self.widget.placeholder = f"not set (or set ${self.env_name})"
        if hasattr(self, "clear_button"):
            self.clear_button.disabled = not self._value

    def origin(self) -> str:
        """Where the value in use comes from, for a message: the form field or the environment variable."""
        label = self.widget.description
        if self.widget.value or self._value:
            return f"the value typed in “{label}”"
        if os.environ.get(self.env_name):
            return f"${self.env_name} (the environment; type in “{label}” to replace it)"
        return f"nowhere (“{label}” is empty and ${self.env_name} is not set)"

    def take(self) -> str | None:
        """Read the secret (once from the box, which is then cleared) and return it, or None."""
        typed = self.widget.value
        if typed:
            self._value = typed
            self.widget.value = ""
        self._refresh_placeholder()
        return self._value or os.environ.get(self.env_name) or None

    def peek(self) -> str | None:
        """The value :meth:`take` would return, without clearing the box (for masking only)."""
        return self.widget.value or self._value or os.environ.get(self.env_name) or None

    def forget(self) -> None:
        """Drop a value held in memory (the environment variable still applies)."""
        self._value = None
        self.widget.value = ""
        self._refresh_placeholder()
