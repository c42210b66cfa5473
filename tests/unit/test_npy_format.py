"""Every .npy header the project writes is byte-identical to numpy.save's; milvus_view reads as Milvus does."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from zimport_widgets.prepare.convert import convert_json_to_numpy
from zimport_widgets.prepare.npy_format import header_bytes, milvus_view
from zimport_widgets.schema import CollectionSchema, DataType, FieldSchema

F = FieldSchema
D = DataType

#: every field type the converter writes into a .npy
ALL_TYPES = CollectionSchema(
    fields=(
        F("id", D.INT64, is_primary=True),
        F("b", D.BOOL),
        F("i8", D.INT8),
        F("i16", D.INT16),
        F("i32", D.INT32),
        F("f", D.FLOAT),
        F("d", D.DOUBLE),
        F("s", D.VARCHAR, max_length=64),
        F("j", D.JSON),
        F("fv", D.FLOAT_VECTOR, dim=5),
        F("bv", D.BINARY_VECTOR, dim=16),
        F("hv", D.FLOAT16_VECTOR, dim=3),
        F("bfv", D.BFLOAT16_VECTOR, dim=3),
        F("iv", D.INT8_VECTOR, dim=4),
    ),
    enable_dynamic_field=True,
)


def _row(i: int) -> dict:
    return {
        "id": i, "b": i % 2 == 0, "i8": i % 100 - 50, "i16": i * 3, "i32": i * 1000, "f": i / 3, "d": i / 7,
        "s": "héllo wörld 日本" * (i % 3), "j": {"k": i, "l": [1, "x"]}, "fv": [i, 0.5, -1, 2, 3],
        "bv": [i % 256, 255], "hv": [0.5, 1, i], "bfv": [1.5, -2, i], "iv": [1, -2, 3, i % 100], "extra": i,
    }  # fmt: skip


def _saved(path) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.load(path))
    return buf.getvalue()


@pytest.mark.parametrize("rows", [1, 7, 1234])
def test_converter_headers_are_numpy_save_bytes(tmp_path, rows):
    src = tmp_path / "src.json"
    src.write_text(json.dumps({"rows": [_row(i) for i in range(rows)]}))
    res = convert_json_to_numpy(src, tmp_path / "out", ALL_TYPES, progress=False, workers=1)
    names = sorted(f.name for f in res.files)
    assert names == sorted([f"{fs.name}.npy" for fs in ALL_TYPES.fields] + ["$meta.npy"])
    for info in res.files:
        assert info.path.read_bytes() == _saved(info.path), f"{info.name}: not what numpy.save writes"
        assert milvus_view(info.path).shape == np.load(info.path).shape


def test_split_path_headers(tmp_path, monkeypatch):
    from zimport_widgets.prepare import split as convert_split

    joined = []
    real_join = convert_split._join_parts
    monkeypatch.setattr(convert_split, "_join_parts", lambda *a: joined.append(1) or real_join(*a))
    src = tmp_path / "src.json"
    src.write_text(json.dumps({"rows": [_row(i) for i in range(3000)]}))
    res = convert_json_to_numpy(src, tmp_path / "out", ALL_TYPES, progress=False, workers=3)
    assert joined and res.rows == 3000, "the parallel split/join path should have run"
    for info in res.files:
        assert info.path.read_bytes() == _saved(info.path), info.name


@pytest.mark.parametrize(
    ("dtype", "shape"),
    [("<i8", (0,)), ("<f4", (5979, 768)), ("<U300", (10**12,)), ("|u1", (3, 96)), (">i4", (2,)), ("|S5", (1,))],
)
def test_header_bytes_match_numpy_save(dtype, shape):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
    arr_header = buf.getvalue()
    assert header_bytes(np.dtype(dtype), shape) == arr_header
    if np.prod(shape) < 10**7:
        saved = io.BytesIO()
        np.save(saved, np.zeros(shape, dtype=dtype))
        assert saved.getvalue().startswith(header_bytes(np.dtype(dtype), shape))
    assert len(header_bytes(np.dtype(dtype), (0, *shape[1:]))) == len(arr_header)  # row count never moves data


def test_header_2_0_when_it_needs_it():
    wide = np.dtype([(f"field_{i:05d}", "<f8") for i in range(3000)])  # a header over 64 KiB
    saved = io.BytesIO()
    with pytest.warns(UserWarning):
        np.save(saved, np.zeros((2,), dtype=wide))
    header = header_bytes(wide, (2,))
    assert header[6:8] == b"\x02\x00" and saved.getvalue().startswith(header)


def test_milvus_view_reads_hand_written_layouts_as_milvus_does(tmp_path):
    def write(text: bytes):
        text += b" " * (-(len(text) + 11) % 64) + b"\n"
        p = tmp_path / "a.npy"
        p.write_bytes(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text)
        return milvus_view(p)

    assert write(b"{'descr': '<f4', 'fortran_order': False, 'shape': (5979, 768), }").shape == (5979, 768)
    assert write(b"{'descr': '<f4', 'fortran_order': False, 'shape': (5979, 768)}").shape == (5979, 7)
    assert write(b"{'descr': '<i8', 'fortran_order': False, 'shape': (100,)}").shape == (10,)
    assert write(b"{'shape': (3,), 'descr': '<i8', 'fortran_order': False}").error is not None
    assert write(b"{'descr':'<i8','fortran_order':False,'shape':(3,)}").error == "invalid dictionary format"
    p = tmp_path / "v3.npy"
    with open(p, "wb") as fh:
        np.lib.format.write_array(fh, np.arange(3), version=(3, 0))
    assert "major version" in (milvus_view(p).error or "")


def test_a_header_longer_than_reserved_moves_the_data(tmp_path, monkeypatch):
    # NumPy's growth padding keeps the length fixed; should it not, the writer moves the data behind the real header
    import zimport_widgets.prepare.columns as convert

    real = convert.header_bytes
    monkeypatch.setattr(convert, "header_bytes", lambda d, s: real(d, s)[:-64] if s and s[0] == 0 else real(d, s))
    src = tmp_path / "src.json"
    src.write_text(json.dumps({"rows": [_row(i) for i in range(50)]}))
    res = convert_json_to_numpy(src, tmp_path / "out", ALL_TYPES, progress=False, workers=1)
    for info in res.files:
        assert info.path.read_bytes() == _saved(info.path), info.name
