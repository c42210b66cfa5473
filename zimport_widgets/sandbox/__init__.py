"""The local sandbox: a loopback stand-in for Aliyun OSS, the Zilliz import controller and the cluster.

``with Sandbox() as sb:`` starts, on 127.0.0.1 and free ports, an OSS-dialect object store
(:mod:`.oss_store`), the import controller (REST v1 + v2 import routes) and the cluster data plane
(a REST v2 subset on Milvus Lite). ``sb.env()`` gives the eight ``ZILLIZ_*``/``OSS_*`` variables.
"""

from __future__ import annotations

from .oss_store import OssStore
from .sandbox import Sandbox, start_if_unconfigured

__all__ = ["OssStore", "Sandbox", "start_if_unconfigured"]
