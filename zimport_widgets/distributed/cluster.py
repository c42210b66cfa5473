"""The embedded Dask cluster: a ``LocalCluster`` of worker processes on 127.0.0.1, authenticated.

Scheduler, workers and client talk over mutual TLS with throw-away certificates (``Security.temporary()``),
so nothing on this machine can join or submit work without them. Dask always starts small HTTP servers
(scheduler and workers); their routes are emptied, so they answer nothing, unless ``dashboard=True`` asks for
the dashboard (then on 127.0.0.1, with Dask's own lack of authentication: a warning says so).
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["local_cluster"]


def local_cluster(n_workers: int = 2, *, threads_per_worker: int = 1, dashboard: bool = False,
                  memory_limit: str | float = "auto") -> Any:  # fmt: skip
    """A ``distributed.Client`` on a new secured ``LocalCluster`` (``client.cluster``); close the client and the
    cluster when done (``with local_cluster() as client:`` closes the client; :func:`prepare_on_dask` closes
    what it started)."""
    import dask
    from distributed import Client, LocalCluster
    from distributed.security import Security

    security = Security.temporary()
    routes: dict[str, Any] = {} if dashboard else {
        "distributed.scheduler.http.routes": [], "distributed.worker.http.routes": [],
    }  # fmt: skip
    if dashboard:
        warnings.warn("the Dask dashboard has no authentication: anyone on this machine can open it (127.0.0.1)",
                      stacklevel=2)  # fmt: skip
    with dask.config.set(routes):
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True, host="127.0.0.1",
            protocol="tls", security=security, memory_limit=memory_limit,
            dashboard_address="127.0.0.1:0", worker_dashboard_address=None,
            scheduler_kwargs={"dashboard": dashboard},
        )  # fmt: skip
        client = Client(cluster, security=security)
    client.zimport_dashboard = dashboard  # type: ignore[attr-defined]  # the HTTP server is there either way
    return client
