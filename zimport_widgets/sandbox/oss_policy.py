"""Who may do what in the sandbox OSS store: key pairs with a read-only policy, and STS temporary keys.

Each key pair has a :class:`Grant`. The store's primary pair has full access; extra pairs may be
read-only (reads, heads and listings work; writes get ``403 AccessDenied`` as a bucket ACL would
give). STS pairs (``STS.…`` ids, as Aliyun's AssumeRole hands out) are only valid together with their
security token, sent as the ``x-oss-security-token`` header (``oss2.StsAuth``) or the ``security-token``
query parameter of a pre-signed URL, and only until they expire. The answers follow OSS:

========================================  ==================================  ================
situation                                 code                                OSS EC
========================================  ==================================  ================
STS key id without a token                ``InvalidAccessKeyId``              0002-00000002
a token that is not the one issued        ``InvalidSecurityToken``            0002-00000008
an expired STS key pair                   ``SecurityTokenExpired``            0002-00000007
a token sent with a long-term key id      ``InvalidAccessKeyId``              0002-00000002
a write with read-only keys               ``AccessDenied``                    0003-00000001
========================================  ==================================  ================
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import NamedTuple

from .oss_auth import AuthFailure

__all__ = ["Grant", "KeyRing", "StsCredentials", "is_write"]

ACL_DENIED = "You have no right to access this object because of bucket acl."
_NO_KEY = "The OSS Access Key Id you provided does not exist in our records."


class StsCredentials(NamedTuple):
    """Temporary keys as STS AssumeRole returns them; unpacks as ``(id, secret, token)``."""

    access_key_id: str
    access_key_secret: str
    security_token: str

    def __repr__(self) -> str:
        return "StsCredentials(access_key_id=***, access_key_secret=***, security_token=***)"


@dataclass(frozen=True)
class Grant:
    """What one key pair may do: ``read_only``; for STS keys the ``token`` and ``expires`` (epoch seconds)."""

    read_only: bool = False
    token: str | None = None
    expires: float | None = None

    def __repr__(self) -> str:
        kind = "sts" if self.token else "long-term"
        return f"Grant({kind}, read_only={self.read_only}, expires={self.expires!r})"


def is_write(method: str) -> bool:
    """True for requests that change the store: PUT (objects, parts, copies, ACLs, buckets), POST (multipart
    init/complete, batch delete, append) and DELETE; GET, HEAD and OPTIONS only read."""
    return method.upper() in ("PUT", "POST", "DELETE")


class KeyRing:
    """Key pairs ({id: secret}) and their grants; thread-safe."""

    def __init__(self, access_key_id: str, access_key_secret: str) -> None:
        self._lock = threading.Lock()
        self._secrets = {access_key_id: access_key_secret}
        self._grants: dict[str, Grant] = {access_key_id: Grant()}

    def __repr__(self) -> str:
        return f"KeyRing({len(self._secrets)} key pairs)"

    def secrets(self) -> dict[str, str]:
        with self._lock:
            return dict(self._secrets)

    def add(self, access_key_id: str, access_key_secret: str, grant: Grant) -> None:
        with self._lock:
            self._secrets[access_key_id] = access_key_secret
            self._grants[access_key_id] = grant

    def new_pair(self, *, read_only: bool) -> tuple[str, str]:
        """A random long-term key pair (``LTAI…`` id) with the given policy."""
        pair = ("LTAI" + secrets.token_hex(10), secrets.token_urlsafe(24))
        self.add(*pair, Grant(read_only=read_only))
        return pair

    def new_sts(self, ttl: float, *, read_only: bool) -> StsCredentials:
        """Random STS keys valid for ``ttl`` seconds from now."""
        if not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        creds = StsCredentials(
            "STS." + secrets.token_urlsafe(18), secrets.token_urlsafe(30), "CAIS" + secrets.token_urlsafe(96)
        )
        self.add(creds.access_key_id, creds.access_key_secret,
                 Grant(read_only=read_only, token=creds.security_token, expires=time.time() + ttl))  # fmt: skip
        return creds

    def expire(self, access_key_id: str) -> None:
        """Let an STS key pair expire now (as if its time were up)."""
        with self._lock:
            grant = self._grants[access_key_id]
            if grant.token is None:
                raise ValueError("only STS key pairs expire")
            self._grants[access_key_id] = Grant(grant.read_only, grant.token, time.time() - 1)

    def check_token(self, access_key_id: str | None, token: str | None, *, now: float | None = None) -> None:
        """Before the signature, as OSS does: an STS key id needs its own unexpired token, others none.

        Unknown key ids pass here (the signature check answers ``InvalidAccessKeyId`` for them).
        """
        with self._lock:
            grant = self._grants.get(access_key_id or "")
        if grant is None:
            return
        if grant.token is None:
            if token:  # OSS takes any request with a token as an STS request
                raise AuthFailure("InvalidAccessKeyId", _NO_KEY, EC="0002-00000002")
            return
        if not token:
            raise AuthFailure("InvalidAccessKeyId", _NO_KEY, EC="0002-00000002")
        if not hmac.compare_digest(token.encode(), grant.token.encode()):
            raise AuthFailure("InvalidSecurityToken", "The security token you provided is invalid.", EC="0002-00000008")
        now = time.time() if now is None else now
        if grant.expires is not None and now >= grant.expires:
            raise AuthFailure(
                "SecurityTokenExpired", "The security token you provided has expired.", EC="0002-00000007"
            )

    def check_access(self, access_key_id: str, method: str) -> None:
        """After the signature: read-only key pairs may not write (``AccessDenied``, as a bucket ACL answers)."""
        with self._lock:
            grant = self._grants.get(access_key_id, Grant())
        if grant.read_only and is_write(method):
            raise AuthFailure("AccessDenied", ACL_DENIED, EC="0003-00000001")
