"""JSON a hostile or careless writer makes: lone surrogate escapes, nesting without end, NaN in a vector.

Each is refused with file, row and field named, by ``check`` and by every converter, and nothing is
written; valid escapes (surrogate pairs, escaped backslashes) are read back exactly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from zimport_widgets import check_import_source, convert
from zimport_widgets.errors import DataFileError
from zimport_widgets.prepare.json_rows import iter_json_rows
from zimport_widgets.prepare.json_text import bracket_depth, dumps_compact, loads_strict
from zimport_widgets.prepare.rules import MAX_JSON_DEPTH
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

SCHEMA = CollectionSchema(
    fields=(
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("text", DataType.VARCHAR, max_length=200),
        FieldSchema("vec", DataType.FLOAT_VECTOR, dim=3),
        FieldSchema("meta", DataType.JSON),
    ),
    collection_name="t",
)


def _rows_file(path: Path, rows_text: list[str], *, pad: int = 0) -> Path:
    """``{"rows": [...]}`` from raw row texts (so escapes stay as written); ``pad`` good rows first."""
    good = [json.dumps({"id": i, "text": f"t{i}", "vec": [0.1, 0.2, 0.3], "meta": {"i": i}}) for i in range(pad)]
    path.write_text('{"rows": [' + ", ".join(good + rows_text) + "]}", encoding="ascii")
    return path


def _row(**raw: str) -> str:
    base = {"id": "7", "text": '"x"', "vec": "[0.1, 0.2, 0.3]", "meta": "{}"}
    base.update(raw)
    return "{" + ", ".join(f'"{k}": {v}' for k, v in base.items()) + "}"


def _refused(src: Path, tmp_path: Path, *, field: str, row: int, words: str) -> None:
    report = check_import_source(src, SCHEMA)
    assert not report.ok
    text = str(report.errors[0])
    assert words in text and f"row {row}" in text and field in text, text
    for to in ("numpy", "parquet", "json"):
        out = tmp_path / f"out-{to}"
        with pytest.raises(DataFileError) as info:
            convert(src, out, SCHEMA, to=to, progress=False)
        err = info.value
        assert words in str(err) and err.row == row and err.field is not None and err.field.startswith(field)
        assert not out.exists() or not any(out.iterdir()), f"{to}: something was written"


@pytest.mark.parametrize("pad", [0, 3000])  # the first block, and a later one after many good rows
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"text": r'"a\ud800"'}, "text"),
        ({"text": r'"\udc00b"'}, "text"),
        ({"meta": r'{"k": "\ud83d"}'}, "meta"),
        ({"meta": r'{"\udfff": 1}'}, "meta"),
    ],
)
def test_a_lone_surrogate_escape_is_refused_never_turned_into_a_question_mark(tmp_path, raw, field, pad):
    src = _rows_file(tmp_path / "s.json", [_row(**raw)], pad=pad)
    _refused(src, tmp_path, field=field, row=pad, words="lone surrogate")


def test_surrogate_pairs_and_escaped_backslashes_are_read_exactly(tmp_path):
    src = _rows_file(
        tmp_path / "ok.json", [_row(text=r'"\ud83d\ude00 \\ud800 \\\ud83d\ude00"', meta=r'{"e": "\ud83d\ude00"}')]
    )
    assert check_import_source(src, SCHEMA).ok
    out = convert(src, tmp_path / "np", SCHEMA, to="numpy", progress=False)
    assert np.load(Path(out.out_dir) / "text.npy")[0] == "\U0001f600 \\ud800 \\\U0001f600"
    assert json.loads(np.load(Path(out.out_dir) / "meta.npy")[0]) == {"e": "\U0001f600"}


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 2000, 100_000])  # orjson reads the first, not the others
def test_nesting_deeper_than_the_bound_is_refused_with_row_and_field(tmp_path, depth):
    deep = "[" * depth + "]" * depth
    src = _rows_file(tmp_path / "d.json", [_row(meta='{"k": ' + deep + "}")], pad=5)
    _refused(src, tmp_path, field="meta", row=5, words=f"nested deeper than {MAX_JSON_DEPTH} levels")


def test_nesting_at_the_bound_is_kept(tmp_path):
    value: list = []
    for _ in range(MAX_JSON_DEPTH - 2):
        value = [value]
    src = _rows_file(tmp_path / "ok.json", [_row(meta=json.dumps({"k": value}))])
    assert check_import_source(src, SCHEMA).ok
    out = convert(src, tmp_path / "np", SCHEMA, to="numpy", progress=False)
    assert json.loads(np.load(Path(out.out_dir) / "meta.npy")[0]) == {"k": value}


def test_deep_nesting_stays_small_in_memory(tmp_path):
    """200 KB of '[' once took 21 GB; under a 1 GiB address-space limit it is refused in a moment."""
    src = _rows_file(tmp_path / "d.json", [_row(meta="[" * 100_000 + "]" * 100_000)])
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from zimport_widgets.cli import main
        sys.exit(main(["check", {str(src)!r}]))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "nested deeper than" in res.stdout + res.stderr, res.stderr[-2000:]
    assert "Traceback" not in res.stderr and "MemoryError" not in res.stderr


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_non_json_number_in_a_vector_names_the_field_and_element(tmp_path, literal):
    src = _rows_file(tmp_path / "n.json", [_row(vec=f"[0.1, {literal}, 0.3]")], pad=2)
    with pytest.raises(DataFileError) as info:
        list(iter_json_rows(src))
    assert info.value.row == 2 and info.value.field == "vec[1]"
    report = check_import_source(src, SCHEMA)
    assert "vec[1]" in str(report.errors[0]) and "row 2" in str(report.errors[0])


def test_json_text_helpers_bound_depth_without_recursion():
    assert bracket_depth(b'[1, "[[[\\"[[", {"a": [2]}]') == 3
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        dumps_compact({"k": deep})  # no RecursionError
    shallow: list = []
    for _ in range(MAX_JSON_DEPTH + 1):
        shallow = [shallow]
    with pytest.raises(ValueError, match="nested deeper"):
        dumps_compact(shallow)  # deeper than the bound, though json.dumps itself copes
    with pytest.raises(ValueError, match="nested deeper"):
        loads_strict("[" * 5000 + "]" * 5000)
    assert loads_strict("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)


def test_the_guard_judges_escapes_the_same_at_every_read_size():
    """Lone surrogates are found exactly where json.loads makes a string that is not Unicode, whatever the
    cuts between reads (escapes, backslash runs and pairs split anywhere)."""
    import io
    import random

    from zimport_widgets.prepare.json_rows import _Guard, _Unsafe

    def refused(data: bytes, size: int) -> bool:
        guard = _Guard(io.BytesIO(data))
        try:
            while guard.read(size):
                pass
        except _Unsafe:
            return True
        return False

    def not_unicode(data: bytes) -> bool:
        try:
            json.loads(data)[0].encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False

    rng = random.Random(7)
    pieces = ["\\\\", "\\ud83d", "\\ude00", "\\ud800", "\\udc00", "a", "u", "D800", "\\u0041", "\\\\" * 6]
    checked = 0
    for _ in range(1500):
        data = ('["' + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14))) + '"]').encode()
        try:
            want = not_unicode(data)
        except ValueError:
            continue  # not JSON at all (a lone backslash before a quote)
        for size in (1, 2, 3, 5, 7, 11, 12, 13, 64):
            assert refused(data, size) == want, (data, size)
        checked += 1
    assert checked > 1000


def test_depth_counting_stays_small_for_a_large_valid_body():
    import tracemalloc

    body = json.dumps({"data": [[0.123456] * 768 for _ in range(2000)]}).encode()  # 17 MB, depth 3
    tracemalloc.start()
    assert bracket_depth(body) == 3
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 * len(body), f"{peak / len(body):.1f}x the body"
