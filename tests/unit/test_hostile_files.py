"""Files and folders a careless or hostile user hands the converter and the checker: each ends in one
``error:`` line (a typed error in Python) naming the file, and leaves nothing half-written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from zimport_widgets import check_import_source, convert
from zimport_widgets.errors import DataFileError, LocalFileError, SchemaError
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

SCHEMA = CollectionSchema(
    fields=(
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("text", DataType.VARCHAR, max_length=200),
        FieldSchema("vec", DataType.FLOAT_VECTOR, dim=3),
    ),
    collection_name="t",
)


def _json(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps({"rows": rows}), encoding="utf-8")
    return path


def _rows(n: int = 3, **over) -> list[dict]:
    return [{"id": i, "text": f"t{i}", "vec": [0.1, 0.2, 0.3], **over} for i in range(n)]


def _numpy_folder(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "id.npy", np.arange(n, dtype=np.int64))
    np.save(folder / "text.npy", np.array([f"t{i}" for i in range(n)]))
    np.save(folder / "vec.npy", np.zeros((n, 3), np.float32))
    return folder


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zimport_widgets", *args], capture_output=True, text=True,
                          timeout=120, **kw)  # fmt: skip


def _one_error_line(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 1, (res.returncode, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in res.stderr and lines and lines[0].startswith("error: "), res.stderr
    return res.stderr


# -- NumPy headers -------------------------------------------------------------------------------------


def _with_shape(path: Path, shape: str) -> None:
    """Rewrite the shape in a .npy (v1) header (only a probe of a broken file: writers never do this)."""
    data = path.read_bytes()
    assert data[6:8] == b"\x01\x00"
    size = int.from_bytes(data[8:10], "little")
    text = data[10 : 10 + size].decode("latin1")
    body = re.sub(r"'shape': \([^)]*\)", f"'shape': {shape}", text[: text.rindex("}") + 1])
    header = body.ljust(size - 1) + "\n"
    assert len(header) == size
    path.write_bytes(data[:10] + header.encode("latin1") + data[10 + size :])


@pytest.mark.parametrize(("name", "shape"), [("id", "(-3,)"), ("vec", "(3, -3)"), ("id", f"({10**30},)")])
def test_an_impossible_npy_shape_is_refused_by_check_and_convert(tmp_path, name, shape):
    folder = _numpy_folder(tmp_path / "np")
    _with_shape(folder / f"{name}.npy", shape)
    report = check_import_source(folder, SCHEMA)
    assert not report.ok and f"{name}.npy" in str(report.errors[0])
    with pytest.raises(DataFileError, match=r"negative dimension|larger than any file"):
        convert(folder, tmp_path / "out.parquet", SCHEMA, progress=False)
    assert not (tmp_path / "out.parquet").exists()


def test_check_refuses_strings_milvus_cannot_read_as_utf8(tmp_path):
    folder = _numpy_folder(tmp_path / "np")
    np.save(folder / "text.npy", np.array([b"ok", b"\xff\xfe", b"x"], dtype="S2"))
    report = check_import_source(folder, SCHEMA)
    assert not report.ok and "row 1: the bytes are not UTF-8 text" in str(report.errors[0])
    np.save(folder / "text.npy", np.array(["ok", "a\ud800", "x"]))
    report = check_import_source(folder, SCHEMA)
    assert not report.ok and "row 1: a lone surrogate code point" in str(report.errors[0])


# -- NUL characters ------------------------------------------------------------------------------------


def test_a_trailing_nul_is_refused_for_numpy_and_kept_by_parquet(tmp_path):
    src = _json(tmp_path / "s.json", _rows(text="abc\x00\x00"))
    with pytest.raises(DataFileError) as info:
        convert(src, tmp_path / "np", SCHEMA, to="numpy", progress=False)
    assert info.value.row == 0 and info.value.field == "text" and "Parquet" in str(info.value)
    assert not (tmp_path / "np").exists() or not any((tmp_path / "np").iterdir())
    res = convert(src, tmp_path / "out.parquet", SCHEMA, progress=False)
    import pyarrow.parquet as pq

    assert pq.read_table(res.path).column("text").to_pylist() == ["abc\x00\x00"] * 3  # every byte kept
    inner = _json(tmp_path / "i.json", _rows(text="a\x00c"))  # a NUL inside is fine for NumPy too
    out = convert(inner, tmp_path / "np2", SCHEMA, to="numpy", progress=False)
    assert np.load(Path(out.out_dir) / "text.npy").tolist() == ["a\x00c"] * 3


# -- field names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["k" * 10_000, "a\x00b", "1st", "dé"])
def test_a_key_that_cannot_be_a_field_name_is_refused_when_inferring(tmp_path, key):
    src = _json(tmp_path / "s.json", [{"id": 1, key: 2}])
    res = _cli("convert", "--quiet", "--to", "numpy", str(src), str(tmp_path / "out"))
    text = _one_error_line(res)
    assert "cannot be a field" in text and "not a Milvus field name" in text
    assert not (tmp_path / "out").exists()


def test_a_valid_name_too_long_for_a_file_is_refused_for_numpy_only(tmp_path):
    long = "f" * 253
    schema = CollectionSchema(fields=(*SCHEMA.fields, FieldSchema(long, DataType.INT64)), collection_name="t")
    src = _json(tmp_path / "s.json", _rows(**{long: 5}))
    with pytest.raises(SchemaError, match="too long for a file name"):
        convert(src, tmp_path / "np", schema, to="numpy", progress=False)
    assert convert(src, tmp_path / "out.parquet", schema, progress=False).rows == 3


# -- folders and files in the way, full disks, permissions ------------------------------------------------


def test_an_output_below_a_file_names_the_file_in_the_way(tmp_path):
    (tmp_path / "afile").write_text("x")
    src = _json(tmp_path / "s.json", _rows())
    for to, out in (("numpy", "afile/out"), ("parquet", "afile/out.parquet"), ("json", "afile/out.json")):
        with pytest.raises(LocalFileError) as info:
            convert(src, tmp_path / out, SCHEMA, to=to, progress=False)
        assert "afile" in str(info.value) and "a file is in the way" in str(info.value)
        assert isinstance(info.value, OSError)  # still an OSError for code that catches those
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("to", ["numpy", "parquet", "json"])
def test_a_file_size_limit_mid_write_leaves_nothing_behind(tmp_path, to):
    """The write fails with EFBIG (a real limit, as a full disk would): one line, no temporary file left."""
    rows = [{"id": i, "text": os.urandom(75).hex(), "vec": [0.1, 0.2, 0.3]} for i in range(20_000)]  # 3 MB
    src = _json(tmp_path / "big.json", rows)
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(SCHEMA.to_rest()))
    out = tmp_path / "out" / {"numpy": "np", "parquet": "o.parquet", "json": "o.json"}[to]
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024))
        from zimport_widgets.cli import main
        sys.exit(main(["convert", "--quiet", "--to", {to!r}, "--schema", {str(schema_file)!r},
                       {str(src)!r}, {str(out)!r}]))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    text = _one_error_line(res)
    assert "File too large" in text and "ulimit" in text
    left = [p for p in (tmp_path / "out").rglob("*")] if (tmp_path / "out").exists() else []
    assert not [p for p in left if p.is_file()], left


def _as_unprivileged() -> list[str]:
    """A command prefix that takes away the power to ignore file permissions (root keeps it otherwise)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test permission errors as root"
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", "--"]


