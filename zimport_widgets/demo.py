"""``make demo`` (for now): generate the sample dataset, convert it to NumPy and check the result.

Writes into ``build/demo/`` (git-ignored): ``medium_articles_2020_dpr.json``, ``numpy/<field>.npy``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .checks import check_import_source
from .convert import convert_json_to_numpy
from .samples import sample_schema, write_sample_json


def main(root: str | Path = "build/demo") -> int:
    root = Path(root)
    schema = sample_schema()
    src = write_sample_json(root / "medium_articles_2020_dpr.json")
    print(f"sample: {src} ({src.stat().st_size / 2**20:.1f} MiB)")
    out = root / "numpy"
    shutil.rmtree(out, ignore_errors=True)
    result = convert_json_to_numpy(src, out, schema, progress=True)
    print(repr(result))
    report = check_import_source(out, schema)
    print(repr(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
