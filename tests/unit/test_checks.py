"""check_import_source: every layout, naming, header, row-count and value rule; reports and reprs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zimport_widgets import CheckItem, CheckReport, ImportLimits, check_import_source
from zimport_widgets.errors import DataFileError, SourceInvalidError
from zimport_widgets.prepare.checks_numpy import numpy_file_sets
from zimport_widgets.prepare.convert import convert_json_to_numpy
from zimport_widgets.prepare.npy_format import read_npy_header
from zimport_widgets.prepare.rules import npy_dtype_for
from zimport_widgets.prepare.samples import iter_sample_rows, sample_schema, write_sample_json
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

F = FieldSchema
D = DataType


@pytest.fixture(scope="module")
def sample_json(tmp_path_factory) -> Path:
    return write_sample_json(tmp_path_factory.mktemp("src") / "medium.json", 40, dim=16)


@pytest.fixture(scope="module")
def schema() -> CollectionSchema:
    return sample_schema(dim=16)


def _recipe(src: Path, out: Path, **overrides) -> Path:
    """The official v1 recipe: json.load, then numpy.array per key (plus optional dtype overrides)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(src) as fh:
        dataset = json.load(fh)
    for key in dataset["rows"][0]:
        arr = np.array([x[key] for x in dataset["rows"]])
        if key in overrides:
            arr = arr.astype(overrides[key])
        np.save(out / f"{key}.npy", arr)
    return out


def _only_error(report: CheckReport) -> CheckItem:
    assert len(report.errors) == 1, report
    return report.errors[0]


# ---------------------------------------------------------------------------------------------- valid sources
def test_converter_output_passes(tmp_path, sample_json, schema):
    res = convert_json_to_numpy(sample_json, tmp_path / "np", schema, progress=False)
    report = check_import_source(res.out_dir, schema)
    assert report.ok and report.kind == "numpy" and report.row_count == 40
    assert len(report.files) == 8 and not report.warnings
    report.raise_for_errors()
    # the same files passed one by one
    assert check_import_source(sorted(res.out_dir.glob("*.npy")), schema).ok


def test_official_recipe_float64_vectors_pass(tmp_path, sample_json, schema):
    out = _recipe(sample_json, tmp_path / "recipe")
    assert np.load(out / "title_vector.npy").dtype == np.float64
    report = check_import_source(out, schema)
    assert report.ok, report


def test_official_recipe_int32_column_fails_naming_field_and_dtypes(tmp_path, sample_json, schema):
    # what the recipe writes on Windows with NumPy < 2 (platform int = int32)
    out = _recipe(sample_json, tmp_path / "recipe", claps=np.int32)
    err = _only_error(check_import_source(out, schema))
    assert err.field == "claps" and err.file.endswith("claps.npy")
    assert "int32" in err.message and "int64" in err.message and "Int64" in err.message


def test_json_source_valid(sample_json, schema):
    report = check_import_source(sample_json, schema)
    assert report.ok and report.kind == "json" and report.row_count == 40
    no_schema = check_import_source(sample_json)
    assert no_schema.ok and no_schema.row_count == 40 and "no schema" in no_schema.summary


def test_json_list_root_is_valid(tmp_path, schema):
    rows = list(iter_sample_rows(3, dim=16))
    (tmp_path / "list.json").write_text(json.dumps(rows))
    assert check_import_source(tmp_path / "list.json", schema).ok


# ---------------------------------------------------------------------------------------------- layout rules
def test_one_json_file_per_import(tmp_path, sample_json):
    d = tmp_path / "two"
    d.mkdir()
    for name in ("a.json", "b.json"):
        (d / name).write_bytes(sample_json.read_bytes())
    assert "exactly one file" in _only_error(check_import_source(d)).message


def test_json_and_numpy_never_mixed(tmp_path, sample_json, schema):
    res = convert_json_to_numpy(sample_json, tmp_path / "np", schema, progress=False)
    (res.out_dir / "copy.json").write_bytes(sample_json.read_bytes())
    report = check_import_source(res.out_dir, schema)
    assert report.kind == "mixed" and "mixed" in _only_error(report).message


