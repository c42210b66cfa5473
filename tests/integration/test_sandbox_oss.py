"""The sandbox's OSS-dialect object store, driven by the unmodified oss2 SDK over real HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import random
import re
import socket
import time

import oss2
import pytest
import requests

from zimport_widgets.sandbox.crc64 import crc64, crc64_combine, crc64_of_parts
from zimport_widgets.sandbox.oss_store import OssStore
from zimport_widgets.sandbox.oss_wire import OSS_MIN_PART_SIZE


def _bucket(store: OssStore, **kw) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(store.access_key_id, store.access_key_secret), store.endpoint, store.bucket, **kw)


@pytest.mark.parametrize("enable_crc", [True, False])
def test_put_get_head_exists_delete(oss_store, enable_crc):
    b = _bucket(oss_store, enable_crc=enable_crc)
    data = os.urandom(50_000)
    put = b.put_object("dir/a b+c.npy", data)
    assert put.status == 200 and put.request_id
    assert put.crc == crc64(data)
    got = b.get_object("dir/a b+c.npy")
    assert got.read() == data
    assert int(got.headers["x-oss-hash-crc64ecma"]) == crc64(data)
    head = b.head_object("dir/a b+c.npy")
    assert head.content_length == len(data)
    assert int(head.headers["x-oss-hash-crc64ecma"]) == crc64(data)
    assert b.object_exists("dir/a b+c.npy") and not b.object_exists("dir/missing")
    b.delete_object("dir/a b+c.npy")
    assert not b.object_exists("dir/a b+c.npy")


def test_ranged_read_has_no_whole_object_crc(oss_store):
    b = _bucket(oss_store)
    b.put_object("r.bin", b"0123456789")
    part = b.get_object("r.bin", byte_range=(2, 4))
    assert part.read() == b"234"
    assert "x-oss-hash-crc64ecma" not in part.headers


def test_listing_v1_and_v2_with_prefixes_and_odd_keys(oss_store):
    b = _bucket(oss_store)
    keys = ["set/1/id.npy", "set/1/vec.npy", "set/2/id.npy", "set/top.json", "set/数据 %20+.npy"]
    for k in keys:
        b.put_object(k, b"x")
    v1 = sorted(o.key for o in oss2.ObjectIterator(b, prefix="set/"))
    v2 = sorted(o.key for o in oss2.ObjectIteratorV2(b, prefix="set/"))
    assert v1 == v2 == sorted(keys)
    assert all(o.type == "Normal" for o in oss2.ObjectIteratorV2(b, prefix="set/"))
    r1 = b.list_objects(prefix="set/", delimiter="/")
    r2 = b.list_objects_v2(prefix="set/", delimiter="/")
    assert sorted(r1.prefix_list) == sorted(r2.prefix_list) == ["set/1/", "set/2/"]
    assert sorted(o.key for o in r2.object_list) == ["set/top.json", "set/数据 %20+.npy"]
    # paging through v2 with continuation tokens
    paged = [o.key for o in oss2.ObjectIteratorV2(b, prefix="set/", max_keys=2)]
    assert sorted(paged) == sorted(keys)


def test_listing_xml_is_oss_dialect(oss_store):
    b = _bucket(oss_store)
    b.put_object("k", b"1")
    req = oss2.http.Request("GET", f"{oss_store.endpoint}/{oss_store.bucket}/", params={"list-type": "2"})
    b.auth._sign_request(req, oss_store.bucket, "")  # oss2's own V1 signing, sent raw to see the XML
    resp = requests.get(req.url, params=req.params, headers=dict(req.headers), timeout=10)
    assert resp.status_code == 200
    assert "xmlns" not in resp.text and "<Type>Normal</Type>" in resp.text


def test_multipart_with_oss_minimum_part_size(oss_store):
    b = _bucket(oss_store)
    p1, p2 = os.urandom(OSS_MIN_PART_SIZE), os.urandom(1234)
    up = b.init_multipart_upload("mp/ok").upload_id
    r1, r2 = b.upload_part("mp/ok", up, 1, p1), b.upload_part("mp/ok", up, 2, p2)
    assert r1.crc == crc64(p1)
    done = b.complete_multipart_upload(
        "mp/ok", up, [oss2.models.PartInfo(1, r1.etag), oss2.models.PartInfo(2, r2.etag)]
    )
    assert done.crc == crc64(p1 + p2)
    assert b.get_object("mp/ok").read() == p1 + p2
    # a non-last part below 100 KiB is refused, as OSS does
    up = b.init_multipart_upload("mp/small").upload_id
    s1, s2 = b.upload_part("mp/small", up, 1, b"a" * 1000), b.upload_part("mp/small", up, 2, b"b")
    with pytest.raises(oss2.exceptions.OssError) as err:
        b.complete_multipart_upload(
            "mp/small", up, [oss2.models.PartInfo(1, s1.etag), oss2.models.PartInfo(2, s2.etag)]
        )
    assert err.value.code == "EntityTooSmall" and err.value.status == 400


def test_resumable_upload_and_download(oss_store, tmp_path):
    b = _bucket(oss_store, enable_crc=True)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(2 * 1024 * 1024 + 17))
    calls = []
    oss2.resumable_upload(
        b, "big/obj.bin", str(src), store=oss2.ResumableStore(root=str(tmp_path)), multipart_threshold=200 * 1024,
        part_size=OSS_MIN_PART_SIZE, num_threads=2, progress_callback=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    assert calls[-1] == (src.stat().st_size, src.stat().st_size)
    assert b.head_object("big/obj.bin").content_length == src.stat().st_size
    dst = tmp_path / "down.bin"
    oss2.resumable_download(
        b, "big/obj.bin", str(dst), store=oss2.ResumableDownloadStore(root=str(tmp_path)),
        multiget_threshold=200 * 1024, part_size=OSS_MIN_PART_SIZE, num_threads=2,
    )  # fmt: skip
    assert dst.read_bytes() == src.read_bytes()


def test_user_metadata_round_trips(oss_store):
    b = _bucket(oss_store)
    b.put_object("m", b"1", headers={"x-oss-meta-origin": "zimport"})
    assert b.head_object("m").headers["x-oss-meta-origin"] == "zimport"


def test_bucket_info_and_create_bucket(oss_store):
    b = _bucket(oss_store)
    info = b.get_bucket_info()
    assert info.name == oss_store.bucket and info.location == "oss-cn-hangzhou"
    assert b.get_bucket_location().location == "oss-cn-hangzhou"
    service = oss2.Service(b.auth, oss_store.endpoint)
    assert [x.name for x in oss2.BucketIterator(service)] == [oss_store.bucket]
    other = oss2.Bucket(b.auth, oss_store.endpoint, oss_store.bucket + "-two")
    other.create_bucket()
    other.put_object("k", b"v")
    assert other.get_object("k").read() == b"v"
    with pytest.raises(oss2.exceptions.OssError) as err:
        other.delete_bucket()
    assert (err.value.status, err.value.code) == (409, "BucketNotEmpty")


def test_copy_and_batch_delete(oss_store):
    b = _bucket(oss_store, enable_crc=True)
    b.put_object("src", b"hello")
    copied = b.copy_object(oss_store.bucket, "src", "dst")
    assert copied.status == 200 and b.get_object("dst").read() == b"hello"
    assert sorted(b.batch_delete_objects(["src", "dst"]).deleted_keys) == ["dst", "src"]
    assert not b.object_exists("src")


def test_wrong_secret_is_signature_does_not_match(oss_store):
    b = oss2.Bucket(oss2.Auth(oss_store.access_key_id, "not-the-secret"), oss_store.endpoint, oss_store.bucket)
    with pytest.raises(oss2.exceptions.OssError) as err:
        b.put_object("k", b"v")
    e = err.value
    assert (e.status, e.code) == (403, "SignatureDoesNotMatch")
    assert re.fullmatch(r"[0-9A-F]{24}", e.request_id)
    assert "StringToSign" in e.details and oss_store.access_key_secret not in str(e.details)


def test_unknown_key_id_is_invalid_access_key_id(oss_store):
    b = oss2.Bucket(oss2.Auth("LTAIunknownkey", oss_store.access_key_secret), oss_store.endpoint, oss_store.bucket)
    with pytest.raises(oss2.exceptions.OssError) as err:
        b.get_object("k")
    assert (err.value.status, err.value.code) == (403, "InvalidAccessKeyId")
    assert err.value.request_id


def test_anonymous_access_is_denied(oss_store):
    b = oss2.Bucket(oss2.AnonymousAuth(), oss_store.endpoint, oss_store.bucket)
    with pytest.raises(oss2.exceptions.OssError) as err:
        b.get_object("k")
    assert (err.value.status, err.value.code) == (403, "AccessDenied")


def test_no_such_key_and_no_such_bucket_are_oss_xml(oss_store):
    b = _bucket(oss_store)
    with pytest.raises(oss2.exceptions.NoSuchKey) as err:
        b.get_object("missing/key")
    assert err.value.status == 404 and err.value.request_id
    nb = oss2.Bucket(b.auth, oss_store.endpoint, "no-such-bucket-zz")
    with pytest.raises(oss2.exceptions.NoSuchBucket) as err2:
        nb.get_object("k")
    assert err2.value.status == 404
    # the raw answer: OSS error XML (no namespace) with a RequestId element and the x-oss-request-id header
    url = b.sign_url("GET", "missing/key", 60)
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 404 and "xmlns" not in resp.text
    rid = re.search(r"<RequestId>([0-9A-F]{24})</RequestId>", resp.text)
    assert rid and resp.headers["x-oss-request-id"] == rid.group(1)
    assert "<Code>NoSuchKey</Code>" in resp.text


def test_signature_v4(oss_store):
    auth = oss2.AuthV4(oss_store.access_key_id, oss_store.access_key_secret)
    b = oss2.Bucket(auth, oss_store.endpoint, oss_store.bucket, region="cn-hangzhou")
    b.put_object("v4/a key", b"four")
    assert b.get_object("v4/a key").read() == b"four"
    assert [o.key for o in oss2.ObjectIteratorV2(b, prefix="v4/")] == ["v4/a key"]
    bad = oss2.Bucket(oss2.AuthV4(oss_store.access_key_id, "wrong"), oss_store.endpoint, oss_store.bucket,
                      region="cn-hangzhou")  # fmt: skip
    with pytest.raises(oss2.exceptions.OssError) as err:
        bad.get_object("v4/a key")
    assert (err.value.status, err.value.code) == (403, "SignatureDoesNotMatch")


def test_presigned_urls_are_verified(oss_store):
    b = _bucket(oss_store)
    b.put_object("s", b"signed")
    url = b.sign_url("GET", "s", 60)
    assert requests.get(url, timeout=10).content == b"signed"
    assert requests.get(url.replace("Signature=", "Signature=AA"), timeout=10).status_code == 403
    expired = b.sign_url("GET", "s", -10)
    resp = requests.get(expired, timeout=10)
    assert resp.status_code == 403 and "expired" in resp.text


def test_stores_are_isolated(oss_store):
    with OssStore() as other:
        _bucket(oss_store).put_object("mine", b"1")
        foreign = oss2.Bucket(oss2.Auth(other.access_key_id, other.access_key_secret), other.endpoint,
                              oss_store.bucket)  # fmt: skip
        with pytest.raises(oss2.exceptions.NoSuchBucket):
            foreign.get_object("mine")
        assert [o.key for o in oss2.ObjectIterator(_bucket(other))] == []


def test_repr_and_errors_hold_no_secret(oss_store):
    assert oss_store.access_key_secret not in repr(oss_store)
    assert oss_store.access_key_id not in repr(oss_store)


def test_faults_error_statuses_then_recovery(oss_store):
    b = _bucket(oss_store)
    b.put_object("f", b"1")
    oss_store.faults.error("/" + oss_store.bucket + "/f", status=500, times=1, service="oss", method="GET")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.get_object("f")
    assert err.value.status == 500 and err.value.code == "InternalError"
    assert b.get_object("f").read() == b"1"  # used up: served normally again
    oss_store.faults.error("*", status=429, times=2)
    for _ in range(2):
        with pytest.raises(oss2.exceptions.OssError) as err:
            b.get_object("f")
        assert err.value.status == 429
    assert b.get_object("f").read() == b"1"


def test_faults_delay_and_drop(oss_store):
    b = _bucket(oss_store)
    b.put_object("d", b"1")
    oss_store.faults.delay("*", seconds=0.6, times=1)
    t0 = time.perf_counter()
    b.get_object("d").read()
    assert time.perf_counter() - t0 >= 0.6
    oss_store.faults.drop("*", times=1, method="PUT")
    with pytest.raises(oss2.exceptions.RequestError):
        b.put_object("d2", b"2")
    assert not b.object_exists("d2")
    b.put_object("d2", b"2")
    assert b.get_object("d2").read() == b"2"


def test_chunked_upload_from_a_generator(oss_store):
    b = _bucket(oss_store, enable_crc=True)

    def parts():
        yield b"ab"
        yield b"cd" * 100_000

    put = b.put_object("gen.bin", parts())  # no length: sent with Transfer-Encoding: chunked
    assert put.crc == crc64(b"ab" + b"cd" * 100_000)
    assert b.get_object("gen.bin").read() == b"ab" + b"cd" * 100_000


def _send_cut_off(store: OssStore, url: str, head: str, body: bytes) -> bytes:
    """Send a PUT whose body stops early, close our sending side (a client gone mid-body), read the answer."""
    target = url.split(str(store.port), 1)[1]
    with socket.create_connection(("127.0.0.1", store.port), timeout=10) as sock:
        sock.sendall(f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_part_cut_off_mid_body_is_not_stored(oss_store):
    b = _bucket(oss_store)
    whole = os.urandom(OSS_MIN_PART_SIZE)
    up = b.init_multipart_upload("cut/part").upload_id
    b.upload_part("cut/part", up, 1, whole)
    url = b.sign_url("PUT", "cut/part", 60, params={"uploadId": up, "partNumber": "1"})
    answer = _send_cut_off(oss_store, url, f"Content-Length: {len(whole)}\r\n", b"x" * (len(whole) // 2))
    assert answer.startswith(b"HTTP/1.1 400") and b"<Code>IncompleteBody</Code>" in answer
    # the stored part 1 is the earlier, whole one; no short part replaced it
    parts = list(oss2.PartIterator(b, "cut/part", up))
    assert [(p.part_number, p.size) for p in parts] == [(1, len(whole))]
    url2 = b.sign_url("PUT", "cut/part", 60, params={"uploadId": up, "partNumber": "2"})
    _send_cut_off(oss_store, url2, "Content-Length: 5000\r\n", b"y" * 10)
    assert [p.part_number for p in oss2.PartIterator(b, "cut/part", up)] == [1]
    done = b.complete_multipart_upload("cut/part", up, [oss2.models.PartInfo(1, parts[0].etag)])
    assert done.crc == crc64(whole)


@pytest.mark.parametrize("chunked", [False, True])
def test_an_object_cut_off_mid_body_is_not_stored(oss_store, chunked):
    b = _bucket(oss_store)
    url = b.sign_url("PUT", f"cut/obj-{chunked}", 60)
    if chunked:  # a chunk announced as 4096 bytes, 100 of which arrive
        answer = _send_cut_off(oss_store, url, "Transfer-Encoding: chunked\r\n", b"1000\r\n" + b"z" * 100)
    else:
        answer = _send_cut_off(oss_store, url, "Content-Length: 4096\r\n", b"z" * 100)
    assert answer.startswith(b"HTTP/1.1 400") and b"IncompleteBody" in answer
    assert not b.object_exists(f"cut/obj-{chunked}")


def test_crc64_combine_matches_the_bytes():
    rng = random.Random(7)
    pieces = [os.urandom(rng.randrange(0, 5000)) for _ in range(30)] + [b""]
    assert crc64_of_parts([(crc64(p), len(p)) for p in pieces]) == crc64(b"".join(pieces))
    for _ in range(50):
        a, b = os.urandom(rng.randrange(0, 3000)), os.urandom(rng.randrange(0, 3000))
        assert crc64_combine(crc64(a), crc64(b), len(b)) == crc64(a + b)
    # lengths far beyond what a test can hold, against oss2's own (slow) combine
    from oss2.crc64_combine import mkCombineFun

    reference = mkCombineFun(0x142F0E1EBA9EA3693, 0, True, 0xFFFFFFFFFFFFFFFF)
    for n in (1, 8 * 1024 * 1024, 280_000_007, 5 * 1024**3 + 3):
        assert crc64_combine(0x1234_5678_9ABC_DEF0, 0x0FED_CBA9_8765_4321, n) == reference(
            0x1234_5678_9ABC_DEF0, 0x0FED_CBA9_8765_4321, n
        )


def test_multipart_crc_is_combined_from_the_parts_not_read_again(oss_store, monkeypatch):
    import zimport_widgets.sandbox.oss_crc as store_module

    lengths: list[int] = []
    real = store_module.crc64
    monkeypatch.setattr(store_module, "crc64", lambda data: lengths.append(len(data)) or real(data))
    b = _bucket(oss_store, enable_crc=True)
    p1, p2, p3 = os.urandom(OSS_MIN_PART_SIZE), os.urandom(OSS_MIN_PART_SIZE + 5), os.urandom(1234)
    whole = p1 + p2 + p3
    up = b.init_multipart_upload("mp/combined").upload_id
    b.upload_part("mp/combined", up, 1, os.urandom(OSS_MIN_PART_SIZE))
    infos = [b.upload_part("mp/combined", up, n, p) for n, p in ((1, p1), (2, p2), (3, p3))]  # part 1 replaced
    done = b.complete_multipart_upload(
        "mp/combined", up, [oss2.models.PartInfo(n, r.etag) for n, r in enumerate(infos, 1)]
    )
    assert done.crc == crc64(whole)
    assert int(b.head_object("mp/combined").headers["x-oss-hash-crc64ecma"]) == crc64(whole)
    assert b.get_object("mp/combined").read() == whole  # oss2 checks the whole-read CRC64 too
    assert len(whole) not in lengths  # the object itself was never read to compute its CRC64
    # the multipart ETag, as OSS/S3 give it: MD5 of the parts' MD5s, then -N
    md5s = b"".join(hashlib.md5(p).digest() for p in (p1, p2, p3))
    assert b.head_object("mp/combined").etag.lower() == f"{hashlib.md5(md5s).hexdigest()}-3"


def test_multipart_completion_checks_parts_and_handles_copied_parts(oss_store):
    b = _bucket(oss_store, enable_crc=True)
    src = os.urandom(OSS_MIN_PART_SIZE)
    b.put_object("mp/src", src)
    up = b.init_multipart_upload("mp/copied").upload_id
    r1 = b.upload_part_copy(oss_store.bucket, "mp/src", None, "mp/copied", up, 1)
    r2 = b.upload_part("mp/copied", up, 2, b"tail")
    with pytest.raises(oss2.exceptions.OssError) as err:  # an ETag that is not the stored part's
        b.complete_multipart_upload("mp/copied", up, [oss2.models.PartInfo(1, r1.etag), oss2.models.PartInfo(2, '"0"')])
    assert err.value.code == "InvalidPart"
    done = b.complete_multipart_upload(
        "mp/copied", up, [oss2.models.PartInfo(1, r1.etag), oss2.models.PartInfo(2, r2.etag)]
    )
    assert done.crc == crc64(src + b"tail")  # a copied part's CRC64 is not known: read from the object
    assert b.get_object("mp/copied").read() == src + b"tail"


# -- key policies and STS temporary keys ----------------------------------------------------------------
def _denied(fn, code: str = "AccessDenied") -> oss2.exceptions.OssError:
    with pytest.raises(oss2.exceptions.OssError) as err:
        fn()
    e = err.value
    assert (e.status, e.code) == (403, code), (e.status, e.code, e.message)
    assert re.fullmatch(r"[0-9A-F]{24}", e.request_id)
    assert e.details["RequestId"] == e.request_id
    return e


def test_read_only_keys_read_and_list_but_every_write_is_access_denied(oss_store, tmp_path):
    full = _bucket(oss_store)
    full.put_object("ro/a.npy", b"alpha")
    full.put_object("ro/b.npy", b"beta")
    ak, sk = oss_store.add_credentials(read_only=True)
    assert ak != oss_store.access_key_id and oss_store.credentials[ak] == sk
    ro = oss2.Bucket(oss2.Auth(ak, sk), oss_store.endpoint, oss_store.bucket)
    assert ro.get_object("ro/a.npy").read() == b"alpha"
    assert ro.head_object("ro/b.npy").content_length == 4
    assert [o.key for o in oss2.ObjectIteratorV2(ro, prefix="ro/")] == ["ro/a.npy", "ro/b.npy"]
    assert [o.key for o in oss2.ObjectIterator(ro, prefix="ro/")] == ["ro/a.npy", "ro/b.npy"]
    ro.get_object_to_file("ro/a.npy", str(tmp_path / "a.npy"))
    assert (tmp_path / "a.npy").read_bytes() == b"alpha"

    e = _denied(lambda: ro.put_object("ro/new.npy", b"x"))
    assert e.message == "You have no right to access this object because of bucket acl."
    assert e.details["EC"] == "0003-00000001"
    _denied(lambda: ro.delete_object("ro/a.npy"))
    _denied(lambda: ro.batch_delete_objects(["ro/a.npy"]))
    _denied(lambda: ro.init_multipart_upload("ro/mp.npy"))
    # a part and the completion of an upload the full keys started
    upload_id = full.init_multipart_upload("ro/mp.npy").upload_id
    _denied(lambda: ro.upload_part("ro/mp.npy", upload_id, 1, b"p" * 10))
    part = full.upload_part("ro/mp.npy", upload_id, 1, b"p" * 10)
    _denied(lambda: ro.complete_multipart_upload("ro/mp.npy", upload_id, [oss2.models.PartInfo(1, part.etag)]))
    # nothing changed; the primary keys still write
    assert [o.key for o in oss2.ObjectIterator(full, prefix="ro/")] == ["ro/a.npy", "ro/b.npy"]
    full.complete_multipart_upload("ro/mp.npy", upload_id, [oss2.models.PartInfo(1, part.etag)])
    assert full.get_object("ro/mp.npy").read() == b"p" * 10


def test_read_only_denial_is_oss_xml_on_the_wire(oss_store):
    ak, sk = oss_store.add_credentials(read_only=True)
    ro = oss2.Bucket(oss2.Auth(ak, sk), oss_store.endpoint, oss_store.bucket)
    resp = requests.put(ro.sign_url("PUT", "wire.bin", 60), data=b"x", timeout=10)
    assert resp.status_code == 403 and "xmlns" not in resp.text
    assert "<Code>AccessDenied</Code>" in resp.text and "because of bucket acl." in resp.text
    rid = re.search(r"<RequestId>([0-9A-F]{24})</RequestId>", resp.text)
    assert rid and resp.headers["x-oss-request-id"] == rid.group(1)
    assert ak not in resp.text and sk not in resp.text


def test_full_access_extra_keys_and_given_pairs(oss_store):
    ak, sk = oss_store.add_credentials()
    b = oss2.Bucket(oss2.Auth(ak, sk), oss_store.endpoint, oss_store.bucket)
    b.put_object("second-user", b"2")
    assert b.get_object("second-user").read() == b"2"
    assert oss_store.add_credentials("LTAIgivenkeyid0000", "given-secret", read_only=True) == (
        "LTAIgivenkeyid0000", "given-secret",
    )  # fmt: skip
    given = oss2.Bucket(oss2.Auth("LTAIgivenkeyid0000", "given-secret"), oss_store.endpoint, oss_store.bucket)
    assert given.get_object("second-user").read() == b"2"
    _denied(lambda: given.put_object("k", b"v"))
    with pytest.raises(ValueError):
        oss_store.add_credentials("LTAIonlytheid", None)


def test_sts_keys_work_with_their_token_in_header_and_presigned_url(oss_store):
    creds = oss_store.issue_sts_credentials(ttl=600)
    ak, sk, token = creds
    assert ak.startswith("STS.") and token.startswith("CAIS")
    assert ak not in repr(creds) and sk not in repr(creds) and token not in repr(creds)
    b = oss2.Bucket(oss2.StsAuth(ak, sk, token), oss_store.endpoint, oss_store.bucket)
    b.put_object("sts/a", b"temporary")
    assert b.get_object("sts/a").read() == b"temporary"
    assert [o.key for o in oss2.ObjectIteratorV2(b, prefix="sts/")] == ["sts/a"]
    url = b.sign_url("GET", "sts/a", 60)
    assert "security-token=" in url
    assert requests.get(url, timeout=10).content == b"temporary"
    # V4 signing with the token (oss2 sends it as x-oss-security-token there too)
    v4 = oss2.Bucket(
        oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(ak, sk, token)),
        oss_store.endpoint, oss_store.bucket, region="cn-hangzhou",
    )  # fmt: skip
    assert v4.get_object("sts/a").read() == b"temporary"


def test_sts_keys_without_or_with_a_wrong_token_are_refused(oss_store):
    _bucket(oss_store).put_object("sts/b", b"b")
    ak, sk, token = oss_store.issue_sts_credentials(ttl=600)
    other_token = oss_store.issue_sts_credentials(ttl=600).security_token

    def get(auth):
        return lambda: oss2.Bucket(auth, oss_store.endpoint, oss_store.bucket).get_object("sts/b")

    e = _denied(get(oss2.Auth(ak, sk)), "InvalidAccessKeyId")  # the token is missing
    assert e.details["EC"] == "0002-00000002"
    e = _denied(get(oss2.StsAuth(ak, sk, token[:-4] + "abcd")), "InvalidSecurityToken")
    assert e.message == "The security token you provided is invalid."
    _denied(get(oss2.StsAuth(ak, sk, other_token)), "InvalidSecurityToken")
    # a token sent with long-term keys makes it an STS request, which OSS refuses
    _denied(get(oss2.StsAuth(oss_store.access_key_id, oss_store.access_key_secret, token)), "InvalidAccessKeyId")
    # the token is checked before the signature: a pre-signed URL with another token is InvalidSecurityToken
    good = oss2.Bucket(oss2.StsAuth(ak, sk, token), oss_store.endpoint, oss_store.bucket)
    resp = requests.get(good.sign_url("GET", "sts/b", 60).replace("security-token=", "security-token=X"), timeout=10)
    assert resp.status_code == 403 and "<Code>InvalidSecurityToken</Code>" in resp.text


def test_sts_keys_expire(oss_store):
    _bucket(oss_store).put_object("sts/c", b"c")
    ak, sk, token = oss_store.issue_sts_credentials(ttl=0.5)
    b = oss2.Bucket(oss2.StsAuth(ak, sk, token), oss_store.endpoint, oss_store.bucket)
    assert b.get_object("sts/c").read() == b"c"
    time.sleep(0.6)
    e = _denied(lambda: b.get_object("sts/c"), "SecurityTokenExpired")
    assert e.message == "The security token you provided has expired."
    assert e.details["EC"] == "0002-00000007"
    # expire_sts_credentials ends another pair at once
    ak2, sk2, token2 = oss_store.issue_sts_credentials()
    b2 = oss2.Bucket(oss2.StsAuth(ak2, sk2, token2), oss_store.endpoint, oss_store.bucket)
    assert b2.object_exists("sts/c")
    oss_store.expire_sts_credentials(ak2)
    _denied(lambda: b2.get_object("sts/c"), "SecurityTokenExpired")
    with pytest.raises(ValueError):
        oss_store.issue_sts_credentials(ttl=0)
    with pytest.raises(ValueError):
        oss_store.expire_sts_credentials(oss_store.access_key_id)


def test_read_only_sts_keys(oss_store):
    _bucket(oss_store).put_object("sts/d", b"d")
    ak, sk, token = oss_store.issue_sts_credentials(read_only=True)
    b = oss2.Bucket(oss2.StsAuth(ak, sk, token), oss_store.endpoint, oss_store.bucket)
    assert b.get_object("sts/d").read() == b"d"
    _denied(lambda: b.put_object("sts/e", b"e"))


def test_the_listings_oss2_pages_through_parse_and_failures_are_oss_xml(oss_store):
    """ListMultipartUploads carries NextKeyMarker and real Initiated times, ListParts takes an empty or zero
    marker, and an operation moto lacks fails as OSS does: an XML error document, never an HTML page."""
    b = _bucket(oss_store)
    started = time.time()
    ids = [b.init_multipart_upload(f"m/k{i}").upload_id for i in range(3)]
    b.upload_part("m/k0", ids[0], 1, os.urandom(OSS_MIN_PART_SIZE))
    page = b.list_multipart_uploads(prefix="m/")
    assert [u.key for u in page.upload_list] == ["m/k0", "m/k1", "m/k2"] and page.next_key_marker == "m/k2"
    assert all(abs(u.initiation_date - started) < 30 for u in page.upload_list)
    assert [u.upload_id for u in oss2.MultipartUploadIterator(b, prefix="m/", max_uploads=1)] == ids
    assert [p.part_number for p in oss2.PartIterator(b, "m/k0", ids[0], "0", max_parts=1)] == [1]
    assert [p.part_number for p in oss2.PartIterator(b, "m/k0", ids[0])] == [1]
    b.abort_multipart_upload("m/k1", ids[1])
    assert [u.key for u in oss2.MultipartUploadIterator(b, prefix="m/")] == ["m/k0", "m/k2"]
    b.put_object("a.txt", b"x")
    with pytest.raises(oss2.exceptions.ServerError) as info:
        b.restore_object("a.txt")
    assert info.value.status == 500 and info.value.code == "InternalError" and info.value.request_id
    assert b"<Error>" in info.value.body and b"<html" not in info.value.body.lower()
