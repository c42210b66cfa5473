"""Benchmark: ``convert`` to Parquet and to NumPy vs the seed recipe, pymilvus LocalBulkWriter and pyarrow.

One run measures our converter and its baselines on the same inputs, so every ratio is against figures
taken minutes apart on the same machine:

1. JSON -> Parquet: ``convert(src, out, schema, to="parquet")`` vs (a) the seed recipe (``json.load`` the
   whole file, one ``numpy.save`` per key, as in ``benchmarks/convert.py``) and (b) pymilvus
   ``LocalBulkWriter`` (``json.load``, ``append_row`` per row, ``commit``; ``BulkFileType.PARQUET``).
2. JSON -> NumPy: ``convert(..., to="numpy")`` vs the same two baselines (``BulkFileType.NUMPY``).
   Each converter runs in its own child process; peak RSS is the child's (``os.wait4``) or the sampled
   sum over it and its workers, whichever is larger (helpers from ``benchmarks/convert.py``).
   Targets: ours >= 10x the recipe's and >= 5x LocalBulkWriter's throughput (at the large size);
   peak RSS <= 256 MiB at both sizes and flat across them (large / small <= 1.25).
3. DataFrame -> Parquet: ``convert(df, out, schema, to="parquet")`` vs
   ``pyarrow.parquet.write_table(pa.Table.from_pandas(df), path)`` (the physical floor), same process,
   best of 3 each. Target: time ours / time floor <= 1.5.

Inputs are sample-shaped (``zimport_widgets.prepare.samples``), written outside the repo (a temp folder).
Prints a table and one PASS/MISS line per target; the exit code is 0 either way (it is a report).
Usage: ``python benchmarks/formats.py [--size-mb 500] [--small-mb 125] [--df-rows N] [--repeat 1] [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from convert import RECIPE, best  # benchmarks/convert.py: the seed recipe, the child runner

OURS = """
import sys
from zimport_widgets import convert
from zimport_widgets.prepare.samples import sample_schema
convert(sys.argv[1], sys.argv[2], sample_schema(), to=sys.argv[3], progress=False)
"""

# pymilvus's own writer, used as its docs show: load the JSON, append every row, commit. The schema comes
# as JSON (argv[4]) so this child imports nothing of ours.
BULK_WRITER = """
import json, sys, warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pymilvus import CollectionSchema, DataType, FieldSchema
    from pymilvus.bulk_writer import BulkFileType, LocalBulkWriter
import logging  # the writer logs every flush at INFO on stderr: keep the report readable
for name in ("bulk_writer", "pymilvus.bulk_writer.local_bulk_writer", "pymilvus.bulk_writer.buffer"):
    logging.getLogger(name).setLevel(logging.WARNING)
src, out, kind, spec = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
fields = [FieldSchema(f["name"], getattr(DataType, f["dtype"]), **f["params"]) for f in spec["fields"]]
schema = CollectionSchema(fields, enable_dynamic_field=spec["dynamic"])
with open(src) as f:
    dataset = json.load(f)
with LocalBulkWriter(schema=schema, local_path=out, file_type=getattr(BulkFileType, kind)) as writer:
    for row in dataset["rows"]:
        writer.append_row(row)
    writer.commit()
    batches = writer.batch_files
    written = writer.total_row_count