def test_unsupported_files_are_ignored_with_warning(tmp_path, sample_json, schema):
    res = convert_json_to_numpy(sample_json, tmp_path / "np", schema, progress=False)
    (res.out_dir / "README.txt").write_text("notes")
    report = check_import_source(res.out_dir, schema)
    assert report.ok and len(report.warnings) == 1
    w = report.warnings[0]
    assert w.file.endswith("README.txt") and "ignored" in w.message
    assert [p.name for p in report.ignored] == ["README.txt"]


def test_two_levels_of_subfolders_allowed_three_not(tmp_path, sample_json, schema):
    root = tmp_path / "root"
    convert_json_to_numpy(sample_json, root / "a" / "1", schema, progress=False)
    ok = check_import_source(root, schema)
    assert ok.ok and ok.row_count == 40
    convert_json_to_numpy(sample_json, root / "b" / "1" / "deep", schema, progress=False)
    err = _only_error(check_import_source(root, schema))
    assert "levels of sub-folders" in err.message and err.file.endswith("deep")


def test_subfolders_are_separate_file_sets(tmp_path, sample_json, schema):
    root = tmp_path / "root"
    for part in ("1", "2"):
        convert_json_to_numpy(sample_json, root / part, schema, progress=False)
    report = check_import_source(root, schema)
    assert report.ok and report.row_count == 80
    sets = numpy_file_sets(root)
    assert sorted(p.name for p in sets) == ["1", "2"]
    assert sorted(sets[root / "1"]) == sorted(schema.names)
    # the same files listed one by one (as a downloaded object listing) group the same way
    listed = sorted(root.rglob("*.npy"))
    assert numpy_file_sets(listed) == sets
    assert check_import_source(listed, schema).row_count == 80


def test_size_limits_are_parameters(tmp_path, sample_json, schema):
    root = tmp_path / "root"
    convert_json_to_numpy(sample_json, root / "1", schema, progress=False)
    size = sum(p.stat().st_size for p in (root / "1").iterdir())
    sub = check_import_source(root, schema, limits=ImportLimits(max_subfolder_bytes=size - 1))
    assert "at most" in _only_error(sub).message and _only_error(sub).file.endswith("1")
    total = check_import_source(root, schema, limits=ImportLimits(max_total_bytes=size - 1))
    assert "per import" in _only_error(total).message
    js = check_import_source(sample_json, schema, limits=ImportLimits(max_file_bytes=100))
    assert "per JSON file" in _only_error(js).message


def test_too_many_subfolders(tmp_path, sample_json, schema):
    root = tmp_path / "root"
    for part in ("1", "2", "3"):
        convert_json_to_numpy(sample_json, root / part, schema, progress=False)
    report = check_import_source(root, schema, limits=ImportLimits(max_subfolders=2))
    assert "3 sub-folders" in _only_error(report).message


def test_missing_path_and_empty_folder(tmp_path):
    assert "no such file" in _only_error(check_import_source(tmp_path / "nope")).message
    (tmp_path / "empty").mkdir()
    message = _only_error(check_import_source(tmp_path / "empty")).message
    assert "no .json, .npy, .parquet, .jsonl, .ndjson or .csv file" in message


# ---------------------------------------------------------------------------------------------- naming rules
@pytest.fixture()
def np_dir(tmp_path, sample_json, schema) -> Path:
    return convert_json_to_numpy(sample_json, tmp_path / "np", schema, progress=False).out_dir


def test_missing_field_file(np_dir, schema):
    (np_dir / "claps.npy").unlink()
    err = _only_error(check_import_source(np_dir, schema))
    assert err.field == "claps" and "no file for field" in err.message


def test_extra_npy_is_error_47036(np_dir, schema):
    np.save(np_dir / "Claps2.npy", np.zeros(40, dtype=np.int64))
    err = _only_error(check_import_source(np_dir, schema))
    assert err.field == "Claps2" and "47036" in err.message


def test_case_mismatch_names_are_flagged(np_dir, schema):
    (np_dir / "claps.npy").rename(np_dir / "Claps.npy")
    report = check_import_source(np_dir, schema)
    texts = [str(e) for e in report.errors]
    assert any("no file for field 'claps'" in t for t in texts)
    assert any("did you mean claps.npy" in t for t in texts)


