"""Token hashing shared by the hash tower and the learned towers' id scheme.

Bit-compatible with the seed's Rust code: `SipHasher13::new_with_keys(K0, K1)`
fed by `str::hash`, which writes the UTF-8 bytes followed by one 0xff byte.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from siphash24 import siphash13

HASH_SEED_K0 = 0x0123456789ABCDEF
HASH_SEED_K1 = 0xFEDCBA9876543210
# SipHash keys are (k0, k1) as two little-endian u64s.
_KEY = struct.pack("<QQ", HASH_SEED_K0, HASH_SEED_K1)
_STR_TERMINATOR = b"\xff"


def token_hash(token: str) -> int:
    """Unsigned 64-bit SipHash-1-3 of a token, as Rust's `token.hash(&mut h)`."""
    digest = siphash13(token.encode("utf-8") + _STR_TERMINATOR, key=_KEY).digest()
    return int.from_bytes(digest, "little")


def token_hashes(tokens: Iterable[str]) -> list[int]:
    return [token_hash(t) for t in tokens]
