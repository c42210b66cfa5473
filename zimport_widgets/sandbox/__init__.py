"""The local sandbox: a loopback stand-in for Aliyun OSS, the Zilliz import controller and the cluster.

``with Sandbox() as sb:`` starts, on 127.0.0.1 and free ports:

* an object store speaking the Aliyun OSS dialect (:mod:`.oss_store`: moto's S3 backend behind an adapter
  that verifies OSS signatures, answers OSS XML errors and CRC64 headers) with a demo bucket;
* the import controller (:mod:`.controller`): Zilliz Cloud's REST import API v1 and v2, whose jobs
  (:mod:`.importer`) read the objects with the request's keys, run the core checks and insert into
* the cluster (:mod:`.cluster`): a REST v2 data-plane subset over Milvus Lite (:mod:`.milvus`).

``sb.env()`` gives the eight ``ZILLIZ_*``/``OSS_*`` variables; ``sb.faults`` injects faults (:mod:`.faults`);
``zimport sandbox`` runs the same in the foreground; :func:`start_if_unconfigured` starts one in-process
when no variable is set. :class:`OssStore` can also run alone; it can add read-only key pairs and issue
STS temporary keys (:mod:`.oss_policy`).
"""

from __future__ import annotations

from .faults import Faults
from .oss_policy import StsCredentials
from .oss_store import OssStore
from .sandbox import Sandbox, start_if_unconfigured

__all__ = ["Faults", "OssStore", "Sandbox", "StsCredentials", "start_if_unconfigured"]
