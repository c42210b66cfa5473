"""Server-side verification of AWS Signature Version 4 (header and pre-signed URL), as S3 and OSS's
S3-compatible API check it, so boto3, minio and pymilvus ``RemoteBulkWriter`` work against the sandbox.

Header: ``Authorization: AWS4-HMAC-SHA256 Credential=<id>/<yyyymmdd>/<region>/s3/aws4_request,
SignedHeaders=a;b, Signature=<hex>`` with ``x-amz-date`` and ``x-amz-content-sha256``. Pre-signed URL: the same
fields as ``X-Amz-*`` query parameters, payload ``UNSIGNED-PAYLOAD``. The canonical request is rebuilt from
the request as received (AWS's spec: each path segment and query item URI-encoded once; signed headers
trimmed). :func:`verify_sigv4` returns the access key id and the payload hash the client declared.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from .oss_auth import MAX_SKEW_SECONDS, AuthFailure, check_signature, v4_encode

__all__ = ["S3Signature", "is_sigv4", "verify_sigv4"]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
#: The longest a pre-signed URL may live (7 days), as S3 allows.
MAX_EXPIRES = 7 * 24 * 3600
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class S3Signature:
    """A verified request: who signed it, for which region, and the payload hash it declared."""

    access_key_id: str
    region: str
    payload: str
    presigned: bool
    security_token: str | None


def is_sigv4(headers: Mapping[str, str], query: Sequence[tuple[str, str]]) -> bool:
    """Whether a request is signed the S3 way (SigV4 header or ``X-Amz-Algorithm`` in the query)."""
    return headers.get("authorization", "").startswith(ALGORITHM) or any(k == "X-Amz-Algorithm" for k, _ in query)


def verify_sigv4(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    credentials: Mapping[str, str],
    *,
    regions: Collection[str],
    now: float | None = None,
) -> S3Signature:
    """Check a SigV4 request (``path`` and ``query`` decoded; ``headers`` lower-case) or raise AuthFailure.

    ``regions`` are the region names this endpoint answers to (the first is the one it names when refusing).
    """
    now = time.time() if now is None else now
    headers = {k.lower(): v for k, v in headers.items()}
    auth = headers.get("authorization", "")
    params = dict(query)
    if auth:
        fields = _parse_header(auth)
        credential, signed_names, signature = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
        stamp = headers.get("x-amz-date", "")
        payload = headers.get("x-amz-content-sha256", "")
        if not payload:
            raise AuthFailure(
                "InvalidRequest", "Missing required header for this request: x-amz-content-sha256", status=400
            )
        token = headers.get("x-amz-security-token")
        expires = None
    else:
        if params.get("X-Amz-Algorithm") != ALGORITHM:
            raise AuthFailure(
                "AuthorizationQueryParametersError", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"', status=400
            )
        missing = [
            n
            for n in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature")
            if not params.get(n)
        ]
        if missing:
            raise AuthFailure(
                "AuthorizationQueryParametersError",
                f"Query-string authentication version 4 requires {', '.join(missing)}.",
                status=400,
            )
        credential, signed_names = params["X-Amz-Credential"], params["X-Amz-SignedHeaders"]
        signature, stamp, payload = params["X-Amz-Signature"], params["X-Amz-Date"], UNSIGNED
        token = params.get("X-Amz-Security-Token")
        expires = params["X-Amz-Expires"]
    scope = credential.split("/")
    if len(scope) != 5 or scope[3] != "s3" or scope[4] != "aws4_request":
        raise AuthFailure(
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed; the Credential "
            'is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
            status=400,
        )
    access_key_id, day, region, _service, _ = scope
    names = sorted(n.strip().lower() for n in signed_names.split(";") if n.strip())
    if "host" not in names:
        raise AuthFailure("AccessDenied", "There were headers present in the request which were not signed: host")
    expected_region = next(iter(regions))
    if region not in regions:
        raise AuthFailure(
            "AuthorizationHeaderMalformed",
            f"The authorization header is malformed; the region '{region}' is wrong; expecting '{expected_region}'",
            status=400,
            Region=expected_region,
        )
    secret = credentials.get(access_key_id)
    if secret is None:
        raise AuthFailure(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=access_key_id,
        )
    when = _parse_stamp(stamp)
    if stamp[:8] != day:
        raise AuthFailure("SignatureDoesNotMatch", "The credential date does not match the request date.")
    if expires is None:
        if abs(when - now) > MAX_SKEW_SECONDS:
            raise AuthFailure(
                "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
            )
    else:
        if not expires.isdigit() or not 1 <= int(expires) <= MAX_EXPIRES:
            raise AuthFailure(
                "AuthorizationQueryParametersError", "X-Amz-Expires must be between 1 and 604800 seconds.", status=400
            )
        if when > now + MAX_SKEW_SECONDS:
            raise AuthFailure("AccessDenied", "Request is not valid yet")
        if when + int(expires) < now:
            raise AuthFailure(
                "AccessDenied",
                "Request has expired",
                Expires=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when + int(expires))),
            )
    unsigned_query = [(k, v) for k, v in query if k != "X-Amz-Signature"] if expires is not None else list(query)
    canonical = canonical_request(method, path, unsigned_query, headers, names, payload)
    sts = "\n".join([ALGORITHM, stamp, "/".join(scope[1:]), hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = ("AWS4" + secret).encode()
    for item in scope[1:]:
        key = hmac.new(key, item.encode(), hashlib.sha256).digest()
    check_signature(hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest(), signature, sts)
    return S3Signature(access_key_id, region, payload, expires is not None, token)


def canonical_request(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    names: Sequence[str],
    payload: str,
) -> str:
    """The SigV4 canonical request (S3 flavour: the path is encoded once, never normalised)."""
    uri = v4_encode(path or "/", keep_slash=True)
    encoded = sorted((v4_encode(k, False), v4_encode(v, False)) for k, v in query)
    canonical_query = "&".join(f"{k}={v}" for k, v in encoded)
    missing = [n for n in names if n not in headers]
    if missing:
        raise AuthFailure("SignatureDoesNotMatch", f"A signed header is not in the request: {missing[0]}")
    lines = "".join(f"{n}:{_SPACES.sub(' ', headers[n].strip())}\n" for n in names)
    return "\n".join([method.upper(), uri, canonical_query, lines, ";".join(names), payload])


def _parse_header(auth: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in auth[len(ALGORITHM) :].split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if n not in fields]
    if missing:
        raise AuthFailure(
            "AuthorizationHeaderMalformed", f"The authorization header is malformed; missing {missing[0]}.", status=400
        )
    return fields


def _parse_stamp(stamp: str) -> float:
    try:
        return float(calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        raise AuthFailure("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None