def test_auto_id_pk_file_is_error(np_dir):
    auto = CollectionSchema(
        fields=tuple(
            FieldSchema(
                f.name, f.dtype, is_primary=f.is_primary, auto_id=f.is_primary, dim=f.dim, max_length=f.max_length
            )
            for f in sample_schema(dim=16).fields
        )
    )
    err = _only_error(check_import_source(np_dir, auto))
    assert err.field == "id" and "auto-generated" in err.message
    (np_dir / "id.npy").unlink()
    assert check_import_source(np_dir, auto).ok


def test_meta_optional_with_dynamic_field_error_without(np_dir, schema):
    dynamic = CollectionSchema(fields=schema.fields, enable_dynamic_field=True)
    assert check_import_source(np_dir, dynamic).ok
    np.save(np_dir / "$meta.npy", np.array([json.dumps({"k": i}) for i in range(40)]))
    assert check_import_source(np_dir, dynamic).ok
    err = _only_error(check_import_source(np_dir, schema))
    assert err.field == "$meta" and "dynamic field is off" in err.message


def test_meta_values_must_be_objects(np_dir, schema):
    dynamic = CollectionSchema(fields=schema.fields, enable_dynamic_field=True)
    np.save(np_dir / "$meta.npy", np.array(["{}"] * 39 + ["[1]"]))
    err = _only_error(check_import_source(np_dir, dynamic))
    assert err.field == "$meta" and "row 39" in err.message


@pytest.mark.parametrize(
    "fs",
    [F("tags", D.ARRAY, element_type=D.INT64), F("sp", D.SPARSE_FLOAT_VECTOR), F("n", D.INT64, nullable=True)],
)
def test_fields_numpy_cannot_carry(np_dir, schema, fs):
    bigger = CollectionSchema(fields=(*schema.fields, fs))
    err = _only_error(check_import_source(np_dir, bigger))
    assert err.field == fs.name and "NumPy import cannot carry" in err.message and "JSON" in err.message


# ---------------------------------------------------------------------------------------------- headers
@pytest.mark.parametrize(
    ("field", "array", "words"),
    [
        ("id", np.arange(40, dtype=np.int32), ["int32", "int64"]),
        ("id", np.arange(40, dtype=np.float64), ["float64", "int64"]),
        ("title", np.arange(40, dtype=np.int64), ["int64", "string"]),
        ("title_vector", np.zeros((40, 16), dtype=np.float16), ["float16", "float32 or float64"]),
        ("title_vector", np.zeros((40, 8), dtype=np.float32), ["8 values per row", "expected 16"]),
        ("title_vector", np.zeros(40, dtype=np.float32), ["1 dimension", "2-D"]),
        ("claps", np.zeros((40, 2), dtype=np.int64), ["2 dimension", "1-D"]),
    ],
)
def test_header_dtype_and_shape(np_dir, schema, field, array, words):
    np.save(np_dir / f"{field}.npy", array)
    err = _only_error(check_import_source(np_dir, schema))
    assert err.field == field and err.file.endswith(f"{field}.npy")
    for w in words:
        assert w in err.message, (w, err.message)


def test_bytes_strings_and_big_endian_ints_accepted(np_dir, schema):
    np.save(np_dir / "title.npy", np.array([b"abc"] * 40))
    np.save(np_dir / "claps.npy", np.arange(40, dtype=">i8"))
    assert check_import_source(np_dir, schema).ok


