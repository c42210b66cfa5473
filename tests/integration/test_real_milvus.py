"""The real Milvus importer judges: converted files import and read back equal; check agrees with it on the corpus.

Runs a real Milvus 2.3.5 server (``milvus_server``: a private network namespace, a Unix socket, a random
password). If this machine cannot run it the tests fail and say what is missing; they never skip.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.milvus_corpus import (
    CASES,
    DIM,
    SCHEMAS,
    build,
    rows_for,
    write_csv,
    write_json,
    write_jsonl,
    write_parquet,
)
from zimport_widgets import convert
from zimport_widgets.prepare.checks import check_import_source
from zimport_widgets.prepare.convert import convert_json_to_numpy
from zimport_widgets.prepare.parquet_out import convert_json_to_parquet
from zimport_widgets.sandbox.milvus import EngineError

pytestmark = pytest.mark.real_milvus
DOC = Path(__file__).resolve().parents[2] / "docs" / "milvus-versions.md"


class Judge:
    """Collections on the real server, and its verdict on a list of files."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self._shared: dict[str, str] = {}

    def collection(self, schema_key: str, *, fresh: bool = False) -> str:
        if not fresh and schema_key in self._shared:
            return self._shared[schema_key]
        name = f"{schema_key}_{secrets.token_hex(4)}"
        schema = SCHEMAS[schema_key]
        index = [{"fieldName": f.name, "indexType": "BIN_FLAT" if f.dtype.name == "BINARY_VECTOR" else "FLAT",
                  "metricType": "HAMMING" if f.dtype.name == "BINARY_VECTOR" else "L2"}
                 for f in schema.vector_fields]  # fmt: skip
        self.engine.create_collection(schema, index, name=name)
        if not fresh:
            self._shared[schema_key] = name
        return name

    def submit(self, collection: str, files: list[Path]) -> int | str:
        """A task id, or the reason the server refused the request at once."""
        try:
            return self.engine.bulk_insert(collection, [str(p.resolve()) for p in files])
        except EngineError as exc:
            return str(exc)

    def outcome(self, task: int | str) -> tuple[bool, str, int]:
        if isinstance(task, str):
            return False, task, 0
        st = self.engine.wait_bulk_insert(task)
        return st.state == "Completed", st.reason, st.rows


@pytest.fixture(scope="session")
def judge(milvus_sandbox) -> Judge:
    return Judge(milvus_sandbox.engine)


def _terminal(st) -> tuple[bool, str, int]:
    return st.state == "Completed", st.reason, st.rows


# ---------------------------------------------------------------------------------------------- read back equal
KEY = {"scalars": "id", "binary": "tag", "strkey": "key"}
#: (source kind, schema, converter workers, first row, rows): key ranges apart from the corpus's rows (0-39)
GOOD = [("numpy", s, 1, 10_000, 300) for s in sorted(SCHEMAS)] + [("json", s, 0, 20_000, 120) for s in sorted(SCHEMAS)]
GOOD.append(("numpy", "scalars", 2, 30_000, 2500))  # the parallel split/join path
GOOD.append(("parquet", "scalars", 0, 40_000, 150))  # written with pyarrow as rules.PARQUET_TYPES says
GOOD += [("parquet-ours", s, 0, 50_000, 4500) for s in sorted(SCHEMAS)]  # convert_json_to_parquet's output
GOOD += [("parquet-ours", s, 2, 62_000, 700) for s in sorted(SCHEMAS)]  # ... parsed in two processes
GOOD += [("frame", s, 0, 1_000, 9000) for s in sorted(SCHEMAS)]  # convert(DataFrame): two Arrow batches and more
GOOD += [("csv", "scalars", 0, 60_000, 200), ("jsonl", "strkey", 0, 60_000, 200)]  # convert() from text files
GOOD.append(("frame-numpy", "binary", 0, 60_000, 300))  # convert(DataFrame, to="numpy")
GOOD += [("json-ours", s, 0, 10_500, 300) for s in sorted(SCHEMAS)]  # convert(DataFrame, to="json")
GOOD.append(("numpy-folder", "scalars", 0, 61_000, 300))  # a NumPy folder converted to Parquet (i16 = i - 30000)


