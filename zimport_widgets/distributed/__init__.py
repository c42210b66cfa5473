"""Prepare and upload on a Dask cluster, import as one plan (``pip install 'zimport_widgets[dask]'``).

A sharded source (a folder or glob of JSON Lines / JSON / CSV / Parquet files: one partition each) is
converted partition by partition on the workers into Parquet import files, checked, and uploaded from the
worker straight to the bucket, each partition under its own sub-prefix; the client gathers the partitions
into one :class:`~zimport_widgets.ImportPlan`. A manifest beside the notebook records the finished
partitions, so a re-run (after a failure, a lost worker, a fix of one bad shard) redoes only the others.
Nothing here is imported by the rest of the package.
"""

from __future__ import annotations

from .cluster import local_cluster
from .manifest import Manifest
from .prepare import DistributedResult, PartitionError, PartitionResult, prepare_on_dask

__all__ = ["DistributedResult", "Manifest", "PartitionError", "PartitionResult", "local_cluster", "prepare_on_dask"]
