"""Server-side verification of Aliyun OSS request signatures (V1 header/URL, and V4 header).

V1: ``Authorization: OSS <AccessKeyId>:<base64 HMAC-SHA1(secret, string-to-sign)>`` where the
string to sign is ``VERB \\n Content-MD5 \\n Content-Type \\n Date \\n x-oss-headers + /bucket/key?subresources``;
a pre-signed URL carries ``OSSAccessKeyId``, ``Expires`` and ``Signature`` in the query instead.
V4: ``Authorization: OSS4-HMAC-SHA256 Credential=<id>/<yyyymmdd>/<region>/oss/aliyun_v4_request,
Signature=<hex>[, AdditionalHeaders=a;b]`` over a canonical request, with a date/region/product-scoped key.

:func:`verify` returns the access key id or raises :class:`AuthFailure` carrying the OSS error code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime

__all__ = ["AuthFailure", "SignedRequest", "check_signature", "claimed_access_key_id", "v4_encode", "verify"]

#: Query parameters that are part of the V1 canonical resource (OSS "sub-resources").
SUBRESOURCES = frozenset(
    """acl uploads location cors logging website referer lifecycle delete append tagging objectMeta uploadId
    partNumber security-token position img style styleName replication replicationProgress replicationLocation
    cname bucketInfo comp qos live status vod startTime endTime symlink x-oss-process response-content-type
    response-content-language response-expires response-cache-control response-content-disposition
    response-content-encoding udf udfName udfImage udfId udfImageDesc udfApplication udfApplicationLog restore
    callback callback-var qosInfo policy stat encryption versions versioning versionId requestPayment
    x-oss-request-payer sequential inventory inventoryId continuation-token asyncFetch worm wormId wormExtend
    x-oss-traffic-limit objectInfo group link transferAcceleration metaQuery resourceGroup regionList
    x-oss-async-process x-oss-write-get-object-response accessPoint accessPointPolicy publicAccessBlock
    x-oss-access-point-name httpsConfig bucketArchiveDirectRead redundancyTransition
    x-oss-target-redundancy-type x-oss-redundancy-transition-taskid x-oss-ac-source-ip x-oss-ac-subnet-mask
    x-oss-ac-vpc-id x-oss-ac-forward-allow requesterQosInfo qosRequester resourcePoolInfo resourcePool
    resourcePoolBuckets""".split()  # noqa: SIM905
)
MAX_SKEW_SECONDS = 15 * 60
V4_ALGORITHM = "OSS4-HMAC-SHA256"


class AuthFailure(Exception):
    """The request is not signed correctly; ``code``/``status`` are what OSS would answer."""

    def __init__(self, code: str, message: str, status: int = 403, **extra: str) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.extra = code, message, status, extra


class SignedRequest:
    """What a signature covers: method, bucket, key (decoded), query pairs (decoded) and headers."""

    def __init__(
        self,
        method: str,
        bucket: str,
        key: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
    ) -> None:
        self.method, self.bucket, self.key = method.upper(), bucket, key
        self.query = list(query)
        self.headers = {k.lower(): v for k, v in headers.items()}

    def param(self, name: str) -> str | None:
        for k, v in self.query:
            if k == name:
                return v
        return None


def verify(req: SignedRequest, credentials: Mapping[str, str], *, now: float | None = None) -> str:
    """Check the request's signature against ``credentials`` ({access key id: secret}); return the id."""
    now = time.time() if now is None else now
    auth = req.headers.get("authorization", "")
    if auth.startswith("OSS "):
        return _verify_v1_header(req, auth, credentials, now)
    if auth.startswith(V4_ALGORITHM):
        return _verify_v4_header(req, auth, credentials, now)
    if auth:
        raise AuthFailure("InvalidArgument", "Authorization header is invalid.", status=400)
    if req.param("OSSAccessKeyId") is not None:
        return _verify_v1_url(req, credentials, now)
    raise AuthFailure("AccessDenied", "AccessDenied: Anonymous access is forbidden for this operation.")


def claimed_access_key_id(req: SignedRequest) -> str | None:
    """The access key id a request names (header V1/V4 or pre-signed URL), before any check; None if none."""
    auth = req.headers.get("authorization", "")
    if auth.startswith("OSS "):
        return auth[4:].strip().rpartition(":")[0] or None
    if auth.startswith(V4_ALGORITHM):
        for item in auth[len(V4_ALGORITHM) :].split(","):
            name, _, value = item.strip().partition("=")
            if name.strip() == "Credential":
                return value.strip().split("/", 1)[0] or None
        return None
    return req.param("OSSAccessKeyId") or None


# -- V1 ----------------------------------------------------------------------------------------------
def _canonical_resource_v1(req: SignedRequest) -> str:
    resource = f"/{req.bucket}/{req.key}" if req.bucket else "/"
    subs = sorted((k, v) for k, v in req.query if k in SUBRESOURCES)
    if subs:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in subs)
    return resource


def _oss_headers_v1(req: SignedRequest) -> str:
    pairs = sorted((k, v) for k, v in req.headers.items() if k.startswith("x-oss-"))
    return "".join(f"{k}:{v}\n" for k, v in pairs)