def _same(sent: dict, got: dict) -> list[str]:
    """Differences between a source row and the row Milvus returns (floats compared as float32)."""
    diffs = []
    for key, value in sent.items():
        back = got.get(key, "<missing>")
        if key in ("vec", "f32"):
            ok = back != "<missing>" and np.array_equal(np.float32(value), np.float32(back))
        elif key == "bits":
            ok = bytes(value) == (back[0] if isinstance(back, list) and back and isinstance(back[0], bytes) else back)
        else:
            ok = back == value
        if not ok:
            diffs.append(f"{key}: sent {value!r}, read {back!r}")
    return diffs


@pytest.fixture(scope="module")
def round_trips(judge, tmp_path_factory) -> dict[tuple, tuple[bool, str, int, list[dict], dict]]:
    """Every GOOD source imported (all at once) and read back: (ok, reason, rows Milvus counted, sent, read by key)."""
    root = tmp_path_factory.mktemp("good")
    pending = []
    for kind, schema_key, workers, start, n in GOOD:
        rows = rows_for(schema_key, n, start)
        folder = root / f"{kind}-{schema_key}-{workers}"
        folder.mkdir()
        src = write_json(folder / "rows.json", rows)
        if kind == "numpy":
            res = convert_json_to_numpy(src, folder / "np", SCHEMAS[schema_key], progress=False, workers=workers)
            files = sorted(res.out_dir.glob("*.npy"))
        elif kind == "parquet":
            files = [write_parquet(folder / "rows.parquet", rows, row_group_size=64)]
        elif kind == "parquet-ours":
            written = convert_json_to_parquet(
                src,
                folder / "out.parquet",
                SCHEMAS[schema_key],
                progress=False,
                row_group_bytes=4096,
                workers=workers or 1,
            )  # fmt: skip - several row groups
            assert written.row_groups > 1
            files = [written.path]
        elif kind in ("frame", "csv", "jsonl", "frame-numpy", "numpy-folder", "json-ours"):
            files = _converted(kind, folder, rows, SCHEMAS[schema_key])
        else:
            files = [src]
        report = check_import_source(files, SCHEMAS[schema_key])
        assert report.ok, report
        pending.append(((kind, schema_key, workers), rows, judge.submit(judge.collection(schema_key), files)))
    outcomes = [(key, rows, judge.outcome(task)) for key, rows, task in pending]
    read: dict[str, dict] = {}
    for schema_key in SCHEMAS:
        collection = judge.collection(schema_key)
        judge.engine.make_visible(collection)
        key = KEY[schema_key]
        sent = sorted({r[key] for k, rows, _ in outcomes if k[1] == schema_key for r in rows})
        read[schema_key] = {}
        for at in range(0, len(sent), 1000):  # by key: a query returns at most 16,384 rows
            expr = f"{key} in {json.dumps(sent[at : at + 1000], ensure_ascii=False)}"
            got = judge.engine.query(collection, filter=expr, output_fields=["*"], limit=16384)
            read[schema_key].update({r[key]: r for r in got})
    return {key: (*outcome, rows, read[key[1]]) for key, rows, outcome in outcomes}


def _converted(kind: str, folder: Path, rows: list[dict], schema) -> list[Path]:
    """``convert()`` from another source kind: a DataFrame, CSV, JSON Lines, a NumPy folder."""
    if kind == "csv":  # CSV cells of dynamic keys stay strings (Milvus's rule): no dynamic keys here
        for r in rows:
            r.pop("colour", None), r.pop("score", None)
        return [
            convert(write_csv(folder / "rows.csv", rows, schema), folder / "o.parquet", schema, progress=False).path
        ]
    if kind == "jsonl":
        return [convert(write_jsonl(folder / "rows.jsonl", rows), folder / "o.parquet", schema, progress=False).path]
    if kind == "numpy-folder":
        convert(pd.DataFrame(rows), folder / "np", schema, to="numpy", progress=False)
        return [convert(folder / "np", folder / "o.parquet", schema, progress=False).path]
    frame = pd.DataFrame(rows)
    if kind == "json-ours":
        return [convert(frame, folder / "o.json", schema, to="json", progress=False).path]
    if kind == "frame-numpy":
        return sorted(convert(frame, folder / "np", schema, to="numpy", progress=False).out_dir.glob("*.npy"))
    return [convert(frame, folder / "o.parquet", schema, progress=False).path]