def test_exact_types_for_other_field_kinds(tmp_path):
    schema = CollectionSchema(
        fields=(
            F("id", D.VARCHAR, is_primary=True, max_length=8),
            F("f", D.FLOAT),
            F("b", D.BOOL),
            F("bv", D.BINARY_VECTOR, dim=16),
            F("hv", D.FLOAT16_VECTOR, dim=4),
            F("j", D.JSON),
        )
    )
    d = tmp_path / "np"
    d.mkdir()
    good = {
        "id": np.array(["a", "b"]),
        "f": np.zeros(2, np.float32),
        "b": np.array([True, False]),
        "bv": np.zeros((2, 2), np.uint8),
        "hv": np.zeros((2, 8), np.uint8),
        "j": np.array(['{"a": 1}', "[2]"]),
    }
    for k, v in good.items():
        np.save(d / f"{k}.npy", v)
    assert check_import_source(d, schema).ok
    for k, bad in {"f": np.zeros(2), "b": np.zeros(2, np.int8), "bv": np.zeros((2, 16), np.uint8),
                   "hv": np.zeros((2, 4), np.float16)}.items():  # fmt: skip
        np.save(d / f"{k}.npy", bad)
        assert _only_error(check_import_source(d, schema)).field == k
        np.save(d / f"{k}.npy", good[k])


def test_object_dtype_rejected(np_dir, schema):
    np.save(np_dir / "title.npy", np.array(["a", None] * 20, dtype=object), allow_pickle=True)
    err = _only_error(check_import_source(np_dir, schema))
    assert err.field == "title" and "'|O' is not supported" in err.message


def test_row_counts_must_match(np_dir, schema):
    np.save(np_dir / "claps.npy", np.arange(39, dtype=np.int64))
    err = _only_error(check_import_source(np_dir, schema))
    assert "row counts differ" in err.message and "claps: 39" in err.message and "id: 40" in err.message


def test_truncated_npy_and_garbage(np_dir, schema):
    data = (np_dir / "title_vector.npy").read_bytes()
    (np_dir / "title_vector.npy").write_bytes(data[:-100])
    err = _only_error(check_import_source(np_dir, schema))
    assert err.field == "title_vector" and "truncated" in err.message
    (np_dir / "title_vector.npy").write_bytes(b"not numpy at all")
    err = _only_error(check_import_source(np_dir, schema))
    assert err.field == "title_vector" and "not a NumPy" in err.message


def test_npy_format_version_3_rejected(np_dir, schema):
    arr = np.arange(40, dtype=np.int64)
    with open(np_dir / "claps.npy", "wb") as fh:
        np.lib.format.write_array(fh, arr, version=(3, 0))
    err = _only_error(check_import_source(np_dir, schema))
    assert "version 3.0" in err.message


def test_fortran_order_rejected(np_dir, schema):
    vec = np.asfortranarray(np.zeros((40, 16), np.float32))
    np.save(np_dir / "title_vector.npy", vec)
    assert read_npy_header(np_dir / "title_vector.npy").fortran_order
    assert "Fortran" in _only_error(check_import_source(np_dir, schema)).message


def test_read_npy_header_reads_no_data(np_dir):
    h = read_npy_header(np_dir / "title_vector.npy")
    assert h.dtype == np.float32 and h.shape == (40, 16) and h.rows == 40
    assert h.data_offset + h.data_bytes == h.file_bytes
    with pytest.raises(DataFileError):
        (np_dir / "bad.npy").write_bytes(b"\x93NUMPY")
        read_npy_header(np_dir / "bad.npy")


# ---------------------------------------------------------------------------------------------- values
def test_nan_and_inf_in_vectors(np_dir, schema):
    vec = np.load(np_dir / "title_vector.npy")
    vec[33, 5] = np.nan
    np.save(np_dir / "title_vector.npy", vec)
    err = _only_error(check_import_source(np_dir, schema))
    assert err.field == "title_vector" and "row 33" in err.message and "NaN or Inf" in err.message
    vec[33, 5] = np.inf
    np.save(np_dir / "title_vector.npy", vec.astype(np.float64))
    assert "row 33" in _only_error(check_import_source(np_dir, schema)).message
    off = check_import_source(np_dir, schema, limits=ImportLimits(check_values=False))
    assert off.ok


def test_varchar_longer_than_max_length(np_dir):
    schema = sample_schema(dim=16)
    short = CollectionSchema(
        fields=tuple(
            FieldSchema(
                f.name,
                f.dtype,
                is_primary=f.is_primary,
                dim=f.dim,
                max_length=20 if f.name == "title" else f.max_length,
            )
            for f in schema.fields
        )
    )
    titles = np.load(np_dir / "title.npy")
    first_long = next(i for i, t in enumerate(titles.tolist()) if len(t.encode()) > 20)
    err = check_import_source(np_dir, short).errors[0]
    assert err.field == "title" and f"row {first_long}" in err.message and "max_length 20" in err.message