def test_permission_denied_is_one_line_naming_the_file(tmp_path):
    src = _json(tmp_path / "s.json", _rows())
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA.to_rest()))
    locked = tmp_path / "locked"
    locked.mkdir()
    secret = tmp_path / "noread.json"
    shutil.copy(src, secret)
    secret.chmod(0)
    locked.chmod(0o555)
    try:
        prefix = _as_unprivileged()
        base = [*prefix, sys.executable, "-m", "zimport_widgets"]
        for args in (
            ["check", "--schema", str(tmp_path / "schema.json"), str(secret)],
            ["convert", "--quiet", "--schema", str(tmp_path / "schema.json"), str(secret), str(tmp_path / "o1")],
            ["convert", "--quiet", "--schema", str(tmp_path / "schema.json"), str(src), str(locked / "out")],
        ):
            res = subprocess.run(base + args, capture_output=True, text=True, timeout=120)
            text = _one_error_line(res)
            assert "Permission denied" in text and "check the permissions of" in text, text
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)
        secret.chmod(0o644)


def test_a_bug_is_one_line_and_shows_its_traceback_only_when_asked(tmp_path):
    code = textwrap.dedent("""
        import sys
        import zimport_widgets.cli.prepare as p
        def boom(args): raise KeyError("a bug")
        p._cmd_check = boom
        from zimport_widgets.cli import main
        sys.exit(main(["check", "x.json"]))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 70 and "Traceback" not in res.stderr
    assert "error: internal error (KeyError: 'a bug'); run again with ZIMPORT_DEBUG=1" in res.stderr
    env = {**os.environ, "ZIMPORT_DEBUG": "1"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" in res.stderr and "KeyError: 'a bug'" in res.stderr


# -- kills ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("to", "name"), [("numpy", "np"), ("parquet", "o.parquet")])
def test_what_a_kill_9_leaves_is_removed_by_the_next_run_and_the_output_is_whole(tmp_path, to, name):
    rows = [{"id": i, "text": os.urandom(60).hex(), "vec": [0.1, 0.2, 0.3]} for i in range(150_000)]
    src = _json(tmp_path / "big.json", rows)
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA.to_rest()))
    out = tmp_path / "out" / name
    out.parent.mkdir()
    cmd = [sys.executable, "-m", "zimport_widgets", "convert", "--quiet", "--to", to, "--workers", "1",
           "--schema", str(tmp_path / "schema.json"), str(src), str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not [p for p in out.parent.iterdir() if p.name.startswith(f".{name}.") and _has_bytes(p)]:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
    finally:
        proc.kill()  # SIGKILL: no clean-up runs
        proc.wait(30)
    left = [p for p in out.parent.iterdir() if p.name.startswith(f".{name}.")]
    assert left and not out.exists()  # hidden work in progress, nothing in the output's place
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert [p.name for p in out.parent.iterdir()] == [name]  # the next run removed what the kill left
    assert check_import_source(out, SCHEMA).row_count == 150_000


def _has_bytes(path: Path) -> bool:
    if path.is_dir():
        return any(f.is_file() and f.stat().st_size > 0 for f in path.rglob("*"))
    return path.stat().st_size > 0


def test_an_existing_output_folder_is_replaced_whole(tmp_path):
    dyn = CollectionSchema(fields=SCHEMA.fields, collection_name="t", enable_dynamic_field=True)
    out = tmp_path / "np"
    convert(_json(tmp_path / "a.json", _rows(5, extra=1)), out, dyn, to="numpy", progress=False)
    assert (out / "$meta.npy").exists()
    inode = out.stat().st_ino
    convert(_json(tmp_path / "b.json", _rows(7)), out, SCHEMA, to="numpy", progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["id.npy", "text.npy", "vec.npy"]  # no stale $meta.npy
    assert out.stat().st_ino != inode  # swapped in by a rename, not filled file by file
    assert check_import_source(out, SCHEMA).row_count == 7


def test_check_reads_a_large_npy_with_flat_memory(tmp_path):
    """A memory map counted a 2 GiB file as resident (2.1 GB); plain block reads stay near one block."""
    folder = tmp_path / "big"
    folder.mkdir()
    rows, dim = 200_000, 768  # 586 MiB of float32 (a sparse file: written in no time)
    np.lib.format.open_memmap(folder / "vec.npy", mode="w+", dtype=np.float32, shape=(rows, dim)).flush()
    np.save(folder / "id.npy", np.arange(rows, dtype=np.int64))
    fields = (FieldSchema("id", DataType.INT64, is_primary=True), FieldSchema("vec", DataType.FLOAT_VECTOR, dim=dim))
    schema = CollectionSchema(fields=fields, collection_name="b")
    (tmp_path / "schema.json").write_text(json.dumps(schema.to_rest()))
    code = textwrap.dedent(f"""
        from zimport_widgets import check_import_source, load_schema
        report = check_import_source({str(folder)!r}, load_schema({str(tmp_path / "schema.json")!r}))
        assert report.ok, report
        # VmHWM: this program's peak (ru_maxrss would count the forked parent's pages from before exec)
        print(next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM")) // 1024)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.split()[-1]) < 250, f"peak RSS {res.stdout.split()[-1]} MiB for a 586 MiB file"


def test_a_local_file_error_is_an_os_error_with_its_fields(tmp_path):
    src = _json(tmp_path / "s.json", _rows())
    with pytest.raises(LocalFileError) as info:  # the output would be below a file
        convert(src, src / "out", SCHEMA, to="numpy", progress=False)
    err = info.value
    assert isinstance(err, OSError) and err.errno is not None and err.filename and err.strerror


def test_a_swap_cut_between_its_renames_gives_the_old_set_back(tmp_path):
    from zimport_widgets.prepare import staging

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process that has ended
    out = tmp_path / "np"
    old = tmp_path / f".np.{staging._HOST}-{pid}-0123abcd.old"
    new = tmp_path / f".np.{staging._HOST}-{pid}-4567cdef.tmp"
    for folder, text in ((old, "old"), (new, "new")):
        folder.mkdir()
        (folder / "id.npy").write_text(text)
    other_host = tmp_path / f".np.ffffff-{pid}-89abcdef.tmp"
    other_host.mkdir()  # another machine's work on a shared folder: never touched
    staging.clear_stale_staging(out)
    assert (out / "id.npy").read_text() == "old" and not new.exists() and other_host.exists()


def test_an_internal_error_line_never_shows_a_key(tmp_path):
    code = textwrap.dedent("""
        import os, sys
        os.environ["OSS_ACCESS_KEY_SECRET"] = "s3cr3t-value-xyz"
        import zimport_widgets.cli.prepare as p
        def boom(args):
            raise RuntimeError("GET http://h/k?OSSAccessKeyId=AKID123&Signature=abc: s3cr3t-value-xyz")
        p._cmd_check = boom
        from zimport_widgets.cli import main
        sys.exit(main(["check", "x.json"]))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 70 and "internal error" in res.stderr
    for secret in ("s3cr3t-value-xyz", "AKID123", "Signature=abc"):
        assert secret not in res.stderr, res.stderr


def test_check_finds_a_lone_surrogate_in_big_endian_text(tmp_path):
    folder = _numpy_folder(tmp_path / "np")
    np.save(folder / "text.npy", np.array(["ok", "a\ud800", "x"]).astype(">U2"))
    report = check_import_source(folder, SCHEMA)
    assert not report.ok and "row 1: a lone surrogate code point" in str(report.errors[0])