def string_to_sign_v1(req: SignedRequest, date: str) -> str:
    return "\n".join(
        [
            req.method,
            req.headers.get("content-md5", ""),
            req.headers.get("content-type", ""),
            date,
            _oss_headers_v1(req) + _canonical_resource_v1(req),
        ]
    )


def _hmac_sha1_b64(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode("utf-8"), hashlib.sha1).digest()).decode()


def _secret_for(access_key_id: str, credentials: Mapping[str, str]) -> str:
    secret = credentials.get(access_key_id)
    if secret is None:
        raise AuthFailure("InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.")
    return secret


def check_signature(expected: str, provided: str, string_to_sign: str) -> None:
    if not hmac.compare_digest(expected.encode(), provided.encode()):
        raise AuthFailure(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            StringToSign=string_to_sign,
        )


def _verify_v1_header(req: SignedRequest, auth: str, credentials: Mapping[str, str], now: float) -> str:
    access_key_id, sep, signature = auth[4:].strip().rpartition(":")
    if not sep or not access_key_id or not signature:
        raise AuthFailure("InvalidArgument", "Authorization header is invalid.", status=400)
    secret = _secret_for(access_key_id, credentials)
    date = req.headers.get("x-oss-date") or req.headers.get("date", "")
    _check_http_date(date, now)
    sts = string_to_sign_v1(req, date)
    check_signature(_hmac_sha1_b64(secret, sts), signature, sts)
    return access_key_id


def _verify_v1_url(req: SignedRequest, credentials: Mapping[str, str], now: float) -> str:
    access_key_id = req.param("OSSAccessKeyId") or ""
    expires, signature = req.param("Expires") or "", req.param("Signature") or ""
    if not expires.isdigit() or not signature:
        raise AuthFailure("AccessDenied", "Invalid pre-signed URL: Expires and Signature are required.")
    secret = _secret_for(access_key_id, credentials)
    if int(expires) < now:
        raise AuthFailure("AccessDenied", "Request has expired.")
    sts = string_to_sign_v1(req, expires)
    check_signature(_hmac_sha1_b64(secret, sts), signature, sts)
    return access_key_id


def _check_http_date(date: str, now: float) -> None:
    if not date:
        raise AuthFailure("AccessDenied", "The request has no Date header.")
    try:
        when = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        raise AuthFailure("AccessDenied", f"Invalid Date header: {date!r}.") from None
    if abs(when - now) > MAX_SKEW_SECONDS:
        raise AuthFailure(
            "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
        )


# -- V4 ----------------------------------------------------------------------------------------------
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def v4_encode(text: str, keep_slash: bool) -> str:
    out = []
    for b in text.encode("utf-8"):
        if b in _UNRESERVED or (keep_slash and b == 0x2F):
            out.append(chr(b))
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def _parse_v4(auth: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in auth[len(V4_ALGORITHM) :].split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            parts[name.strip()] = value.strip()
    if "Credential" not in parts or "Signature" not in parts:
        raise AuthFailure("InvalidArgument", "Authorization header is invalid.", status=400)
    return parts


def canonical_request_v4(req: SignedRequest, additional: list[str]) -> str:
    uri = v4_encode(f"/{req.bucket}/{req.key}" if req.bucket else "/", keep_slash=True)
    encoded = sorted((v4_encode(k, False), v4_encode(v, False)) for k, v in req.query)
    query = "&".join(f"{k}={v}" if v else k for k, v in encoded)
    signed = [
        (k, v)
        for k, v in req.headers.items()
        if k.startswith("x-oss-") or k in ("content-type", "content-md5") or k in additional
    ]
    headers = "".join(f"{k}:{v}\n" for k, v in sorted(signed))
    payload = req.headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD")
    return "\n".join([req.method, uri, query, headers, ";".join(sorted(additional)), payload])


def _verify_v4_header(req: SignedRequest, auth: str, credentials: Mapping[str, str], now: float) -> str:
    parts = _parse_v4(auth)
    scope_items = parts["Credential"].split("/")
    if len(scope_items) != 5 or scope_items[4] != "aliyun_v4_request":
        raise AuthFailure("InvalidArgument", "Invalid credential in Authorization header.", status=400)
    access_key_id, day, region, product, _ = scope_items
    secret = _secret_for(access_key_id, credentials)
    stamp = req.headers.get("x-oss-date", "")
    try:
        when = time.mktime(time.strptime(stamp, "%Y%m%dT%H%M%SZ")) - time.timezone
    except ValueError:
        raise AuthFailure("AccessDenied", "V4 signature needs a valid x-oss-date header.") from None
    if abs(when - now) > MAX_SKEW_SECONDS:
        raise AuthFailure(
            "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
        )
    if stamp[:8] != day:
        raise AuthFailure("SignatureDoesNotMatch", "The credential date does not match x-oss-date.")
    additional = [h.strip().lower() for h in parts.get("AdditionalHeaders", "").split(";") if h.strip()]
    canonical = canonical_request_v4(req, additional)
    scope = f"{day}/{region}/{product}/aliyun_v4_request"
    sts = "\n".join([V4_ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = ("aliyun_v4" + secret).encode()
    for item in (day, region, product, "aliyun_v4_request"):
        key = hmac.new(key, item.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()
    check_signature(expected, parts["Signature"], sts)
    return access_key_id
