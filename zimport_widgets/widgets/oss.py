"""OSSForm: the object store the data goes to, and the keys (which the import job also needs)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import config
from .base import BaseForm, SecretInput, env_expr, esc, note_html, py_str, text

if TYPE_CHECKING:  # storage.oss pulls in oss2: imported in work() only
    from ..storage.oss import BucketAccess

__all__ = ["OSSForm"]


class OSSForm(BaseForm):
    """OSS endpoint, bucket, access key id and secret, prefilled from ``OSS_*``.

    "Check bucket" lists at most one object, which proves endpoint, bucket and keys. Other forms call
    :meth:`settings` (main thread); the keys never stay in the widgets.
    """

    title = "Object storage (OSS)"
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
    ) -> None:
        env = os.environ.get
        self.endpoint = text(
            "OSS endpoint", endpoint or env(config.OSS_ENDPOINT, ""), "https://oss-cn-hangzhou.aliyuncs.com"
        )
        self.bucket = text("Bucket", bucket or env(config.OSS_BUCKET, ""), "my-bucket")
        self.access_key_id = SecretInput("Access key id", config.OSS_ACCESS_KEY_ID, value=access_key_id)
        self.access_key_secret = SecretInput("Access key secret", config.OSS_ACCESS_KEY_SECRET, value=access_key_secret)
        super().__init__(
            [self.endpoint, self.bucket, self.access_key_id.row, self.access_key_secret.row],
            description="Values come from the OSS_* environment variables when set. "
            "The bucket must be in the cluster's cloud region.",
        )
        self.watch_code(self.endpoint, self.bucket)

    def settings(self) -> dict[str, Any]:
        """``endpoint``, ``bucket``, the keys and the STS token (reads and clears the keys).

        The token (``OSS_SECURITY_TOKEN``) is taken only with a key id from the environment: a token
        belongs with the temporary key id it was issued with.
        """
        from_env = self.access_key_id.source == "env"
        return {
            "endpoint": self.endpoint.value.strip() or None,
            "bucket": self.bucket.value.strip() or None,
            "access_key_id": self.access_key_id.take(),
            "access_key_secret": self.access_key_secret.take(),
            "security_token": os.environ.get(config.OSS_SECURITY_TOKEN) if from_env else None,
        }

    def secrets(self) -> list[str | None]:
        return [self.access_key_id.peek(), self.access_key_secret.peek()]

    def prepare(self) -> Callable[[BaseForm], BucketAccess]:
        credentials = self.credentials()

        def work(form: BaseForm) -> BucketAccess:
            from ..storage.oss import check_bucket

            return check_bucket(credentials)

        return work

    def credentials(self) -> config.OssCredentials:
        """The form's endpoint, bucket and keys, else the ``OSS_*`` variables (main thread; clears the keys)."""
        return config.OssCredentials.resolve(**self.settings())

    def show_result(self, result: BucketAccess) -> None:
        self.output.value = note_html(
            f"Bucket <code>{esc(result.bucket)}</code> at {esc(result.endpoint)} is reachable with these keys"
            + (" (empty)." if result.empty else ".")
        )

    def code(self) -> str:
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
