"""The installed package: a wheel built from the checkout holds every room, ``py.typed`` and no dev tools,
and works outside the checkout (the public API, the CLI, the sandbox)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the sources (a stale build/ of the checkout cannot leak into it)."""
    out = tmp_path_factory.mktemp("wheel")
    src = out / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "zimport_widgets", src / "zimport_widgets", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        cwd=out,
    )
    (found,) = out.glob("zimport_widgets-*.whl")
    return found


def test_wheel_holds_the_package_and_no_dev_tools(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("prepare/rules.py", "storage/upload.py", "cloud/dialects.py", "widgets/wizard.py",
                   "sandbox/sandbox.py", "cli/__init__.py", "retry.py", "py.typed"):  # fmt: skip
        assert f"zimport_widgets/{module}" in names, module
    assert not [n for n in names if n.startswith(("devtools/", "tests/", "notebooks/"))]


def test_the_unpacked_wheel_works_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import zimport_widgets as z, sys\n"
        "assert z.__file__.startswith(sys.argv[1]), z.__file__\n"
        "for name in z.__all__: getattr(z, name)\n"
        "from zimport_widgets.widgets import ImportWizard\n"
        "print('ok', len(z.__all__))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True, cwd=tmp_path,
                         env=env, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("ok ")
    cli = subprocess.run([sys.executable, "-m", "zimport_widgets", "--help"], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=120)  # fmt: skip
    assert cli.returncode == 0 and "upload" in cli.stdout, cli.stderr[-2000:]
