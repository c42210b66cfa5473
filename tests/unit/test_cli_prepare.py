"""`zimport convert` and `zimport check`: output and exit codes 0/1/2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zimport_widgets.cli import main
from zimport_widgets.prepare.samples import sample_schema, write_sample_json


@pytest.fixture()
def files(tmp_path):
    src = write_sample_json(tmp_path / "medium.json", 30, dim=8)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(sample_schema(dim=8).to_rest()))
    return src, schema


def test_convert_then_check(tmp_path, files, capsys):
    src, schema = files
    out = tmp_path / "np"
    assert main(["convert", str(src), str(out), "--schema", str(schema), "--quiet", "--to", "numpy"]) == 0
    text = capsys.readouterr().out
    assert "30 rows" in text and "title_vector.npy" in text
    assert main(["check", str(out), "--schema", str(schema)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["check", str(out), "--schema", str(schema), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["row_count"] == 30 and report["kind"] == "numpy"


def test_convert_without_schema_infers(tmp_path, files, capsys):
    src, _ = files
    assert main(["convert", str(src), str(tmp_path / "np"), "--quiet", "--to", "numpy"]) == 0
    assert np.load(tmp_path / "np" / "title_vector.npy").shape == (30, 8)
    assert main(["convert", str(src), str(tmp_path / "np2"), "--quiet", "--workers", "2", "--to", "numpy"]) == 0
    for name in ("id.npy", "title.npy", "title_vector.npy"):
        np.testing.assert_array_equal(np.load(tmp_path / "np" / name), np.load(tmp_path / "np2" / name))


def test_check_invalid_source_exits_1(tmp_path, files, capsys):
    src, schema = files
    out = tmp_path / "np"
    assert main(["convert", str(src), str(out), "--schema", str(schema), "--quiet", "--to", "numpy"]) == 0
    np.save(out / "claps.npy", np.arange(30, dtype=np.int32))
    capsys.readouterr()
    assert main(["check", str(out), "--schema", str(schema)]) == 1
    text = capsys.readouterr().out
    assert "INVALID" in text and "claps" in text and "int32" in text
    assert main(["check", str(out), "--schema", str(schema), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["errors"][0]["field"] == "claps"


def test_convert_bad_value_exits_1_and_leaves_nothing(tmp_path, files, capsys):
    _, schema = files
    bad = tmp_path / "bad.json"
    row = {"id": 0, "title": "t", "title_vector": [0.0] * 7, "link": "l", "reading_time": 1, "publication": "p",
           "claps": 1, "responses": 1}  # fmt: skip
    bad.write_text(json.dumps({"rows": [row]}))
    assert main(["convert", str(bad), str(tmp_path / "np"), "--schema", str(schema), "--quiet", "--to", "numpy"]) == 1
    err = capsys.readouterr().err
    assert "bad.json" in err and "row 0" in err and "title_vector" in err
    assert not (tmp_path / "np").exists()


def test_usage_errors_exit_2(tmp_path, files, capsys):
    src, _ = files
    assert main(["convert", str(tmp_path / "nope.json"), str(tmp_path / "np")]) == 2
    assert main(["check", str(tmp_path / "nope")]) == 2
    (tmp_path / "broken.json").write_text("{")
    assert main(["check", str(src), "--schema", str(tmp_path / "broken.json")]) == 2
    assert "--schema" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["check"])
    assert info.value.code == 2


def test_console_script_entry_point(tmp_path, files):
    src, schema = files
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "zimport"), "check", str(src), "--schema", str(schema)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "valid: JSON source" in proc.stdout


def test_convert_defaults_to_parquet_and_takes_csv(tmp_path, capsys):
    src = tmp_path / "rows.csv"
    src.write_text('id,vec\n1,"[0.5, 1]"\n2,"[2, 3]"\n')
    assert main(["convert", str(src), str(tmp_path / "out"), "--quiet"]) == 0
    assert "ParquetResult: 2 rows from rows.csv" in capsys.readouterr().out
    assert (tmp_path / "out" / "rows.parquet").is_file()
    assert main(["check", str(tmp_path / "out" / "rows.parquet")]) == 0
    src.write_text('id,vec\n1,"[0.5, 1]"\n2,[2, 3]\n')
    assert main(["convert", str(src), str(tmp_path / "out2"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: rows.csv, row 1") and "Traceback" not in err