# a failed flush is only logged by the writer's thread: make it fail the run
assert written == len(dataset["rows"]) and batches and all(batches), (written, batches)
"""

TARGET_RECIPE = 10.0  # ours / seed recipe throughput
TARGET_BULK_WRITER = 5.0  # ours / LocalBulkWriter throughput
TARGET_RSS_MIB = 256.0
TARGET_FLAT = 1.25  # peak RSS large / small
TARGET_FLOOR = 1.5  # DataFrame -> Parquet: time ours / time pyarrow floor

Measure = tuple[float, float]  # (seconds, peak RSS MiB)


def bulk_writer_spec() -> str:
    """The sample schema as the JSON the BULK_WRITER child turns into a pymilvus ``CollectionSchema``."""
    from zimport_widgets.prepare.samples import sample_schema

    schema = sample_schema()
    fields = []
    for fs in schema.fields:
        params: dict[str, Any] = {"is_primary": fs.is_primary, "auto_id": fs.auto_id}
        if fs.dim:
            params["dim"] = fs.dim
        if fs.max_length:
            params["max_length"] = fs.max_length
        fields.append({"name": fs.name, "dtype": fs.dtype.name, "params": params})
    return json.dumps({"fields": fields, "dynamic": schema.enable_dynamic_field})


def measure(label: str, repeat: int, code: str, src: Path, out: Path, *args: str) -> Measure | None:
    """``best`` from benchmarks/convert.py, with a failure reported (and None returned) instead of raised."""
    try:
        result = best(repeat, code, src, out, *args)
    except (Exception, SystemExit) as exc:  # convert.run raises SystemExit when a child fails
        print(f"  {label}: FAILED ({exc})", flush=True)
        return None
    finally:
        gc.collect()
    print(f"  {label:<34} {result[0]:7.1f} s  {src.stat().st_size / 1e6 / result[0]:7.1f} MB/s  "
          f"peak RSS {result[1]:6.0f} MiB", flush=True)  # fmt: skip
    return result


def check_output(to: str, out: Path, rows: int) -> str | None:
    """Why our output in ``out`` is wrong (row count, files), or None when it holds ``rows`` rows."""
    try:
        if to == "parquet":
            import pyarrow.parquet as pq

            files = sorted(out.glob("*.parquet"))
            got = sum(pq.read_metadata(f).num_rows for f in files)
        else:
            import numpy as np

            got = len(np.load(out / "id.npy", mmap_mode="r"))
    except Exception as exc:
        return f"unreadable output ({exc})"
    return None if got == rows else f"{got} rows written, expected {rows}"


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def sample_frame(rows: int) -> Any:
    """The sample rows as a DataFrame: int64 columns, a float32 ndarray (768,) per vector cell, strings."""
    import numpy as np
    import pandas as pd

    from zimport_widgets.prepare.samples import iter_sample_rows

    cols: dict[str, list[Any]] = {}
    for row in iter_sample_rows(rows, seed=2):
        row["title_vector"] = np.asarray(row["title_vector"], dtype=np.float32)
        for key, value in row.items():
            cols.setdefault(key, []).append(value)
    return pd.DataFrame(cols)


def frame_bench(rows: int, work: Path, repeat: int) -> tuple[float, float, int, float, int] | None:
    """(ours s, floor s, rows, vector MB, runs) for DataFrame -> Parquet, best of ``repeat`` each, interleaved."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from zimport_widgets import convert
    from zimport_widgets.prepare.samples import sample_schema

    try:
        t = time.perf_counter()
        df = sample_frame(rows)
        vec_mb = rows * len(df["title_vector"].iloc[0]) * 4 / 1e6
        print(f"[frame] built a DataFrame of {rows:,} rows ({vec_mb:.0f} MB of vectors) in "
              f"{time.perf_counter() - t:.1f} s; dtypes: {dict(df.dtypes.astype(str))}", flush=True)  # fmt: skip
        schema = sample_schema()
        out = work / "frame"
        ours_path, floor_path = out / "ours.parquet", out / "floor.parquet"

        def ours() -> None:
            ours_path.unlink(missing_ok=True)
            result = convert(df, ours_path, schema, to="parquet", progress=False)
            assert result.rows == rows, result

        def floor() -> None:
            floor_path.unlink(missing_ok=True)
            pq.write_table(pa.Table.from_pandas(df), floor_path)

        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        ours_t, floor_t = [], []
        for i in range(max(1, repeat)):  # interleaved, order alternating: both see the same machine
            pair = [(ours, ours_t), (floor, floor_t)]
            for fn, times in pair if i % 2 == 0 else pair[::-1]:
                times.append(timed(fn))
        sizes = {p.name: p.stat().st_size / 1e6 for p in (ours_path, floor_path)}
        print(f"[frame] output: ours {sizes['ours.parquet']:.0f} MB, floor {sizes['floor.parquet']:.0f} MB; "
              f"runs ours {', '.join(f'{x:.2f}' for x in ours_t)} s, "
              f"floor {', '.join(f'{x:.2f}' for x in floor_t)} s", flush=True)  # fmt: skip
        shutil.rmtree(out, ignore_errors=True)
        return min(ours_t), min(floor_t), rows, vec_mb, len(ours_t)
    except Exception:
        print("[frame] FAILED:", flush=True)
        traceback.print_exc()
        return None


def verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "MISS")


def json_bench(
    label: str,
    mb: float,
    work: Path,
    repeat: int,
    spec: str,
    results: dict[tuple[str, str], Measure | None],
    sizes: dict[str, tuple[float, int]],
) -> None:
    """Write a ~``mb`` MB sample JSON file; time ours to Parquet and to NumPy (and at "large" the baselines)."""
    from zimport_widgets.prepare.samples import estimate_rows_for_size, write_sample_json

    src = work / f"sample_{label}.json"
    rows = estimate_rows_for_size(int(mb * 1e6))
    t = time.perf_counter()
    write_sample_json(src, rows, seed=1)
    sizes[label] = (src.stat().st_size / 1e6, rows)
    print(f"[{label}] generated {src.name}: {sizes[label][0]:.0f} MB, {rows:,} rows in "
          f"{time.perf_counter() - t:.1f} s", flush=True)  # fmt: skip
    for to in ("parquet", "numpy"):
        out = work / f"out_ours_{to}"
        got = results[(f"ours-{to}", label)] = measure(f"ours to={to}", repeat, OURS, src, out, to)
        problem = check_output(to, out, rows) if got else None
        if problem:
            print(f"  ours to={to}: WRONG OUTPUT ({problem}); not counted", flush=True)
            results[(f"ours-{to}", label)] = None
    if label == "large":  # the baselines: at the large size only (the ratios are taken there)
        results[("recipe", label)] = measure("seed recipe (json.load + numpy.save)", repeat, RECIPE, src,
                                             work / "out_recipe")  # fmt: skip
        for kind in ("PARQUET", "NUMPY"):
            results[(f"bw-{kind.lower()}", label)] = measure(
                f"LocalBulkWriter {kind}", repeat, BULK_WRITER, src, work / "out_bw", kind, spec
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=None, help="large JSON input (default 500; --quick 40)")
    parser.add_argument("--small-mb", type=float, default=None, help="small JSON input (default size/4)")
    parser.add_argument("--df-rows", type=int, default=None, help="DataFrame rows (default: the large input's rows)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per JSON measurement; the fastest counts")
    parser.add_argument("--df-repeat", type=int, default=3, help="runs per DataFrame measurement (default 3)")
    parser.add_argument("--quick", action="store_true", help="small sizes (40 MB / 10 MB, 2,000 frame rows)")
    parser.add_argument("--workdir", default=None, help="where to write inputs (default: a temp folder)")
    args = parser.parse_args()
    from zimport_widgets.prepare.samples import estimate_rows_for_size

    size_mb = args.size_mb or (40.0 if args.quick else 500.0)
    small_mb = args.small_mb or size_mb / 4
    df_rows = args.df_rows or (2000 if args.quick else estimate_rows_for_size(int(size_mb * 1e6)))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="zimport-bench-formats-"))
    work.mkdir(parents=True, exist_ok=True)
    spec = bulk_writer_spec()
    # results[(case, label)] = (seconds, peak MiB) or None; sizes[label] = (MB, rows)
    results: dict[tuple[str, str], Measure | None] = {}
    sizes: dict[str, tuple[float, int]] = {}
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; inputs in {work}", flush=True)
    try:
        for label, mb in (("small", small_mb), ("large", size_mb)):
            try:
                json_bench(label, mb, work, args.repeat, spec, results, sizes)
            except Exception:  # a report: say what broke, go on with the rest
                print(f"[{label}] FAILED:", flush=True)
                traceback.print_exc()
            finally:
                for path in work.glob("out_*"):
                    shutil.rmtree(path, ignore_errors=True)
                for path in work.glob("sample_*.json*"):
                    path.unlink(missing_ok=True)
        frame = frame_bench(df_rows, work, args.df_repeat)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    report(results, sizes, frame)
    return 0


