"""convert_json_to_parquet: the same checks as the NumPy path, Arrow types the importer reads, nothing half-written.

(That Milvus imports what it writes, and reads back every value equal, is tests/integration/test_real_milvus.py.)"""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from tests.support.milvus_corpus import SCHEMAS, rows_for, write_json
from zimport_widgets import check_import_source, convert_json_to_parquet
from zimport_widgets.errors import DataFileError
from zimport_widgets.prepare.rules import arrow_type_name, parquet_types


def test_writes_importer_types_and_checks_clean(tmp_path):
    schema = SCHEMAS["scalars"]
    src = write_json(tmp_path / "rows.json", rows_for("scalars", 5000))
    result = convert_json_to_parquet(src, tmp_path / "out", schema, progress=False, row_group_bytes=4096)
    assert result.path == tmp_path / "out" / "rows.parquet" and result.rows == 5000 and result.row_groups >= 2
    table = pq.read_table(result.path)
    assert table.column_names == [*schema.names, "$meta"]
    for fs in schema.fields:
        assert arrow_type_name(table.schema.field(fs.name).type) in parquet_types(fs)
    assert table.column("vec")[3].as_py() == pytest.approx(rows_for("scalars", 5000)[3]["vec"], rel=1e-6)
    report = check_import_source(result.path, schema)
    assert report.ok and report.row_count == 5000 and report.kind == "parquet", report


def test_a_bad_value_names_row_and_field_and_leaves_nothing(tmp_path):
    rows = rows_for("scalars", 300)
    rows[217]["i16"] = 70000
    src = write_json(tmp_path / "rows.json", rows)
    with pytest.raises(DataFileError) as info:
        convert_json_to_parquet(src, tmp_path / "out" / "x.parquet", SCHEMAS["scalars"], progress=False)
    assert (info.value.row, info.value.field) == (217, "i16") and "out of range" in str(info.value)
    assert not list((tmp_path / "out").iterdir())  # no file, no temporary file


def test_refuses_an_existing_file(tmp_path):
    src = write_json(tmp_path / "rows.json", rows_for("strkey", 3))
    (tmp_path / "taken.parquet").write_bytes(b"x")
    with pytest.raises(DataFileError, match="exists already"):
        convert_json_to_parquet(src, tmp_path / "taken.parquet", SCHEMAS["strkey"], progress=False)
    assert (tmp_path / "taken.parquet").read_bytes() == b"x"