def test_json_field_values_must_parse(tmp_path):
    schema = CollectionSchema(fields=(F("id", D.INT64, is_primary=True), F("j", D.JSON)))
    np.save(tmp_path / "id.npy", np.arange(3, dtype=np.int64))
    np.save(tmp_path / "j.npy", np.array(['{"a": 1}', "{oops", "2"]))
    err = _only_error(check_import_source(tmp_path, schema))
    assert err.field == "j" and "row 1" in err.message and "not valid JSON" in err.message


# ---------------------------------------------------------------------------------------------- JSON values
def test_json_source_bad_value_named(tmp_path, schema):
    rows = list(iter_sample_rows(5, dim=16))
    rows[3]["title_vector"] = rows[3]["title_vector"][:10]
    (tmp_path / "bad.json").write_text(json.dumps({"rows": rows}))
    err = _only_error(check_import_source(tmp_path / "bad.json", schema))
    assert err.file.endswith("bad.json") and err.field == "title_vector" and err.message.startswith("row 3:")
    assert "10 values" in err.message


def test_json_source_rules_for_json_import(tmp_path):
    # Array and nullable fields are fine in JSON import; unknown keys are not
    schema = CollectionSchema(
        fields=(
            F("id", D.INT64, is_primary=True),
            F("tags", D.ARRAY, element_type=D.INT64),
            F("n", D.INT64, nullable=True),
        )
    )
    rows = [{"id": 1, "tags": [1, 2], "n": None}, {"id": 2, "tags": []}]
    (tmp_path / "a.json").write_text(json.dumps({"rows": rows}))
    assert check_import_source(tmp_path / "a.json", schema).ok
    (tmp_path / "b.json").write_text(json.dumps([{"id": 1, "tags": [], "other": 1}]))
    err = _only_error(check_import_source(tmp_path / "b.json", schema))
    assert err.field == "other" and "not defined in schema" in err.message


def test_json_source_malformed(tmp_path):
    (tmp_path / "m.json").write_text('{"rows": [{"id": 1}, {"id": 2,]}')
    err = _only_error(check_import_source(tmp_path / "m.json"))
    assert err.message.startswith("row 1:") and "malformed" in err.message


# ---------------------------------------------------------------------------------------------- report
def test_report_reprs_and_raise(np_dir, schema):
    (np_dir / "claps.npy").unlink()
    (np_dir / "notes.md").write_text("x")
    report = check_import_source(np_dir, schema)
    assert not report.ok and len(report.errors) == 1 and len(report.warnings) == 1
    text = repr(report)
    assert "INVALID" in text and "error:" in text and "warning:" in text and "claps" in text
    page = report._repr_html_()
    assert "<table" in page and "claps" in page and "notes.md" in page
    d = report.to_dict()
    assert d["ok"] is False and d["errors"][0]["field"] == "claps" and json.dumps(d)
    with pytest.raises(SourceInvalidError) as info:
        report.raise_for_errors()
    assert info.value.report is report and "claps" in str(info.value)
    assert str(CheckItem("error", "boom", "f.npy", "x")) == "f.npy, field 'x': boom"


def test_value_checks_run_beside_other_errors(np_dir, schema):
    (np_dir / "claps.npy").unlink()
    vec = np.load(np_dir / "title_vector.npy")
    vec[7, 0] = np.nan
    np.save(np_dir / "title_vector.npy", vec)
    report = check_import_source(np_dir, schema)
    assert sorted(e.field for e in report.errors) == ["claps", "title_vector"]


# ---------------------------------------------------------------------------------------------- as the real importer
def test_fortran_flag_on_a_1d_array_is_fine(np_dir, schema):
    with open(np_dir / "claps.npy", "wb") as fh:  # 1-D: the same bytes in either order
        np.lib.format.write_array_header_1_0(fh, {"descr": "<i8", "fortran_order": True, "shape": (40,)})
        fh.write(np.arange(40, dtype=np.int64).tobytes())
    assert read_npy_header(np_dir / "claps.npy").fortran_order
    report = check_import_source(np_dir, schema)
    assert report.ok, report


