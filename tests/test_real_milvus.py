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
import pytest
from milvus_corpus import CASES, DIM, SCHEMAS, build, rows_for, write_json

from zimport_widgets.checks import check_import_source
from zimport_widgets.convert import convert_json_to_numpy
from zimport_widgets.sandbox.milvus import EngineError

pytestmark = pytest.mark.real_milvus
DOC = Path(__file__).resolve().parents[1] / "docs" / "milvus-versions.md"


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


# ---------------------------------------------------------------------------------------------- read back equal
def _read_back(judge: Judge, collection: str, n: int) -> list[dict]:
    judge.engine.make_visible(collection)
    return judge.engine.query(collection, filter="", output_fields=["*"], limit=max(n, 1) + 10)


def _same(schema_key: str, sent: dict, got: dict) -> list[str]:
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


def _assert_round_trip(judge: Judge, schema_key: str, files: list[Path], rows: list[dict]) -> None:
    collection = judge.collection(schema_key, fresh=True)
    ok, reason, count = judge.outcome(judge.submit(collection, files))
    assert ok, f"the real importer refused our files: {reason}"
    assert count == len(rows)
    got = _read_back(judge, collection, len(rows))
    key = {"scalars": "id", "binary": "tag", "strkey": "key"}[schema_key]
    by_key = {r[key]: r for r in got}
    assert len(by_key) == len(rows)
    problems = [f"row {r[key]!r}: {d}" for r in rows for d in _same(schema_key, r, by_key.get(r[key], {}))]
    assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("schema_key", sorted(SCHEMAS))
def test_converted_numpy_imports_and_reads_back_equal(judge, tmp_path, schema_key):
    rows = rows_for(schema_key, 300)
    src = write_json(tmp_path / "src.json", rows)
    res = convert_json_to_numpy(src, tmp_path / "np", SCHEMAS[schema_key], progress=False, workers=1)
    assert check_import_source(res.out_dir, SCHEMAS[schema_key]).ok
    _assert_round_trip(judge, schema_key, sorted(res.out_dir.glob("*.npy")), rows)


def test_parallel_split_output_imports_and_reads_back_equal(judge, tmp_path):
    rows = rows_for("scalars", 2500)
    src = write_json(tmp_path / "src.json", rows)
    res = convert_json_to_numpy(src, tmp_path / "np", SCHEMAS["scalars"], progress=False, workers=2)
    _assert_round_trip(judge, "scalars", sorted(res.out_dir.glob("*.npy")), rows)


@pytest.mark.parametrize("schema_key", sorted(SCHEMAS))
def test_json_source_the_checker_passes_imports_equal(judge, tmp_path, schema_key):
    rows = rows_for(schema_key, 120)
    src = write_json(tmp_path / "rows.json", rows)
    assert check_import_source(src, SCHEMAS[schema_key]).ok
    _assert_round_trip(judge, schema_key, [src], rows)


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


def test_real_engine_rows_hold_dynamic_keys(judge, tmp_path):
    rows = rows_for("scalars", 10)
    src = write_json(tmp_path / "rows.json", rows)
    collection = judge.collection("scalars", fresh=True)
    assert judge.outcome(judge.submit(collection, [src]))[0]
    got = {r["id"]: r for r in _read_back(judge, collection, 10)}
    assert got[1]["colour"] == "red" and got[1]["score"] == 1.5 and "colour" not in got[0]
    assert json.loads(json.dumps(got[3]["doc"])) == rows[3]["doc"] and len(got[3]["vec"]) == DIM


@pytest.mark.parametrize("case", [c for c in CASES if c.crashes], ids=[c.name for c in CASES if c.crashes])
def test_header_that_kills_the_server(tmp_path, case):
    """Milvus 2.3.5's npyio panics on some headers NumPy reads fine: the server process ends. The checker refuses."""
    from zimport_widgets.sandbox.real_engine import RealMilvusEngine

    files = build(case, tmp_path / "src")
    assert not check_import_source(files, SCHEMAS[case.schema]).ok
    engine = RealMilvusEngine(str(tmp_path / "engine"))
    engine.start()
    try:
        assert engine.wait_ready(300), engine._error
        judge = Judge(engine)
        with pytest.raises(EngineError, match="server process ended"):
            judge.outcome(judge.submit(judge.collection(case.schema), files))
    finally:
        engine.stop()
