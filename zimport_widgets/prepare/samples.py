"""A deterministic stand-in for Zilliz's example dataset ``medium_articles_2020_dpr.json``.

Same shape as the real file: ``{"rows": [...]}``, 5,979 rows by default, keys in the order
``id, title, title_vector, link, reading_time, publication, claps, responses``; ``title_vector`` holds
768 floats. Values are made up (seeded), so tests and demos need no download. ``write_sample_json``
streams row by row, so it can write files of any size (the benchmark writes ~500 MB) in flat memory.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import local_file_errors
from ..schema import CollectionSchema, DataType, FieldSchema

__all__ = ["SAMPLE_ROWS", "estimate_rows_for_size", "iter_sample_rows", "sample_schema", "write_sample_json"]

SAMPLE_ROWS = 5979
SAMPLE_DIM = 768

# The first three titles of the real dataset (reference §5); the rest are composed from the word lists.
_KNOWN = [
    ("The Reported Mortality Rate of Coronavirus Is Not Important", 13, "The Startup", 1100, 18),
    ("Dashboards in Python: 3 Advanced Examples for Dash Beginners and Everyone Else", 14, "The Startup", 726, 3),
    ("How Can We Best Switch in Python?", 6, "The Startup", 500, 7),
]
_PUBLICATIONS = [
    "The Startup", "Towards Data Science", "Better Programming", "Better Marketing", "UX Collective",
    "Data Driven Investor", "The Writing Cooperative", "Level Up Coding", "Python in Plain English",
]  # fmt: skip
_OPENERS = ["How to", "Why", "What", "The Case for", "A Guide to", "Understanding", "Lessons from", "Beyond"]
_WORDS = [
    "Python", "Data", "Machine", "Learning", "Startup", "Design", "Remote", "Work", "Coronavirus", "Habits",
    "Writing", "Marketing", "Product", "Growth", "Neural", "Networks", "Vector", "Search", "Pandas", "Cloud",
    "Productivity", "Career", "Money", "Health", "Science", "Engineers", "Teams", "Leadership", "Users",
    "Deep", "Models", "Dashboards", "Testing", "APIs", "Databases", "Kubernetes", "Mindset", "Stories",
]  # fmt: skip


def sample_schema(*, dim: int = SAMPLE_DIM, collection_name: str = "medium_articles") -> CollectionSchema:
    """The collection schema of the sample (and of the real dataset): 8 fields, dynamic field off."""
    return CollectionSchema(
        fields=(
            FieldSchema("id", DataType.INT64, is_primary=True),
            FieldSchema("title", DataType.VARCHAR, max_length=512),
            FieldSchema("title_vector", DataType.FLOAT_VECTOR, dim=dim),
            FieldSchema("link", DataType.VARCHAR, max_length=512),
            FieldSchema("reading_time", DataType.INT64),
            FieldSchema("publication", DataType.VARCHAR, max_length=512),
            FieldSchema("claps", DataType.INT64),
            FieldSchema("responses", DataType.INT64),
        ),
        enable_dynamic_field=False,
        collection_name=collection_name,
    )


def _slug(text: str) -> str:
    return "-".join("".join(c for c in w.lower() if c.isalnum()) for w in text.split()).strip("-")


def iter_sample_rows(n: int = SAMPLE_ROWS, *, seed: int = 0, dim: int = SAMPLE_DIM) -> Iterator[dict[str, Any]]:
    """Yield ``n`` sample rows (dicts in the real file's key order); the same ``seed`` gives the same rows."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rnd = random.Random(seed)
    vec_rng = np.random.default_rng(seed)
    block = 256
    vectors = np.empty((0, dim))
    for i in range(n):
        j = i % block
        if j == 0:
            raw = vec_rng.standard_normal((min(block, n - i), dim))
            raw /= np.linalg.norm(raw, axis=1, keepdims=True)
            vectors = np.round(raw, 9)
        if i < len(_KNOWN) and seed == 0:
            title, reading_time, publication, claps, responses = _KNOWN[i]
        else:
            words = rnd.sample(_WORDS, rnd.randint(2, 7))
            title = f"{rnd.choice(_OPENERS)} {' '.join(words)}"
            reading_time = rnd.randint(1, 30)
            publication = rnd.choice(_PUBLICATIONS)
            claps = int(rnd.lognormvariate(5, 1.5))
            responses = rnd.randint(0, 40)
        link = f"https://medium.com/{_slug(publication)}/{_slug(title)}-{rnd.getrandbits(48):012x}"
        yield {
            "id": i,
            "title": title,
            "title_vector": vectors[j].tolist(),
            "link": link,
            "reading_time": reading_time,
            "publication": publication,
            "claps": claps,
            "responses": responses,
        }


@local_file_errors
def write_sample_json(
    path: str | os.PathLike[str], n: int = SAMPLE_ROWS, *, seed: int = 0, dim: int = SAMPLE_DIM
) -> Path:
    """Write ``{"rows": [...]}`` with ``n`` sample rows to ``path`` (streamed; parents created)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write('{"rows": [')
        for i, row in enumerate(iter_sample_rows(n, seed=seed, dim=dim)):
            fh.write(("\n" if i == 0 else ",\n") + dumps(row))
        fh.write("\n]}\n")
    os.replace(tmp, out)
    return out


def estimate_rows_for_size(size_bytes: int, *, dim: int = SAMPLE_DIM) -> int:
    """Roughly how many sample rows make a JSON file of ``size_bytes`` (for benchmarks)."""
    per_row = len(json.dumps(next(iter_sample_rows(1, seed=1, dim=dim)))) + 2
    return max(1, size_bytes // per_row)
