"""Convert a large JSON import file in parallel: split it at row boundaries, one process per part.

The calling process converts the first part itself; every other part goes to a worker process.

Workers are plain ``python -m zimport_widgets.prepare.split TASK`` processes (no multiprocessing, so
scripts without a ``__main__`` guard and notebooks work the same).

A cut is a ``}, {`` found near an even split point. A wrong guess (inside a string or a nested
object) cannot go unnoticed: the part before it then ends inside that string or object and fails to
parse, and any JSON error in any part makes the caller re-run the whole file sequentially, which
also gives the exact error. Each worker writes its own ``.npy`` files; the parent joins them
(fixed-width data is copied as bytes, strings are widened to the longest). Rows of a value error in
part k are numbered by adding the rows of parts 0..k-1, so errors read exactly as sequential ones.
"""

from __future__ import annotations

import os
import pickle
import selectors
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFileError, ProgressCallbackError
from ..schema import CollectionSchema
from .columns import CHUNK_BYTES, NpyFileInfo
from .json_rows import ROW_CUT, fast_rows, find_rows_start, open_rows, read_first_key, row_cut_pattern
from .npy_format import append_range, data_offset, header_bytes
from .row_loop import run_rows, vector_specs
from .rules import META_FIELD

__all__ = ["AUTO_WORKERS", "PARALLEL_MIN_BYTES", "convert_in_parts", "find_cuts", "parquet_in_parts", "parts_for"]

_WINDOW = 8 << 20
PARALLEL_MIN_BYTES = 64 << 20  # smaller files: one process (starting workers costs more than it saves)
AUTO_WORKERS = 2  # ~70 MiB each: two keep the whole conversion under 256 MiB
_HEAD_START = 32 << 20  # NumPy: ~0.15 s of one process's conversion (in Parquet the parent also encodes: none)


def parts_for(kind: str, size: int | None, workers: int | None) -> int:
    """Processes for converting a source: a JSON file of 64 MiB or more gets 2 (on 2+ cores) unless told."""
    if kind != "json":
        return 1
    if workers is None:
        return min(os.cpu_count() or 1, AUTO_WORKERS) if (size or 0) >= PARALLEL_MIN_BYTES else 1
    return max(1, workers)


def find_cuts(path: Path, parts: int, first_key: str | None = None, *, head_start: int = 0) -> list[tuple[int, int]]:
    """Up to ``parts - 1`` guesses ``(comma, brace)`` of row boundaries ``}, {`` near even split points.

    ``head_start``: extra bytes for the first part (this process), which starts converting while the
    workers are still starting Python.

    With ``first_key`` (the rows' first key) a boundary must be followed by it, which nested
    objects rarely are; without a match the plain ``}, {`` is used.
    """
    size = path.stat().st_size
    patterns = [row_cut_pattern(first_key), ROW_CUT] if first_key is not None else [ROW_CUT]
    cuts: list[tuple[int, int]] = []
    with open(path, "rb") as fh:
        for k in range(1, parts):
            offset = head_start + (size - head_start) * k // parts
            if cuts and offset <= cuts[-1][1]:
                continue
            fh.seek(offset)
            window = fh.read(_WINDOW)
            m = next((found for found in (p.search(window) for p in patterns) if found is not None), None)
            if m is None:
                continue
            comma = offset + m.start() + m.group().index(b",")
            brace = offset + m.start() + m.group().index(b"{")
            cuts.append((comma, brace))
    return cuts


def _root(path: Path) -> tuple[str, int | None]:
    """(ijson prefix of the rows, byte offset where the rows list content starts, or None)."""
    fh, prefix = open_rows(path)
    try:
        return prefix, find_rows_start(fh, prefix)
    finally:
        fh.close()


def _convert_part(task: dict[str, Any], on_progress: Callable[[int, int], None], sink: Any = None) -> tuple:
    """Convert one part; ``("ok", rows, files)``, ``("data"|"json", error state)`` or ``("crash", text)``.

    ``sink``: the checked rows go there (the Parquet conversion's own part), not into files;
    ``task["utf8"]``: string columns stay UTF-8 spills (a Parquet conversion's worker part).
    """
    p = Path(task["path"])
    try:
        start, end, closing = task["start"], task["end"], task["closing"]
        vectors = vector_specs(task["schema"])

        def rows_of(on_bytes: Callable[[int], None]) -> Iterator[Any]:
            return fast_rows(p, task["prefix"], start, end, closing=closing, on_bytes=on_bytes, base=start,
                              first_key=task["first_key"], vectors=vectors)  # fmt: skip

        out = None if sink is not None else Path(task["out"])
        rows, files = run_rows((p.name, rows_of), task["schema"], out, on_progress, sink=sink,
                               utf8=task.get("utf8", False))  # fmt: skip
        return ("ok", rows, files)
    except DataFileError as exc:
        kind = "json" if getattr(exc, "structural", False) else "data"
        state = {"message": exc.detail, "file": exc.file, "row": exc.row, "field": exc.field,
                 "expected": exc.expected, "got": exc.got, "hint": exc.hint}  # fmt: skip
        return (kind, state)
    except ProgressCallbackError:  # the caller's callback (e.g. a cancel button) stops everything
        raise
    except Exception as exc:  # reported; the parent falls back to a sequential run
        return ("crash", f"{type(exc).__name__}: {exc}")