def test_hand_written_header_milvus_misreads_is_an_error(np_dir, schema):
    # NumPy reads "(40, 16)}" fine; Milvus's npyio cuts the shape by position and reads a 1-D (40,)
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (40, 16)}"
    header += b" " * (117 - len(header)) + b"\n"
    data = np.zeros((40, 16), np.float32).tobytes()
    (np_dir / "title_vector.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data)
    assert np.load(np_dir / "title_vector.npy").shape == (40, 16)  # NumPy is forgiving
    err = _only_error(check_import_source(np_dir, schema))
    assert err.field == "title_vector" and "numpy.save" in err.message
    assert "shape (40,)" in err.message and "(40, 16)" in err.message


def test_unsupported_file_named_explicitly_is_an_error(tmp_path, sample_json, schema):
    res = convert_json_to_numpy(sample_json, tmp_path / "np", schema, progress=False)
    notes = res.out_dir / "README.txt"
    notes.write_text("notes")
    files = sorted(res.out_dir.iterdir())
    err = _only_error(check_import_source(files, schema))
    assert err.file.endswith("README.txt") and "refuses" in err.message
    assert check_import_source(res.out_dir, schema).ok  # in a folder: ignored, a warning


@pytest.mark.parametrize("value", [[1, 2], 3, 2.5, True])
def test_json_field_value_must_be_object_or_string(tmp_path, value):
    schema = CollectionSchema((F("id", D.INT64, is_primary=True), F("j", D.JSON), F("v", D.FLOAT_VECTOR, dim=2)))
    src = tmp_path / "rows.json"
    rows = [{"id": 0, "j": {"a": 1}, "v": [0, 1]}, {"id": 1, "j": json.dumps(value), "v": [0, 1]}]
    src.write_text(json.dumps({"rows": [*rows, {"id": 2, "j": value, "v": [0, 1]}]}))
    err = _only_error(check_import_source(src, schema))
    assert "row 2" in err.message and err.field == "j" and "a JSON object, or a string" in err.message


def test_zero_rows_is_a_warning(tmp_path, schema):
    src = tmp_path / "empty.json"
    src.write_text('{"rows": []}')
    report = check_import_source(src, schema)
    assert report.ok and report.row_count == 0 and "no rows" in report.warnings[0].message
    folder = tmp_path / "np"
    folder.mkdir()
    for fs in schema.input_fields:
        dtype, row_shape = npy_dtype_for(fs)
        np.save(folder / f"{fs.name}.npy", np.zeros((0, *row_shape), dtype=dtype))
    report = check_import_source(folder, schema)
    assert report.ok and report.row_count == 0 and "no rows" in report.warnings[0].message


def test_parquet_sources_are_recognised_and_checked(tmp_path):
    from tests.support.milvus_corpus import SCHEMAS, rows_for, write_parquet

    schema = SCHEMAS["scalars"]
    good = write_parquet(tmp_path / "good" / "rows.parquet", rows_for("scalars", 30), row_group_size=8)
    report = check_import_source(good.parent, schema)
    assert report.ok and report.kind == "parquet" and report.row_count == 30, report
    # VarChar counted in UTF-8 bytes, with the row numbered across row groups
    too_long = {"text": lambda v: [("é" * 40) if i == 17 else x for i, x in enumerate(v)]}
    long = write_parquet(tmp_path / "long" / "rows.parquet", rows_for("scalars", 30), row_group_size=8, mutate=too_long)
    (err,) = check_import_source(long, schema).errors
    assert err.field == "text" and "row 17: string of 80 bytes is longer than max_length 64" in err.message
    # one kind per import
    (tmp_path / "good" / "more.json").write_text('{"rows": []}')
    mixed = check_import_source(tmp_path / "good", schema)
    assert not mixed.ok and "source kinds are mixed (1 json, 1 parquet)" in mixed.errors[0].message
