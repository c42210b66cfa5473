"""The whole flow on the sandbox: prepare → upload → import → wait → count = rows of the sample.

The sample is converted and uploaded once, then imported through the v1 API (the documented default)
and through v2, each into its own collection.
"""

from __future__ import annotations

import pytest

from zimport_widgets.cloud.client import ImportClient
from zimport_widgets.config import OssCredentials
from zimport_widgets.prepare import convert, samples
from zimport_widgets.storage import upload


def test_prepare_upload_import_wait_count(tmp_path, sandbox):
    n = 5979  # the sample's full size (= the real dataset's)
    src = samples.write_sample_json(tmp_path / "medium_articles.json", n)
    converted = convert.convert_json_to_numpy(src, tmp_path / "npy", samples.sample_schema(), progress=False)
    assert converted.rows == n
    env = sandbox.env()
    uploaded = upload.upload_to_oss(
        converted.out_dir,
        prefix="client-flow/medium_articles",
        credentials=OssCredentials.resolve(env=env),
        progress=False,
        schema=samples.sample_schema(),
    )
    for api_version in ("v1", "v2"):
        client = ImportClient.from_env(env, api_version=api_version)
        name = f"flow_{api_version}_medium_articles"
        if client.has_collection(name):
            client.drop_collection(name)
        target = client.create_collection(name, samples.sample_schema())
        assert target.names == samples.sample_schema().names
        assert target["title_vector"].dim == 768
        job = client.start_import(name, uploaded.object_url, env["OSS_ACCESS_KEY_ID"], env["OSS_ACCESS_KEY_SECRET"])
        events = []
        final = client.wait_for_import(job, progress=events.append, timeout=300, poll_interval=0.2)
        assert final.completed and final.percent == 100, api_version
        assert events[-1] == final and [e.percent for e in events] == sorted(e.percent for e in events)
        if api_version == "v2":
            assert final.imported_rows == n == final.total_rows
        result = client.verify(name, expected_rows=n)
        assert result.row_count == n and result.ok, str(result)
        top = result.search.hits[0]
        assert top.id == result.search.query_id and top.distance == pytest.approx(1.0, abs=1e-3)
        client.drop_collection(name)  # keep the shared sandbox small
        assert not client.has_collection(name)
