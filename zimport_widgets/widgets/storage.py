"""StorageForm: the bucket the data goes to (Aliyun OSS, or S3 and S3-compatible stores) and its keys, which the
import job also needs. The fields, hints and the object-URL preview follow the chosen provider."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .. import config
from .base import BaseForm, SecretInput, env_expr, esc, note_html, py_str, text

if TYPE_CHECKING:  # the storage SDKs (oss2, boto3) are imported in work() only
    from ..storage.backend import BucketAccess
    from ..storage.providers import StorageTarget

__all__ = ["OSSForm", "StorageForm"]

PROVIDER_LABELS = (
    ("Aliyun OSS", "oss"), ("AWS S3 / S3-compatible", "s3"), ("Tencent COS", "cos"), ("Google Cloud Storage", "gcs"),
    ("Azure Blob Storage", "azure"),
)  # fmt: skip
_HINTS = {
    "oss": "Values come from the OSS_* variables when set. The bucket must be in the cluster's cloud and "
    "region (an ali-… cluster).",
    "cos": "Values come from tccli's variables (TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY) and COS_BUCKET "
    "(name-appid), COS_REGION, COS_ENDPOINT (leave it empty for COS itself). The bucket must be in the "
    "cluster's cloud and region (a tc-… cluster).",
    "gcs": "An HMAC key of the bucket's project (Cloud Storage › Settings › Interoperability), or GCS_BUCKET, "
    "GCS_HMAC_ACCESS_KEY_ID, GCS_HMAC_SECRET; the XML API's S3 interoperability carries the upload. The bucket "
    "must be in the cluster's cloud and region (a gcp-… cluster).",
    "azure": "Values come from the Azure CLI's variables (AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY or "
    "AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_CONNECTION_STRING) and AZURE_STORAGE_CONTAINER. Leave the account "
    "URL empty for Azure itself. The container must be in the cluster's cloud and region (an az-… cluster).",
    "s3": "Values come from the AWS tools' variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, "
    "AWS_ENDPOINT_URL_S3) and S3_BUCKET. Leave the endpoint empty for AWS itself. The bucket must be in the "
    "cluster's cloud and region (an aws-… cluster).",
}


def default_provider() -> str:
    """The provider the environment points at: OSS when an ``OSS_*`` variable is set, else S3 when ``S3_BUCKET``
    or an AWS key is, else OSS."""
    env = os.environ.get
    if env(config.OSS_ENDPOINT) or env(config.OSS_BUCKET):
        return "oss"
    if env(config.S3_BUCKET) or env(config.AWS_ACCESS_KEY_ID):
        return "s3"
    if env(config.COS_BUCKET) or env(config.TENCENTCLOUD_SECRET_ID):
        return "cos"
    if env(config.GCS_BUCKET) or env(config.GCS_HMAC_ACCESS_KEY_ID):
        return "gcs"
    if (
        env(config.AZURE_STORAGE_CONTAINER)
        or env(config.AZURE_STORAGE_ACCOUNT)
        or env(config.AZURE_STORAGE_CONNECTION_STRING)
    ):
        return "azure"
    return "oss"


class StorageForm(BaseForm):
    """Provider, then its endpoint/region, bucket, access key id and secret, prefilled from the environment.

    "Check bucket" lists at most one object, which proves endpoint, bucket and keys. Other forms call
    :meth:`settings` / :meth:`credentials` (main thread); the keys never stay in the widgets.
    """

    title = "Object storage"
    run_label = "Check bucket"
    run_icon = "check"
    css = "zimport-oss"
    has_progress = False

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        bucket: str | None = None,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        provider: str | None = None,
        region: str | None = None,
    ) -> None:
        env = os.environ.get
        self.provider = w.ToggleButtons(options=PROVIDER_LABELS, value=provider or default_provider(),
                                        style={"button_width": "190px"})  # fmt: skip
        self.provider.add_class("zimport-provider")
        # OSS
        self.endpoint = text(
            "OSS endpoint", endpoint or env(config.OSS_ENDPOINT, ""), "https://oss-cn-hangzhou.aliyuncs.com"
        )
        self.bucket = text("Bucket", bucket or env(config.OSS_BUCKET, ""), "my-bucket")
        self.access_key_id = SecretInput("Access key id", config.OSS_ACCESS_KEY_ID, value=access_key_id)
        self.access_key_secret = SecretInput("Access key secret", config.OSS_ACCESS_KEY_SECRET, value=access_key_secret)
        # S3
        self.s3_region = text("Region", region or env(config.AWS_REGION) or env(config.AWS_DEFAULT_REGION) or "",
                              "us-west-2")  # fmt: skip
        self.s3_endpoint = text("Endpoint", env(config.AWS_ENDPOINT_URL_S3) or env(config.AWS_ENDPOINT_URL) or "",
                                "empty for AWS; https://minio.example:9000 for another store")  # fmt: skip
        self.s3_bucket = text("Bucket", env(config.S3_BUCKET, ""), "my-bucket")
        self.s3_key_id = SecretInput("Access key id", config.AWS_ACCESS_KEY_ID)
        self.s3_secret = SecretInput("Secret access key", config.AWS_SECRET_ACCESS_KEY)
        # Tencent COS (its S3-compatible API)
        self.cos_region = text("Region", env(config.COS_REGION) or env(config.TENCENTCLOUD_REGION) or "", "ap-beijing")
        self.cos_bucket = text("Bucket", env(config.COS_BUCKET, ""), "name-1250000000")
        self.cos_endpoint = text(
            "Endpoint", env(config.COS_ENDPOINT, ""), "empty for https://cos.<region>.myqcloud.com"
        )
        self.cos_key_id = SecretInput("SecretId", config.TENCENTCLOUD_SECRET_ID)
        self.cos_secret = SecretInput("SecretKey", config.TENCENTCLOUD_SECRET_KEY)
        # Google Cloud Storage (the XML API's S3 interoperability)
        self.gcs_bucket = text("Bucket", env(config.GCS_BUCKET, ""), "my-bucket")
        self.gcs_endpoint = text("Endpoint", env(config.GCS_ENDPOINT, ""), "empty for https://storage.googleapis.com")
        self.gcs_key_id = SecretInput("HMAC access id", config.GCS_HMAC_ACCESS_KEY_ID)
        self.gcs_secret = SecretInput("HMAC secret", config.GCS_HMAC_SECRET)
        # Azure
        self.az_account = text("Account", env(config.AZURE_STORAGE_ACCOUNT, ""), "mystorageaccount")
        self.az_container = text("Container", env(config.AZURE_STORAGE_CONTAINER, ""), "imports")
        self.az_endpoint = text("Account URL", "", "empty for https://<account>.blob.core.windows.net")
        self.az_key = SecretInput("Account key", config.AZURE_STORAGE_KEY)
        self.hint = w.HTML()
        self.hint.add_class("zimport-provider-hint")
        self.preview = w.HTML()
        self.preview.add_class("zimport-url-preview")
        self._panes = {
            "oss": w.VBox([self.endpoint, self.bucket, self.access_key_id.row, self.access_key_secret.row]),
            "s3": w.VBox([self.s3_region, self.s3_endpoint, self.s3_bucket, self.s3_key_id.row, self.s3_secret.row]),
            "cos": w.VBox(
                [self.cos_region, self.cos_bucket, self.cos_endpoint, self.cos_key_id.row, self.cos_secret.row]
            ),
            "gcs": w.VBox([self.gcs_bucket, self.gcs_endpoint, self.gcs_key_id.row, self.gcs_secret.row]),
            "azure": w.VBox([self.az_account, self.az_container, self.az_endpoint, self.az_key.row]),
        }
        self.pane = w.Box([self._panes[self.provider.value]])
        super().__init__([self.provider, self.hint, self.pane, self.preview])
        self.provider.observe(lambda _c: self._provider_changed(), "value")
        boxes = (self.endpoint, self.bucket, self.s3_region, self.s3_endpoint, self.s3_bucket, self.cos_region,
                 self.cos_bucket, self.cos_endpoint, self.gcs_bucket, self.gcs_endpoint, self.az_account,
                 self.az_container, self.az_endpoint)  # fmt: skip
        for box in boxes:
            box.observe(lambda _c: self._render_preview(), "value")
        self.watch_code(self.provider, *boxes)
        self._provider_changed()

    # -- provider switch
    def _provider_changed(self) -> None:
        self.pane.children = [self._panes[self.provider.value]]
        self.hint.value = f"<span class='zimport-hint'>{esc(_HINTS[self.provider.value])}</span>"
        self._render_preview()

    def preview_url(self, prefix: str = "PREFIX") -> str:
        """The object URL a folder ``prefix`` would get with the current fields (nothing is contacted)."""
        from ..storage.object_url import bucket_object_url

        if self.provider.value == "azure":
            from ..storage.azure import azure_object_url

            return azure_object_url(self.az_endpoint.value.strip() or None, self.az_account.value.strip() or "ACCOUNT",
                                    self.az_container.value.strip() or "CONTAINER", prefix, folder=True)  # fmt: skip
        if self.provider.value == "gcs":
            return bucket_object_url("gcs", self.gcs_endpoint.value.strip(), self.gcs_bucket.value.strip() or "BUCKET",
                                     prefix, folder=True)  # fmt: skip
        if self.provider.value == "cos":
            return bucket_object_url("cos", self.cos_endpoint.value.strip(), self.cos_bucket.value.strip() or "BUCKET",
                                     prefix, region=self.cos_region.value.strip() or "REGION", folder=True)  # fmt: skip
        if self.provider.value == "s3":
            return bucket_object_url("s3", self.s3_endpoint.value.strip(), self.s3_bucket.value.strip() or "BUCKET",
                                     prefix, region=self.s3_region.value.strip() or None, folder=True)  # fmt: skip
        endpoint = self.endpoint.value.strip() or "https://oss-REGION.aliyuncs.com"
        try:
            return bucket_object_url("oss", endpoint, self.bucket.value.strip() or "BUCKET", prefix, folder=True)
        except Exception:  # an endpoint being typed
            return ""

    def _render_preview(self) -> None:
        try:
            url = self.preview_url()
        except Exception:  # a value being typed
            url = ""
        self.preview.value = f"Object URLs will look like <code>{esc(url)}</code>" if url else ""

    # -- values
    @property
    def key_inputs(self) -> tuple[SecretInput, SecretInput]:
        """The key inputs of the chosen provider (Azure: the account name is a plain field)."""
        if self.provider.value == "azure":
            return self.az_key, self.az_key
        if self.provider.value == "cos":
            return self.cos_key_id, self.cos_secret
        if self.provider.value == "gcs":
            return self.gcs_key_id, self.gcs_secret
        if self.provider.value == "s3":
            return self.s3_key_id, self.s3_secret
        return self.access_key_id, self.access_key_secret

    def settings(self) -> dict[str, Any]:
        """``provider``, ``endpoint``, ``bucket``, ``region``, the keys and the STS token (reads and clears the keys).

        The token (``OSS_SECURITY_TOKEN`` / ``AWS_SESSION_TOKEN``) is taken only with a key id from the
        environment: a token belongs with the temporary key id it was issued with.
        """
        provider = self.provider.value
        if provider == "azure":
            return {
                "provider": provider, "endpoint": self.az_endpoint.value.strip() or None,
                "bucket": self.az_container.value.strip() or None, "region": None,
                "access_key_id": self.az_account.value.strip() or os.environ.get(config.AZURE_STORAGE_ACCOUNT),
                "access_key_secret": self.az_key.take(),
                "security_token": os.environ.get(config.AZURE_STORAGE_SAS_TOKEN),
            }  # fmt: skip
        key_id, secret = self.key_inputs
        from_env = key_id.source == "env"
        token_name = {"s3": config.AWS_SESSION_TOKEN, "cos": config.TENCENTCLOUD_SESSION_TOKEN}.get(
            provider, config.OSS_SECURITY_TOKEN
        )
        endpoint, bucket, region = {
            "s3": (self.s3_endpoint, self.s3_bucket, self.s3_region),
            "cos": (self.cos_endpoint, self.cos_bucket, self.cos_region),
            "gcs": (self.gcs_endpoint, self.gcs_bucket, None),
        }.get(provider, (self.endpoint, self.bucket, None))
        return {
            "provider": provider,
            "endpoint": endpoint.value.strip() or None,
            "bucket": bucket.value.strip() or None,
            "region": (region.value.strip() or None) if region is not None else None,
            "access_key_id": key_id.take(),
            "access_key_secret": secret.take(),
            "security_token": os.environ.get(token_name) if from_env else None,
        }

    def secrets(self) -> list[str | None]:
        inputs = (self.access_key_id, self.access_key_secret, self.s3_key_id, self.s3_secret, self.cos_key_id,
                  self.cos_secret, self.gcs_key_id, self.gcs_secret, self.az_key)  # fmt: skip
        return [s.peek() for s in inputs]

    def credentials(self) -> StorageTarget:
        """The form's bucket and keys, else the provider's variables (main thread; clears the keys)."""
        s = self.settings()
        provider, region = s.pop("provider"), s.pop("region")
        if provider == "azure":
            return config.AzureCredentials.resolve(
                s["bucket"], s["access_key_id"], s["access_key_secret"], s["security_token"], endpoint=s["endpoint"]
            )
        if provider in ("s3", "cos", "gcs"):
            endpoint = s.pop("endpoint")
            cls = {"cos": config.CosCredentials, "gcs": config.GcsCredentials}.get(provider, config.S3Credentials)
            return cls.resolve(**s, region=region, endpoint=endpoint)
        return config.OssCredentials.resolve(**s)

    def prepare(self) -> Callable[[BaseForm], BucketAccess]:
        credentials = self.credentials()

        def work(form: BaseForm) -> BucketAccess:
            from ..storage.providers import check_bucket

            return check_bucket(credentials)

        return work

    def show_result(self, result: BucketAccess) -> None:
        self.output.value = note_html(
            f"Bucket <code>{esc(result.bucket)}</code> at {esc(result.endpoint)} is reachable with these keys"
            + (" (empty)." if result.empty else ".")
        )

    def storage_code(self) -> tuple[str, list[str]]:
        """The credentials class and the lines that make ``storage`` from the fields (keys: from the variables)."""
        provider = self.provider.value
        if provider == "azure":
            endpoint = self.az_endpoint.value.strip()
            args = [py_str(self.az_container.value.strip()), py_str(self.az_account.value.strip())]
            return "AzureCredentials", _resolve_call("AzureCredentials", args, endpoint,
                                                     "key: AZURE_STORAGE_KEY (or AZURE_STORAGE_SAS_TOKEN)")  # fmt: skip
        if provider == "oss":
            args = [f"endpoint={py_str(self.endpoint.value.strip())}", f"bucket={py_str(self.bucket.value.strip())}",
                    f"access_key_id={env_expr(config.OSS_ACCESS_KEY_ID)}",
                    f"access_key_secret={env_expr(config.OSS_ACCESS_KEY_SECRET)}"]  # fmt: skip
            return "OssCredentials", _resolve_call("OssCredentials", args, "", "")
        endpoint_box, bucket_box, region_box = {
            "s3": (self.s3_endpoint, self.s3_bucket, self.s3_region),
            "cos": (self.cos_endpoint, self.cos_bucket, self.cos_region),
            "gcs": (self.gcs_endpoint, self.gcs_bucket, None),
        }[provider]
        cls = {"s3": "S3Credentials", "cos": "CosCredentials", "gcs": "GcsCredentials"}[provider]
        args = [f"bucket={py_str(bucket_box.value.strip())}"]
        if region_box is not None:
            args.append(f"region={py_str(region_box.value.strip())}")
        key_id, secret = self.key_inputs
        return cls, _resolve_call(cls, args, endpoint_box.value.strip(), f"keys: {key_id.env_name} / {secret.env_name}")

    def code(self) -> str:
        if self.provider.value == "azure":
            endpoint = self.az_endpoint.value.strip()
            return "\n".join([
                "import os",
                "from azure.storage.blob import BlobServiceClient",
                "",
                "service = BlobServiceClient(",
                f"    {py_str(endpoint or 'https://' + self.az_account.value.strip() + '.blob.core.windows.net')},",
                f"    credential={{'account_name': {py_str(self.az_account.value.strip())}, "
                f"'account_key': {env_expr(config.AZURE_STORAGE_KEY)}}},",
                ")",
                f"container = service.get_container_client({py_str(self.az_container.value.strip())})",
                "print([b.name for b in container.list_blobs(results_per_page=10).by_page().__next__()])",
            ])  # fmt: skip
        if self.provider.value == "s3":
            endpoint = self.s3_endpoint.value.strip()
            return "\n".join([
                "import os",
                "import boto3",
                "",
                "s3 = boto3.client(",
                "    's3',",
                f"    region_name={py_str(self.s3_region.value.strip())},",
                *([f"    endpoint_url={py_str(endpoint)},"] if endpoint else []),
                f"    aws_access_key_id={env_expr(config.AWS_ACCESS_KEY_ID)},",
                f"    aws_secret_access_key={env_expr(config.AWS_SECRET_ACCESS_KEY)},",
                ")",
                f"print(s3.list_objects_v2(Bucket={py_str(self.s3_bucket.value.strip())}, MaxKeys=10).get('Contents'))",
            ])  # fmt: skip
        return "\n".join(
            [
                "import os",
                "import oss2",
                "",
                "bucket = oss2.Bucket(",
                f"    oss2.Auth({env_expr(config.OSS_ACCESS_KEY_ID)}, {env_expr(config.OSS_ACCESS_KEY_SECRET)}),",
                f"    {py_str(self.endpoint.value.strip())},",
                f"    {py_str(self.bucket.value.strip())},",
                ")",
                "print([o.key for o in bucket.list_objects(max_keys=10).object_list])",
            ]
        )


def _resolve_call(cls: str, args: list[str], endpoint: str, note: str) -> list[str]:
    """``storage = cls.resolve(arg, ..., endpoint=...)  # note`` as code lines."""
    extra = [f"endpoint={py_str(endpoint)}"] if endpoint else []
    return [f"storage = {cls}.resolve(", *(f"    {a}," for a in [*args, *extra]), ")" + (f"  # {note}" if note else "")]


#: The earlier name (the form was OSS-only).
OSSForm = StorageForm