def report(
    results: dict[tuple[str, str], Measure | None],
    sizes: dict[str, tuple[float, int]],
    frame: tuple[float, float, int, float, int] | None,
) -> None:
    small_size, size = sizes.get("small", (0.0, 0))[0], sizes.get("large", (0.0, 0))[0]
    names = {
        "ours-parquet": "ours JSON->Parquet", "ours-numpy": "ours JSON->NumPy",
        "recipe": "seed recipe (NumPy)", "bw-parquet": "LocalBulkWriter PARQUET", "bw-numpy": "LocalBulkWriter NUMPY",
    }  # fmt: skip
    print()
    print(f"{'case':<26}{'input':>9}{'time s':>9}{'MB/s':>8}{'peak RSS MiB':>14}")
    for (case, label), got in results.items():
        mb = sizes[label][0]
        cells = f"{got[0]:9.1f}{mb / got[0]:8.1f}{got[1]:14.0f}" if got else f"{'failed':>9}{'':>8}{'':>14}"
        print(f"{names[case]:<26}{mb:>6.0f} MB{cells}")
    if frame:
        ours_t, floor_t, frows, vec_mb, _ = frame
        print(f"{'ours DataFrame->Parquet':<26}{frows:>6,} rw{ours_t:9.2f}{vec_mb / ours_t:8.1f}{'(in process)':>14}")
        print(f"{'pyarrow floor':<26}{frows:>6,} rw{floor_t:9.2f}{vec_mb / floor_t:8.1f}{'(in process)':>14}")
    print()

    def line(ok: bool | None, text: str) -> None:
        print(f"{verdict(ok)}  {text}")

    for to, bw in (("parquet", "bw-parquet"), ("numpy", "bw-numpy")):
        what = f"JSON->{'Parquet' if to == 'parquet' else 'NumPy'}"
        ours, small = results.get((f"ours-{to}", "large")), results.get((f"ours-{to}", "small"))
        for base, target, name in ((("recipe", "large"), TARGET_RECIPE, "seed recipe"),
                                   ((bw, "large"), TARGET_BULK_WRITER, "LocalBulkWriter")):  # fmt: skip
            other = results.get(base)
            if ours and other:
                ratio = other[0] / ours[0]
                short = "" if ratio >= target else f"; {1 - ratio / target:.0%} short: needs {target / ratio:.2f}x"
                line(ratio >= target, f"{what}: throughput ours / {name} = {ratio:.2f}x (target >= {target:g}x{short})")
            else:
                line(None, f"{what}: throughput ours / {name}: not measured (a run failed)")
        if ours and small:
            peak = max(ours[1], small[1])
            line(peak <= TARGET_RSS_MIB, f"{what}: peak RSS {small[1]:.0f} MiB at {small_size:.0f} MB, "
                 f"{ours[1]:.0f} MiB at {size:.0f} MB (target <= {TARGET_RSS_MIB:.0f} MiB)")  # fmt: skip
            growth = ours[1] / small[1]
            line(growth <= TARGET_FLAT, f"{what}: peak RSS flat: x{growth:.2f} for x{size / small_size:.1f} the input "
                 f"(target x <= {TARGET_FLAT})")  # fmt: skip
        else:
            line(None, f"{what}: peak RSS: not measured (a run failed)")
    if frame:
        ours_t, floor_t, _, _, runs = frame
        ratio = ours_t / floor_t
        over = "" if ratio <= TARGET_FLOOR else f"; {ratio / TARGET_FLOOR - 1:.0%} over"
        line(ratio <= TARGET_FLOOR, f"DataFrame->Parquet: time ours / pyarrow floor = {ratio:.2f} "
             f"({ours_t:.2f} s vs {floor_t:.2f} s, best of {runs}; target <= {TARGET_FLOOR}{over})")  # fmt: skip
    else:
        line(None, "DataFrame->Parquet: not measured (failed)")
    rows = sizes.get("large", (0.0, 0))[1]
    print(f"({os.cpu_count()} CPUs, load average now {os.getloadavg()[0]:.1f}; {rows:,} rows in the large input)")


if __name__ == "__main__":
    sys.exit(main())
