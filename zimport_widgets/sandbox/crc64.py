"""CRC-64/ECMA-182 as OSS computes it (``x-oss-hash-crc64ecma``), and combining the CRC64 of two pieces.

:func:`crc64_combine` gives ``crc64(a + b)`` from ``crc64(a)``, ``crc64(b)`` and ``len(b)`` without
reading the bytes again (GF(2) arithmetic, as zlib's ``crc32_combine``): this is how OSS gives a
multipart object its CRC64 from its parts' CRC64 values. The operators for 2**k zero bytes are built
once per process, so one combine costs at most ~48 small matrix-vector products.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["crc64", "crc64_combine", "crc64_of_parts"]

#: ECMA-182 polynomial, bit-reflected (CRC-64/XZ, which OSS uses: init and xor-out all ones)
_POLY_REFLECTED = 0xC96C5795D7870F42
_MAX_LENGTH_BITS = 48  # combine lengths up to 2**48 bytes (256 TiB)

_CRC64_FN: Any = None
_powers: list[list[int]] = []
_powers_lock = threading.Lock()


def crc64(data: bytes) -> int:
    """CRC-64/ECMA-182 of ``data`` as OSS computes it (crcmod's C routine, a dependency of oss2)."""
    global _CRC64_FN
    if _CRC64_FN is None:
        import crcmod

        _CRC64_FN = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
    return _CRC64_FN(data)


def _times(matrix: list[int], vector: int) -> int:
    """``matrix · vector`` over GF(2); ``matrix[i]`` is the image of bit ``i``."""
    out, i = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[i]
        vector >>= 1
        i += 1
    return out


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, column) for column in matrix]


def _zero_byte_powers() -> list[list[int]]:
    """``[k]``: the operator that appends ``2**k`` zero bytes to a CRC register."""
    if not _powers:
        with _powers_lock:
            if not _powers:
                one_bit = [_POLY_REFLECTED] + [1 << (n - 1) for n in range(1, 64)]  # one zero bit
                op = _square(_square(_square(one_bit)))  # eight zero bits: one zero byte
                powers = [op]
                for _ in range(1, _MAX_LENGTH_BITS):
                    op = _square(op)
                    powers.append(op)
                _powers.extend(powers)
    return _powers


def crc64_combine(crc1: int, crc2: int, len2: int) -> int:
    """``crc64(a + b)`` from ``crc1 = crc64(a)``, ``crc2 = crc64(b)`` and ``len2 = len(b)``."""
    if len2 < 0 or len2 >= 1 << _MAX_LENGTH_BITS:
        raise ValueError(f"length {len2} out of range")
    powers = _zero_byte_powers()
    k = 0
    while len2:
        if len2 & 1:
            crc1 = _times(powers[k], crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2


def crc64_of_parts(parts: Iterable[tuple[int, int]]) -> int:
    """The CRC64 of the concatenation of pieces given as ``(crc64, length)`` in order."""
    out = 0  # the CRC64 of no bytes
    for crc, length in parts:
        out = crc64_combine(out, crc, length)
    return out
