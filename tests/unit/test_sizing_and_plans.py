"""Output cut to the per-file limit, and import plans: pieces, batches within the limits, v1 vs v2 requests."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from zimport_widgets import ImportLimits, ImportPiece, ImportPlan, convert
from zimport_widgets.errors import ConfigError, DataFileError
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema
from zimport_widgets.storage.results import UploadedObject, UploadResult

SCHEMA = CollectionSchema(
    (
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("vec", DataType.FLOAT_VECTOR, dim=64),
        FieldSchema("t", DataType.VARCHAR, max_length=64),
    )
)


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"id": range(n), "vec": [[float(i)] * 64 for i in range(n)], "t": [f"r{i}" for i in range(n)]})


@pytest.mark.parametrize("source", ["frame", "json"])
def test_parquet_output_is_cut_into_files_within_the_limit(tmp_path, source):
    src = _frame(6000)
    if source == "json":
        src.to_json(tmp_path / "rows.json", orient="records")
        (tmp_path / "rows.json").write_text('{"rows": ' + (tmp_path / "rows.json").read_text() + "}")
        src = tmp_path / "rows.json"
    limit = 400 << 10
    out = tmp_path / "out"
    result = convert(src, out, SCHEMA, progress=False, row_group_bytes=64 << 10, max_file_bytes=limit)
    assert len(result.files) >= 4 and result.path == result.files[0]
    assert [f.name for f in result.files][:2] == [f"{result.files[0].stem[:-6]}-00001.parquet",
                                                  f"{result.files[0].stem[:-6]}-00002.parquet"]  # fmt: skip
    assert all(f.stat().st_size <= limit for f in result.files)
    assert sum(result.rows_per_file) == result.rows == 6000
    ids = [i for f in result.files for i in pq.read_table(f).column("id").to_pylist()]
    assert ids == list(range(6000))  # every row once, in order
    assert sorted(p.name for p in out.iterdir()) == sorted(f.name for f in result.files)  # no temporary files


def test_a_failed_cut_conversion_leaves_no_file(tmp_path):
    frame = _frame(6000)
    frame.loc[5500, "t"] = "x" * 100
    with pytest.raises(DataFileError):
        convert(frame, tmp_path / "out", SCHEMA, progress=False, row_group_bytes=64 << 10, max_file_bytes=400 << 10)
    assert not list((tmp_path / "out").iterdir())


def _upload(keys: dict[str, int]) -> UploadResult:
    objects = tuple(UploadedObject(key=k, size=n, crc64=0) for k, n in keys.items())
    return UploadResult(object_url="https://b.oss-cn-hangzhou.aliyuncs.com/p/", bucket="b",
                        endpoint="https://oss-cn-hangzhou.aliyuncs.com", prefix="p", objects=objects,
                        total_bytes=sum(keys.values()), bytes_uploaded=0, elapsed=0.0, is_folder=True,
                        url_key="p/")  # fmt: skip


def test_plan_of_parquet_files_and_of_numpy_folders():
    plan = ImportPlan.from_upload(_upload({"p/a-00001.parquet": 10, "p/a-00002.parquet": 20, "p/readme.txt": 1}))
    assert [p.url for p in plan.pieces] == ["https://b.oss-cn-hangzhou.aliyuncs.com/p/a-00001.parquet",
                                            "https://b.oss-cn-hangzhou.aliyuncs.com/p/a-00002.parquet"]  # fmt: skip
    assert plan.requests(takes_lists=True) == [plan.pieces] and len(plan.requests(takes_lists=False)) == 2
    npy = ImportPlan.from_upload(_upload({"p/1/id.npy": 5, "p/1/vec.npy": 5, "p/2/id.npy": 5, "p/2/vec.npy": 5}))
    assert [(p.url.rsplit("/p/", 1)[1], p.keys, p.bytes) for p in npy.pieces] == [
        ("1/", ("p/1/id.npy", "p/1/vec.npy"), 10), ("2/", ("p/2/id.npy", "p/2/vec.npy"), 10)]  # fmt: skip
    assert "2 numpy piece(s)" in repr(npy)


def test_plan_batches_stay_within_files_and_bytes_per_request():
    pieces = [ImportPiece(f"u{i}", (f"k{i}",), 10, "parquet") for i in range(7)]
    plan = ImportPlan.from_pieces(pieces, limits=ImportLimits(max_files=3))
    assert [len(b) for b in plan.batches] == [3, 3, 1]
    plan = ImportPlan.from_pieces(pieces, limits=ImportLimits(max_import_bytes=25))
    assert [len(b) for b in plan.batches] == [2, 2, 2, 1]


def test_plan_refuses_what_no_request_can_take():
    with pytest.raises(ConfigError, match="at most 10 B per file"):
        ImportPlan.from_pieces([ImportPiece("u", ("k",), 11, "parquet")], limits=ImportLimits(max_file_bytes=10))
    with pytest.raises(ConfigError, match="source kinds are mixed"):
        ImportPlan.from_pieces([ImportPiece("u", ("k",), 1, "parquet"), ImportPiece("v", ("j",), 1, "json")])
    with pytest.raises(ConfigError, match="nothing to import"):
        ImportPlan.from_upload(_upload({"p/readme.txt": 1}))


def test_numpy_output_is_cut_into_subfolders_that_check_and_read_back(tmp_path):
    from zimport_widgets import check_import_source

    limit = 400 << 10
    result = convert(_frame(6000), tmp_path / "npy", SCHEMA, to="numpy", progress=False, max_file_bytes=limit)
    subs = sorted(p.name for p in (tmp_path / "npy").iterdir())
    assert len(subs) >= 4 and subs[:2] == ["1", "2"]
    for sub in subs:
        folder = tmp_path / "npy" / sub
        assert sorted(p.name for p in folder.iterdir()) == ["id.npy", "t.npy", "vec.npy"]
        assert sum(p.stat().st_size for p in folder.iterdir()) <= limit
    assert sum(f.shape[0] for f in result.files if f.name == "id.npy") == 6000
    report = check_import_source(tmp_path / "npy", SCHEMA)
    assert report.ok and report.row_count == 6000, report
    back = convert(tmp_path / "npy", tmp_path / "back.parquet", SCHEMA, progress=False)  # sub-folders in order
    assert pq.read_table(back.path).column("id").to_pylist() == list(range(6000))
    plan = ImportPlan.from_pieces(
        [
            ImportPiece(f"u/{s}/", (), sum(p.stat().st_size for p in (tmp_path / "npy" / s).iterdir()), "numpy")
            for s in subs
        ]
    )
    assert len(plan.pieces) == len(subs) and len(plan.batches) == 1


def test_json_output_holds_the_checked_rows_and_is_cut_within_the_limit(tmp_path):
    import json

    from zimport_widgets import check_import_source

    frame = _frame(3000)
    one = convert(frame, tmp_path / "one.json", SCHEMA, to="json", progress=False)
    assert one.format == "json" and "(json, " in repr(one)
    rows = json.loads(one.path.read_text())["rows"]
    assert len(rows) == 3000 and rows[7] == {"id": 7, "vec": [7.0] * 64, "t": "r7"}
    assert check_import_source(one.path, SCHEMA).ok
    cut = convert(frame, tmp_path / "cut", SCHEMA, to="json", progress=False, max_file_bytes=200 << 10)
    assert len(cut.files) >= 3 and all(f.stat().st_size <= 200 << 10 for f in cut.files)
    ids = [r["id"] for f in cut.files for r in json.loads(f.read_text())["rows"]]
    assert ids == list(range(3000))
    plan = ImportPlan.from_pieces([ImportPiece(str(f), (f.name,), f.stat().st_size, "json") for f in cut.files])
    assert len(plan.requests(takes_lists=False)) == len(cut.files)  # a JSON import takes one file
