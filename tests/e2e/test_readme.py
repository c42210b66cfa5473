"""The README's code example runs as written (against the sandbox, in a folder with the sample file)."""

from __future__ import annotations

import re
from pathlib import Path

from zimport_widgets import ImportClient
from zimport_widgets.prepare.samples import sample_schema, write_sample_json

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_opens_with_the_two_commands():
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S).group(1)
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [["make", "demo"], ["make", "test"]]


def test_readme_script_example_imports_the_sample(sandbox_env, tmp_path: Path, monkeypatch, capsys):
    example = next(b for b in _python_blocks() if "convert_json_to_numpy(" in b)
    monkeypatch.chdir(tmp_path)
    write_sample_json(tmp_path / "medium_articles_2020_dpr.json", 300, dim=8)
    name = "readme_articles"
    with ImportClient() as client:
        client.create_collection(name, sample_schema(dim=8, collection_name=name))
    code = example.replace('"medium_articles"', repr(name)).replace("imports/medium/", "readme/medium/")
    exec(compile(code, "README.md", "exec"), {})
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"{name}: 300 rows; sample search top hit id=") and "NOT OK" not in last, last


def test_readme_config_example_uploads(sandbox, sandbox_env, tmp_path: Path, monkeypatch):
    example = next(b for b in _python_blocks() if "UploadConfig(" in b)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "npy").mkdir()
    (tmp_path / "npy" / "id.npy").write_bytes(b"not checked here")
    code = example.replace('"my-bucket"', repr(sandbox_env["OSS_BUCKET"])).replace("imports/medium/", "readme/cfg/")
    code = code.replace('prefix="readme/cfg/",', 'prefix="readme/cfg/", check=False,')
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert "check=False" in code and scope["credentials"].bucket == sandbox.oss_bucket
    stored = sandbox.store.oss2_bucket().get_object("readme/cfg/id.npy").read()
    assert stored == b"not checked here"
