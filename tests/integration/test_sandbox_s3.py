"""The sandbox's object store answers OSS's S3-compatible API (SigV4) on the same endpoint, as real OSS does:
boto3, minio and pymilvus ``RemoteBulkWriter`` (``S3ConnectParam``) work unmodified over real HTTP, and what
they write is the same object the OSS API (oss2) sees, with its CRC64."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.error
import urllib.request

import boto3
import oss2
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from zimport_widgets.sandbox.crc64 import crc64

PATH_STYLE = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})


def _s3(store, *, secret: str | None = None, region: str | None = None, key_id: str | None = None, **kw):
    return boto3.client(
        "s3", endpoint_url=store.endpoint, region_name=region or store.region,
        aws_access_key_id=key_id or store.access_key_id, aws_secret_access_key=secret or store.access_key_secret,
        config=kw.pop("config", PATH_STYLE), **kw,
    )  # fmt: skip


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def test_boto3_writes_what_oss2_reads_with_the_same_crc64(oss_store):
    s3 = _s3(oss_store)
    data = os.urandom(70_000)
    s3.put_object(Bucket=oss_store.bucket, Key="set/a b+ü.npy", Body=data)
    head = s3.head_object(Bucket=oss_store.bucket, Key="set/a b+ü.npy")
    assert head["ContentLength"] == len(data) and head["ETag"].strip('"') == hashlib.md5(data).hexdigest()
    assert int(head["ResponseMetadata"]["HTTPHeaders"]["x-oss-hash-crc64ecma"]) == crc64(data)
    listed = s3.list_objects_v2(Bucket=oss_store.bucket, Prefix="set/")
    assert [o["Key"] for o in listed["Contents"]] == ["set/a b+ü.npy"]
    assert s3.get_object(Bucket=oss_store.bucket, Key="set/a b+ü.npy")["Body"].read() == data
    bucket = oss2.Bucket(oss2.Auth(oss_store.access_key_id, oss_store.access_key_secret), oss_store.endpoint,
                         oss_store.bucket)  # fmt: skip
    assert bucket.get_object("set/a b+ü.npy").read() == data
    assert bucket.head_object("set/a b+ü.npy").server_crc == crc64(data)


def test_boto3_multipart_and_presigned_urls(oss_store):
    s3 = _s3(oss_store)
    data = os.urandom(11 << 20)
    from boto3.s3.transfer import TransferConfig

    s3.upload_fileobj(io.BytesIO(data), oss_store.bucket, "big/x.bin",
                      Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))  # fmt: skip
    head = s3.head_object(Bucket=oss_store.bucket, Key="big/x.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].strip('"').endswith("-3")
    assert int(head["ResponseMetadata"]["HTTPHeaders"]["x-oss-hash-crc64ecma"]) == crc64(data)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": oss_store.bucket, "Key": "big/x.bin"},
                                    ExpiresIn=60)  # fmt: skip
    assert hashlib.sha256(urllib.request.urlopen(url).read()).digest() == hashlib.sha256(data).digest()
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": oss_store.bucket, "Key": "p/y.json"},
                                        ExpiresIn=60)  # fmt: skip
    assert requests.put(put_url, data=b'{"rows": []}', timeout=10).status_code == 200
    assert s3.get_object(Bucket=oss_store.bucket, Key="p/y.json")["Body"].read() == b'{"rows": []}'
    tampered = url.replace("big/x.bin", "p/y.json")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(tampered)
    assert info.value.code == 403 and b"SignatureDoesNotMatch" in info.value.read()
    expired = _s3(oss_store).generate_presigned_url(
        "get_object", Params={"Bucket": oss_store.bucket, "Key": "p/y.json"}, ExpiresIn=1
    )
    import time

    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(expired)
    assert info.value.code == 403 and b"Request has expired" in info.value.read()


def test_wrong_keys_and_wrong_region_get_s3_errors_without_the_secret(oss_store):
    with pytest.raises(ClientError) as info:
        _s3(oss_store, secret="not-the-secret").list_objects_v2(Bucket=oss_store.bucket)
    assert (
        _code(info.value) == "SignatureDoesNotMatch"
        and info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    )
    with pytest.raises(ClientError) as info:
        _s3(oss_store, key_id="AKIDNOTKNOWN").list_objects_v2(Bucket=oss_store.bucket)
    assert _code(info.value) == "InvalidAccessKeyId"
    assert oss_store.access_key_secret not in str(info.value.response)
    raw = requests.get(f"{oss_store.endpoint}/{oss_store.bucket}", timeout=10, headers={
        "Authorization": f"AWS4-HMAC-SHA256 Credential={oss_store.access_key_id}/20260101/us-west-2/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00", "x-amz-date": "20260101T000000Z",
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})  # fmt: skip
    assert raw.status_code == 400 and "<Code>AuthorizationHeaderMalformed</Code>" in raw.text
    assert f"<Region>{oss_store.region}</Region>" in raw.text and "expecting 'cn-hangzhou'" in raw.text
    # boto3 follows the region S3 names in that answer, as it does with AWS
    assert _s3(oss_store, region="us-west-2").list_objects_v2(Bucket=oss_store.bucket)["KeyCount"] == 0
    with pytest.raises(ClientError) as info:
        _s3(oss_store).list_objects_v2(Bucket="no-such-bucket-here")
    assert _code(info.value) == "NoSuchBucket"


def test_a_body_that_does_not_match_its_signed_hash_is_refused_and_not_stored(oss_store):
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{oss_store.endpoint}/{oss_store.bucket}/h/x.bin"
    request = AWSRequest("PUT", url, data=b"the signed body")
    request.headers["x-amz-content-sha256"] = hashlib.sha256(b"the signed body").hexdigest()
    S3SigV4Auth(Credentials(oss_store.access_key_id, oss_store.access_key_secret), "s3", oss_store.region).add_auth(
        request
    )
    headers = dict(request.headers.items())
    res = requests.put(url, data=b"another body!!!", headers=headers, timeout=10)
    assert res.status_code == 400 and "XAmzContentSHA256Mismatch" in res.text
    with pytest.raises(ClientError):
        _s3(oss_store).head_object(Bucket=oss_store.bucket, Key="h/x.bin")
    ok = requests.put(url, data=b"the signed body", headers=headers, timeout=10)
    assert ok.status_code == 200, ok.text
    assert _s3(oss_store).get_object(Bucket=oss_store.bucket, Key="h/x.bin")["Body"].read() == b"the signed body"


def test_aws_chunked_bodies_are_refused_as_oss_refuses_them(oss_store):
    s3 = _s3(oss_store)
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{oss_store.endpoint}/{oss_store.bucket}/c/x.bin"
    request = AWSRequest("PUT", url, data=b"5\r\nhello\r\n0\r\n\r\n")
    request.headers["x-amz-content-sha256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    request.headers["Content-Encoding"] = "aws-chunked"
    S3SigV4Auth(Credentials(oss_store.access_key_id, oss_store.access_key_secret), "s3", oss_store.region).add_auth(
        request
    )
    res = requests.put(url, data=request.body, headers=dict(request.headers.items()), timeout=10)
    assert res.status_code == 400 and "<Code>InvalidArgument</Code>" in res.text and "aws-chunked" in res.text
    with pytest.raises(ClientError):
        s3.head_object(Bucket=oss_store.bucket, Key="c/x.bin")


def test_minio_and_pymilvus_remote_bulk_writer_upload_to_the_sandbox(oss_store):
    """pymilvus ``RemoteBulkWriter`` with an ``S3ConnectParam`` (the minio client) pointed at the sandbox's
    endpoint: its Parquet file lands in the bucket and reads back."""
    import pyarrow.parquet as pq
    from minio import Minio
    from pymilvus import CollectionSchema, DataType, FieldSchema
    from pymilvus.bulk_writer import BulkFileType, RemoteBulkWriter

    host = oss_store.endpoint.split("://", 1)[1]
    m = Minio(host, access_key=oss_store.access_key_id, secret_key=oss_store.access_key_secret, secure=False)
    assert m.bucket_exists(oss_store.bucket)
    m.put_object(oss_store.bucket, "m/big.bin", io.BytesIO(b"y" * (7 << 20)), 7 << 20, part_size=5 << 20)
    assert m.stat_object(oss_store.bucket, "m/big.bin").size == 7 << 20
    schema = CollectionSchema([FieldSchema("id", DataType.INT64, is_primary=True),
                               FieldSchema("v", DataType.FLOAT_VECTOR, dim=4)])  # fmt: skip
    conn = RemoteBulkWriter.S3ConnectParam(endpoint=host, access_key=oss_store.access_key_id,
                                           secret_key=oss_store.access_key_secret, bucket_name=oss_store.bucket,
                                           secure=False)  # fmt: skip
    with RemoteBulkWriter(schema=schema, remote_path="rbw", connect_param=conn, file_type=BulkFileType.PARQUET) as w:
        for i in range(50):
            w.append_row({"id": i, "v": [float(i)] * 4})
        w.commit()
        files = w.batch_files
    assert len(files) == 1 and files[0][0].endswith(".parquet")
    got = m.get_object(oss_store.bucket, files[0][0]).read()
    table = pq.read_table(io.BytesIO(got))
    assert table.column("id").to_pylist() == list(range(50))


def test_files_a_remote_bulk_writer_put_through_the_s3_api_import_into_the_sandbox(sandbox):
    """The pymilvus flow on the sandbox: ``RemoteBulkWriter`` (S3 API) writes, ``ImportClient`` imports them."""
    from pymilvus import CollectionSchema, DataType, FieldSchema
    from pymilvus.bulk_writer import BulkFileType, RemoteBulkWriter

    from zimport_widgets import ImportClient, load_schema

    client = ImportClient.from_env(sandbox.env(), api_version="v2")
    name = "s3_bulk_writer"
    if client.has_collection(name):
        client.drop_collection(name)
    client.create_collection(name, load_schema({"fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}}]}))  # fmt: skip
    schema = CollectionSchema([FieldSchema("id", DataType.INT64, is_primary=True),
                               FieldSchema("v", DataType.FLOAT_VECTOR, dim=4)])  # fmt: skip
    conn = RemoteBulkWriter.S3ConnectParam(endpoint=sandbox.oss_endpoint.split("://", 1)[1],
                                           access_key=sandbox.access_key_id, secret_key=sandbox.access_key_secret,
                                           bucket_name=sandbox.oss_bucket, secure=False)  # fmt: skip
    with RemoteBulkWriter(schema=schema, remote_path="s3-rbw", connect_param=conn,
                          file_type=BulkFileType.PARQUET) as w:  # fmt: skip
        for i in range(120):
            w.append_row({"id": i, "v": [i / 120.0] * 4})
        w.commit()
        files = w.batch_files
    job = client.start_import(name, object_urls=[[sandbox.object_url(f) for f in group] for group in files])
    done = client.wait_for_import(job, progress=False, timeout=120, poll_interval=0.2)
    assert done.completed, done
    assert client.count_rows(name) == 120