@pytest.mark.parametrize("source", [g[:3] for g in GOOD], ids=[f"{k}-{s}-workers{w}" for k, s, w, _, _ in GOOD])
def test_our_files_import_and_read_back_equal(round_trips, source):
    ok, reason, count, rows, by_key = round_trips[source]
    assert ok, f"the real importer refused files the converter wrote and the checker passed: {reason}"
    assert count == len(rows)
    key = KEY[source[1]]
    problems = [f"row {r[key]!r}: {d}" for r in rows for d in _same(r, by_key.get(r[key], {}))]
    assert not problems, "\n".join(problems[:10])


def test_dynamic_keys_come_back_as_fields(round_trips):
    *_, rows, by_key = round_trips[("json", "scalars", 0)]
    odd, even = by_key[rows[1]["id"]], by_key[rows[0]["id"]]
    assert odd["colour"] == rows[1]["colour"] and odd["score"] == rows[1]["score"] and "colour" not in even
    assert even["doc"] == rows[0]["doc"] and len(even["vec"]) == DIM


# ---------------------------------------------------------------------------------------------- the bad corpus
@pytest.fixture(scope="module")
def verdicts(judge, tmp_path_factory) -> dict[str, tuple[bool, str, bool, str]]:
    """Every corpus case: (check ok, check's errors, real importer ok, its reason); imports run together."""
    root = tmp_path_factory.mktemp("corpus")
    pending = []
    for c in CASES:
        if c.crashes:
            continue  # judged on a server of its own: test_header_that_kills_the_server
        files = build(c, root)
        report = check_import_source(files, SCHEMAS[c.schema])
        pending.append((c, report, judge.submit(judge.collection(c.schema), files)))
    out = {}
    for c, report, task in pending:
        ok, reason, _ = judge.outcome(task)
        out[c.name] = (report.ok, "; ".join(str(e) for e in report.errors), ok, reason)
    return out


def test_corpus_holds_at_least_60_bad_sources():
    bad = [c for c in CASES if not c.accepted]
    assert len(bad) >= 60, len(bad)
    assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


@pytest.mark.parametrize("case", [c for c in CASES if not c.crashes], ids=[c.name for c in CASES if not c.crashes])
def test_checker_agrees_with_the_real_importer(verdicts, case):
    check_ok, check_errors, real_ok, reason = verdicts[case.name]
    if case.laxer:
        assert not check_ok, "Milvus 2.4+ refuses this: the checker must too"
        assert real_ok, f"documented as accepted by 2.3.5, but it refused: {reason}"
    elif case.accepted:
        assert check_ok and real_ok, f"check: {check_errors or 'ok'} | Milvus: {reason or 'ok'}"
    else:
        assert not real_ok, "the real importer accepted this bad source"
        assert not check_ok, f"the checker missed what Milvus refused: {reason}"


def test_version_differences_table_lists_exactly_the_laxer_cases():
    text = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.M))
    assert documented == {c.name for c in CASES if c.laxer}


@pytest.mark.parametrize("case", [c for c in CASES if c.crashes], ids=[c.name for c in CASES if c.crashes])
def test_header_that_kills_the_server(tmp_path, case):
    """Milvus 2.3.5's npyio panics on some headers NumPy reads fine: the server aborts (or hangs). Check refuses."""
    from zimport_widgets.sandbox.real_engine import RealMilvusEngine

    files = build(case, tmp_path / "src")
    assert not check_import_source(files, SCHEMAS[case.schema]).ok
    engine = RealMilvusEngine(str(tmp_path / "engine"))
    engine.start()
    try:
        assert engine.wait_ready(300), engine._error
        judge = Judge(engine)
        task = judge.submit(judge.collection(case.schema), files)
        try:
            verdict = (False, task, 0) if isinstance(task, str) else _terminal(engine.wait_bulk_insert(task, 90))
        except EngineError as exc:  # the server died (usually: SIGABRT) or stopped answering
            verdict = (False, str(exc), 0)
        assert not verdict[0], f"the real importer accepted it: {verdict}"
    finally:
        engine.stop()
