"""Cluster endpoints: cluster id and region from a public endpoint, and the import API hosts they imply.

A Zilliz Cloud cluster endpoint looks like ``https://in03-3bf3c31f4248e22.api.gcp-us-west1.zillizcloud.com``
(China: ``https://in01-….api.ali-cn-hangzhou.cloud.zilliz.com.cn``). From it we read the cluster id
(first label) and the region (the label after ``api``); the v1 import controller is then
``https://controller.api.{region}.zillizcloud.com`` (China: ``…cloud.zilliz.com.cn``) and the v2 control
plane ``https://api.cloud.zilliz.com`` (China: ``https://api.cloud.zilliz.com.cn``). Any other host (a
sandbox on 127.0.0.1, a self-hosted Milvus) has no cluster id or region: pass them explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ConfigError

__all__ = [
    "ClusterEndpoint",
    "controller_url_for_region",
    "is_china_region",
    "normalize_url",
    "parse_cluster_endpoint",
    "v2_control_plane_url",
]

GLOBAL_DOMAIN = "zillizcloud.com"
CHINA_DOMAIN = "cloud.zilliz.com.cn"
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


@dataclass(frozen=True)
class ClusterEndpoint:
    """A parsed cluster endpoint. ``cluster_id``/``region`` are None for non-Zilliz hosts."""

    url: str
    cluster_id: str | None = None
    region: str | None = None

    @property
    def is_zilliz(self) -> bool:
        return self.region is not None

    @property
    def is_china(self) -> bool:
        return self.region is not None and is_china_region(self.region)

    @property
    def controller_url(self) -> str | None:
        """The v1 import controller for this cluster's region (None for non-Zilliz hosts)."""
        return controller_url_for_region(self.region) if self.region else None

    @property
    def control_plane_url(self) -> str | None:
        """The v2 control plane (``api.cloud.zilliz.com[.cn]``) (None for non-Zilliz hosts)."""
        return v2_control_plane_url(china=self.is_china) if self.region else None


def normalize_url(url: str, *, what: str = "URL") -> str:
    """``url`` with a scheme (``https://`` if missing, as pymilvus does) and no trailing slash."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"the {what} is empty")
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if "@" in parts.netloc:  # user:key@host: the key would travel in logs and errors; never echo it
        raise ConfigError(
            f"the {what} must not carry a user name or key before the host (user:key@host)",
            hint="give the key as api_key= (ZILLIZ_API_KEY) and the URL as https://host[:port]",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"the {what} {url!r} is not an http(s) URL",
            hint="use the form https://host[:port], e.g. the cluster's public endpoint from the console",
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"the {what} {url!r} has an invalid port") from None
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path}"


def is_china_region(region: str) -> bool:
    """China regions (``ali-cn-hangzhou``, ``tc-ap-beijing``…) are served from ``*.zilliz.com.cn``."""
    r = region.lower()
    return "-cn-" in r or r.startswith("cn-") or r.startswith("tc-ap-")


def controller_url_for_region(region: str) -> str:
    """``https://controller.api.{region}.zillizcloud.com`` (``.cloud.zilliz.com.cn`` for China)."""
    region = region.strip().lower()
    if not _LABEL.match(region):
        raise ConfigError(f"invalid cloud region {region!r}", hint="regions look like gcp-us-west1 or ali-cn-hangzhou")
    domain = CHINA_DOMAIN if is_china_region(region) else GLOBAL_DOMAIN
    return f"https://controller.api.{region}.{domain}"


def v2_control_plane_url(*, china: bool = False) -> str:
    return "https://api.cloud.zilliz.com.cn" if china else "https://api.cloud.zilliz.com"


def parse_cluster_endpoint(url: str) -> ClusterEndpoint:
    """Parse a cluster endpoint; cluster id and region are filled in for Zilliz Cloud hosts.

    >>> ep = parse_cluster_endpoint("https://in03-3bf3c31f4248e22.api.gcp-us-west1.zillizcloud.com")
    >>> ep.cluster_id, ep.region, ep.controller_url
    ('in03-3bf3c31f4248e22', 'gcp-us-west1', 'https://controller.api.gcp-us-west1.zillizcloud.com')
    """
    norm = normalize_url(url, what="cluster endpoint")
    host = (urlsplit(norm).hostname or "").lower()
    for domain in (CHINA_DOMAIN, GLOBAL_DOMAIN):
        if host.endswith("." + domain):
            labels = host[: -len(domain) - 1].split(".")
            if labels[0] == "controller":
                raise ConfigError(
                    f"{norm!r} is the import controller, not the cluster endpoint",
                    hint="pass it as controller_url= (ZILLIZ_CONTROLLER_URL) and the cluster's own endpoint "
                    "(https://<cluster-id>.api.<region>...) as cluster_endpoint",
                )
            # <cluster-id>.api.<region>   (serverless: <cluster-id>.serverless.<region> too)
            if len(labels) == 3 and labels[1] in ("api", "serverless") and all(_LABEL.match(x) for x in labels):
                return ClusterEndpoint(norm, cluster_id=labels[0], region=labels[2])
            raise ConfigError(
                f"cannot read the cluster id and region from the endpoint {norm!r}",
                hint="expected https://<cluster-id>.api.<region>.zillizcloud.com (copy it from the console), "
                "or pass cluster_id= and controller_url= explicitly",
            )
    return ClusterEndpoint(norm)
