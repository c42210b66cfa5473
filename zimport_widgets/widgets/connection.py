"""ConnectionForm: where the cluster is and how to authenticate; builds the :class:`ImportClient`."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .. import config
from .base import BaseForm, SecretInput, env_expr, esc, note_html, py_str, text

if TYPE_CHECKING:  # the client pulls in requests: imported in make_client() only
    from ..cloud.client import ImportClient

__all__ = ["ConnectionForm"]


class ConnectionForm(BaseForm):
    """Cluster endpoint or controller URL, cluster id, API key and API version, prefilled from ``ZILLIZ_*``.

    "Test connection" lists the import jobs, which proves the endpoint and the key. Other forms call
    :meth:`make_client` (main thread) to get a client; the API key never stays in the widget.
    """

    title = "Connection"
    run_label = "Test connection"
    run_icon = "plug"
    css = "zimport-connection"
    has_progress = False

    def __init__(
        self,
        *,
        cluster_endpoint: str | None = None,
        controller_url: str | None = None,
        cluster_id: str | None = None,
        api_key: str | None = None,
        api_version: str = "v1",
    ) -> None:
        env = os.environ.get
        self.cluster_endpoint = text(
            "Cluster endpoint",
            cluster_endpoint or env(config.ZILLIZ_CLUSTER_ENDPOINT, ""),
            "https://in03-….api.gcp-us-west1.zillizcloud.com",
        )
        self.controller_url = text(
            "Controller URL",
            controller_url or env(config.ZILLIZ_CONTROLLER_URL, ""),
            "optional: derived from the cluster endpoint",
        )
        self.cluster_id = text(
            "Cluster id", cluster_id or env(config.ZILLIZ_CLUSTER_ID, ""), "optional: derived from the endpoint"
        )
        self.api_key = SecretInput("API key", config.ZILLIZ_API_KEY, value=api_key)
        self.api_version = w.Dropdown(
            options=["v1", "v2"],
            value=api_version,
            description="API version",
            style={"description_width": "150px"},
        )
        super().__init__(
            [self.cluster_endpoint, self.controller_url, self.cluster_id, self.api_key.row, self.api_version],
            description="Values come from the ZILLIZ_* environment variables when set.",
        )
        self.watch_code(self.cluster_endpoint, self.controller_url, self.cluster_id, self.api_version)

    def client_kwargs(self) -> dict[str, Any]:
        """The :class:`ImportClient` arguments (reads the API key, clearing it from the widget)."""
        return {
            "cluster_endpoint": self.cluster_endpoint.value.strip() or None,
            "api_key": self.api_key.take(),
            "controller_url": self.controller_url.value.strip() or None,
            "cluster_id": self.cluster_id.value.strip() or None,
            "api_version": self.api_version.value,
        }

    def make_client(self) -> ImportClient:
        """A new :class:`ImportClient` for the current values (call it on the main thread)."""
        from ..cloud.client import ImportClient

        return ImportClient(**self.client_kwargs())

    def secrets(self) -> list[str | None]:
        return [self.api_key.peek()]

    def prepare(self) -> Callable[[BaseForm], dict[str, int]]:
        client = self.make_client()

        def work(form: BaseForm) -> dict[str, int]:
            jobs = client.list_import_jobs()
            return {"jobs": len(jobs)}

        return work

    def show_result(self, result: dict[str, int]) -> None:
        where = self.cluster_endpoint.value or self.controller_url.value or "the configured endpoint"
        self.output.value = note_html(
            f"Connected to {esc(where)} ({self.api_version.value}); {result['jobs']} import job(s) visible."
        )

    def code(self) -> str:
        return "\n".join(
            [
                "import os",
                "from zimport_widgets import ImportClient",
                "",
                "client = ImportClient(",
                f"    {py_str(self.cluster_endpoint.value.strip())},",
                f"    {env_expr(config.ZILLIZ_API_KEY)},",
                f"    controller_url={py_str(self.controller_url.value.strip())},",
                f"    cluster_id={py_str(self.cluster_id.value.strip())},",
                f"    api_version={self.api_version.value!r},",
                ")",
                "print(client.list_import_jobs())",
            ]
        )
