"""token_hash against the values printed by the Rust golden program.

golden.rs hashes with its own SipHash-1-3, which it first proves equal to std's
DefaultHasher; here the independent siphash24 C library must agree on every string.
"""

from __future__ import annotations

import json
from pathlib import Path

from ses_udf.hashing import HASH_SEED_K0, HASH_SEED_K1, token_hash, token_hashes

GOLDEN = json.loads(
    (Path(__file__).parents[1] / "golden" / "hash_v2_golden.json").read_text(encoding="utf-8")
)
CASES = GOLDEN["token_hashes"]


def test_keys_are_the_seeds():
    assert int(GOLDEN["hash_keys"]["k0"], 16) == HASH_SEED_K0
    assert int(GOLDEN["hash_keys"]["k1"], 16) == HASH_SEED_K1


def test_rust_proved_its_siphash_against_std():
    assert GOLDEN["siphash_self_check"]["strings"] == len(CASES)


def test_token_hash_matches_rust_for_every_golden_string():
    assert len(CASES) > 100
    mismatches = [
        (c["token"], c["hash"], f"{token_hash(c['token']):016x}")
        for c in CASES
        if token_hash(c["token"]) != int(c["hash"], 16)
    ]
    assert mismatches == []


def test_edge_strings_are_covered():
    tokens = {c["token"] for c in CASES}
    # every SipHash tail length 0..7 (the +0xff byte included), a full block and more
    assert {(len(t.encode()) + 1) % 8 for t in tokens} == set(range(8))
    assert {"", "東京都", "nul\x00inside", "skill:rust_sign"} <= tokens
    assert any(len(t.encode()) > 64 for t in tokens)


def test_token_hashes_is_elementwise():
    sample = [c["token"] for c in CASES[:10]]
    assert token_hashes(sample) == [int(c["hash"], 16) for c in CASES[:10]]
    assert all(0 <= h < 2**64 for h in token_hashes(sample))
