"""samples.py: the deterministic medium_articles stand-in."""

from __future__ import annotations

import json
import tracemalloc

from zimport_widgets.prepare.samples import (
    SAMPLE_ROWS,
    estimate_rows_for_size,
    iter_sample_rows,
    sample_schema,
    write_sample_json,
)


def test_default_file_is_shaped_like_the_real_dataset(tmp_path):
    path = write_sample_json(tmp_path / "medium.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert list(doc) == ["rows"]
    rows = doc["rows"]
    assert len(rows) == SAMPLE_ROWS == 5979
    assert list(rows[0]) == ["id", "title", "title_vector", "link", "reading_time", "publication", "claps", "responses"]
    assert [r["id"] for r in rows] == list(range(5979))
    assert rows[0]["title"] == "The Reported Mortality Rate of Coronavirus Is Not Important"
    assert rows[2]["title"] == "How Can We Best Switch in Python?"
    assert all(len(r["title_vector"]) == 768 for r in rows[:50])
    assert all(isinstance(x, float) for x in rows[0]["title_vector"])
    assert max(len(r["title"].encode()) for r in rows) <= 512
    assert all(type(r[k]) is int for r in rows for k in ("reading_time", "claps", "responses"))
    # about the size of the real 60.4 MB file
    assert 45e6 < path.stat().st_size < 80e6
    assert not list(tmp_path.glob("*.part"))


def test_deterministic_and_seeded():
    a = list(iter_sample_rows(20, seed=3, dim=8))
    b = list(iter_sample_rows(20, seed=3, dim=8))
    c = list(iter_sample_rows(20, seed=4, dim=8))
    assert a == b
    assert a != c
    assert list(iter_sample_rows(300, dim=8))[:20] == list(iter_sample_rows(20, dim=8))


def test_rows_fit_the_sample_schema(tmp_path):
    schema = sample_schema(dim=8)
    assert schema["title_vector"].dim == 8
    for row in iter_sample_rows(100, dim=8):
        assert list(row) == schema.names
        assert len(row["title_vector"]) == 8
        for name in ("title", "link", "publication"):
            assert len(row[name].encode()) <= schema[name].max_length


def _peak_bytes_writing(path, n: int) -> int:
    tracemalloc.start()
    try:
        write_sample_json(path, n, dim=64)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_write_streams_in_flat_memory(tmp_path):
    small = _peak_bytes_writing(tmp_path / "small.json", 600)
    big = _peak_bytes_writing(tmp_path / "big.json", 4800)
    assert (tmp_path / "big.json").stat().st_size > 7 * (tmp_path / "small.json").stat().st_size
    assert big < small * 1.5 + 100_000, (small, big)


def test_estimate_rows_for_size(tmp_path):
    n = estimate_rows_for_size(2_000_000, dim=64)
    path = write_sample_json(tmp_path / "s.json", n, dim=64)
    assert 1_700_000 < path.stat().st_size < 2_300_000
