"""ipywidgets forms for each step of the import, and a wizard that chains them.

Only this sub-package needs ipywidgets; ``import zimport_widgets`` works without it. Every form runs its
long work off the kernel's main thread, shows progress, results and errors inside itself, keeps secrets
out of the synced widget state, and can show the equivalent script call::

    ConnectionForm   cluster endpoint / controller URL, cluster id, API key, API version
    StorageForm      the bucket (Aliyun OSS or S3) and its keys; OSSForm is its earlier name
    ConvertForm      JSON -> per-field .npy files, then the source check
    UploadForm       the converted files -> the bucket, giving the object URL
    ImportForm       start the import job, follow it, verify the row count
    JobsTable        the cluster's import jobs (refreshable)
    TargetForm       the one collection the wizard's steps work for, checked on the cluster
    CreateCollectionForm  that collection made from the fields of the data (REST v2 create)
    ImportWizard     all of the above in order, each result feeding the next step
"""

from __future__ import annotations

try:
    import ipywidgets as _ipywidgets
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "zimport_widgets.widgets needs ipywidgets (>= 8.1) in the kernel's Python environment. "
        "Install it with:  pip install 'ipywidgets>=8.1'  (or  pip install zimport_widgets ), "
        "then restart the kernel. The rest of zimport_widgets works without it."
    ) from exc

if int(_ipywidgets.__version__.split(".")[0]) < 8:  # pragma: no cover
    raise ImportError(
        f"zimport_widgets.widgets needs ipywidgets >= 8.1, found {_ipywidgets.__version__}. "
        "Upgrade it with:  pip install -U 'ipywidgets>=8.1' , then restart the kernel."
    )

from .base import BaseForm, Cancelled, SecretInput
from .connection import ConnectionForm
from .convert import ConvertForm
from .create import CreateCollectionForm
from .filepicker import FilePicker
from .importing import ImportForm
from .jobs import JobsTable
from .storage import OSSForm, StorageForm
from .target import TargetForm
from .upload import UploadForm
from .wizard import ImportWizard

__all__ = [
    "BaseForm",
    "Cancelled",
    "ConnectionForm",
    "ConvertForm",
    "CreateCollectionForm",
    "FilePicker",
    "ImportForm",
    "ImportWizard",
    "JobsTable",
    "OSSForm",
    "SecretInput",
    "StorageForm",
    "TargetForm",
    "UploadForm",
]