def _worker_main(task_file: str) -> int:
    """Entry of a worker process: convert one part, print progress lines, pickle the result."""
    task = pickle.loads(Path(task_file).read_bytes())

    def on_progress(rows: int, nbytes: int) -> None:
        sys.stdout.write(f"{nbytes} {rows}\n")
        sys.stdout.flush()

    result = _convert_part(task, on_progress)
    (Path(task["out"]) / "result.pkl").write_bytes(pickle.dumps(result))
    return 0


def convert_in_parts(
    path: Path,
    schema: CollectionSchema,
    out: Path,
    parts: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[int, list[NpyFileInfo]] | None:
    """Convert ``path`` into ``out`` in ``parts`` parts: the first in this process, each other one in a
    worker process (``python -m`` this module).

    Returns None when the file cannot be split or any part hit a JSON syntax problem (the caller then
    converts sequentially); raises :class:`DataFileError` for a value error, numbered file-wide.
    """
    # this process starts on its part at once, a worker ~0.15 s later (Python and NumPy loading): give it more
    tasks = _tasks(path, schema, out, parts, head_start=min(_HEAD_START, path.stat().st_size // 8))
    if tasks is None:
        return None
    results = _run_tasks(tasks, out, on_progress)
    if _check_results(results, len(tasks), out) is None:
        return None
    rows_per_part = [r[1] for r in results]
    files = _join_parts(out, [r[2] for r in results], rows_per_part)
    _drop_parts(out, len(tasks))
    return sum(rows_per_part), files


def parquet_in_parts(
    path: Path,
    schema: CollectionSchema,
    work: Path,
    parts: int,
    sink: Any,
    on_progress: Callable[[int, int], None] | None = None,
) -> int | None:
    """The rows of ``path`` into the Parquet ``sink`` in ``parts`` parts; returns the row count.

    The first part goes straight into ``sink`` here; each other part is checked by a worker (no pyarrow in
    it: ~80 MiB) into the NumPy part files, strings kept as UTF-8 spills, and appended to ``sink`` in order
    without a per-value step. None (and ``sink`` must be discarded) when the file cannot be split or a part
    hit a JSON syntax problem; a value error raises, numbered file-wide.
    """
    scratch = work / f".parts-{path.stem}-{id(sink):x}"
    scratch.mkdir()
    try:
        tasks = _tasks(path, schema, scratch, parts)
        if tasks is None:
            return None
        for task in tasks[1:]:
            task["utf8"] = True
        results = _run_tasks(tasks, scratch, on_progress, sink)
        rows = _check_results(results, len(tasks), scratch)
        if rows is None:
            return None
        for result in results[1:]:
            sink.append_part(result[2], result[1])
        return rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_results(results: list[tuple], n: int, out: Path) -> int | None:
    """Total rows; None for a JSON problem or a crash (sequential re-run); raises a part's value error."""
    offset = 0
    for result in results:
        kind = result[0]
        if kind in ("json", "crash"):
            _drop_parts(out, n)
            return None
        if kind == "data":
            state = result[1]
            _drop_parts(out, n)
            row = None if state["row"] is None else state["row"] + offset
            raise DataFileError(state.pop("message"), **{**state, "row": row})
        offset += result[1]
    return offset


def _tasks(
    path: Path, schema: CollectionSchema, out: Path, parts: int, head_start: int = 0
) -> list[dict[str, Any]] | None:
    """One task per part (byte range, rows prefix, output folder), or None when the file cannot be split."""
    prefix, rows_start = _root(path)
    first_key = read_first_key(path, prefix)
    cuts = find_cuts(path, parts, first_key, head_start=head_start)
    if not cuts or rows_start is None or rows_start >= cuts[0][0]:
        return None
    size = path.stat().st_size
    tasks: list[dict[str, Any]] = []
    start = rows_start
    for k, (comma, brace) in enumerate([*cuts, (size, size)]):
        part_dir = out / f".part{k}"
        part_dir.mkdir()
        tasks.append({"path": str(path), "start": start, "end": comma, "closing": k == len(cuts),
                      "prefix": prefix, "first_key": first_key, "schema": schema, "out": str(part_dir)})  # fmt: skip
        start = brace
    return tasks


def _run_tasks(
    tasks: list[dict[str, Any]], out: Path, on_progress: Callable[[int, int], None] | None, sink: Any = None
) -> list[tuple]:
    """Task 0 here, the others in worker processes; their summed progress is reported as it comes."""
    procs: list[subprocess.Popen] = []
    progress = [(0, 0)] * len(tasks)
    results: list[tuple] = [("crash", "not run")] * len(tasks)
    try:
        for task in tasks[1:]:
            task_file = Path(task["out"]) / "task.pkl"
            task_file.write_bytes(pickle.dumps(task))
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", __name__, str(task_file)],
                    stdout=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    text=True,
                    bufsize=1,
                )
            )
        with selectors.DefaultSelector() as sel:
            for k, proc in enumerate(procs, start=1):
                assert proc.stdout is not None
                sel.register(proc.stdout, selectors.EVENT_READ, k)
            open_pipes = [len(procs)]

            def drain(timeout: float) -> None:
                for key, _ in sel.select(timeout=timeout):
                    line = key.fileobj.readline()  # type: ignore[union-attr]
                    if not line:
                        sel.unregister(key.fileobj)
                        open_pipes[0] -= 1
                        continue
                    nbytes, nrows = line.split()
                    progress[key.data] = (int(nbytes), int(nrows))
                if on_progress is not None:
                    on_progress(sum(r for _, r in progress), sum(b for b, _ in progress))

            def own_progress(rows: int, nbytes: int) -> None:
                progress[0] = (nbytes, rows)
                drain(0)

            results[0] = _convert_part(tasks[0], own_progress, sink)
            if results[0][0] != "ok":
                for proc in procs:
                    proc.kill()
            while open_pipes[0]:
                drain(0.2)
        for proc in procs:
            proc.wait()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
    for k, proc in enumerate(procs, start=1):
        result_file = out / f".part{k}" / "result.pkl"
        if proc.returncode == 0 and result_file.exists():
            results[k] = pickle.loads(result_file.read_bytes())
        else:
            results[k] = ("crash", f"worker exited with code {proc.returncode}")
    return results


def _drop_parts(out: Path, n: int) -> None:
    for k in range(n):
        shutil.rmtree(out / f".part{k}", ignore_errors=True)


def _join_parts(out: Path, part_files: list[list[NpyFileInfo]], rows: list[int]) -> list[NpyFileInfo]:
    names: list[str] = []
    for files in part_files:
        names += [f.name for f in files if f.name not in names]
    total = sum(rows)
    joined = []
    for name in names:
        infos = [next((f for f in files if f.name == name), None) for files in part_files]
        present = [i for i in infos if i is not None]
        dtypes = {np.dtype(i.dtype) for i in present}
        target = out / name
        if len(dtypes) == 1 and len(present) == len(infos):
            dtype = dtypes.pop()
            shape = (total, *present[0].shape[1:])
            with open(target, "wb") as dst:
                dst.write(header_bytes(dtype, shape))
                for info in present:
                    start = data_offset(info.path)
                    append_range(info.path, start, info.path.stat().st_size - start, dst)
        else:  # string columns of different widths, or $meta missing in parts without dynamic keys
            width = max([np.dtype(i.dtype).itemsize // 4 for i in present] + [2])
            dtype = np.dtype(f"<U{width}")
            shape = (total,)
            step = max(1, CHUNK_BYTES // (4 * width))
            with open(target, "wb") as dst:
                dst.write(header_bytes(dtype, shape))
                for part, n in zip(infos, rows, strict=True):
                    if part is None:
                        assert name == f"{META_FIELD}.npy"
                        for b in range(0, n, step):
                            dst.write(np.full(min(step, n - b), "{}", dtype=dtype).data)
                        continue
                    part_dtype = np.dtype(part.dtype)
                    with open(part.path, "rb") as src:  # read, not mmap: mapped pages would count as RSS
                        src.seek(data_offset(part.path))
                        for b in range(0, n, step):
                            data = src.read(min(step, n - b) * part_dtype.itemsize)
                            dst.write(np.frombuffer(data, dtype=part_dtype).astype(dtype).data)
        joined.append(NpyFileInfo(name, target, dtype.str, shape, target.stat().st_size))
    return joined


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1]))
