"""Revoking a signing key in the key ring: two processes (two rings over one store in memory,
sharing a configuration generation), a clock we move."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import jwt
import pytest

from identity.domain.keys import StoredKey, published_keys, signing_key
from identity.tokens.jws import JwsError, verify
from identity.tokens.keys import KeyRing
from tests.signing_keys.test_rotation import POLICY, T0


class SharedKeyStore:
    """One store for every ring, and the generation a database change would bump."""

    def __init__(self) -> None:
        self.rows: list[StoredKey] = []
        self.generation = 0

    def keys(self, algorithm: str) -> list[StoredKey]:
        return [k for k in self.rows if k.algorithm == algorithm]

    def add(self, key: StoredKey) -> bool:
        if any(k.algorithm == key.algorithm and k.generation == key.generation
               for k in self.rows):
            return False
        self.rows.append(key)
        self.generation += 1
        return True

    def revoke(self, kids: list[str], at: datetime) -> list[StoredKey]:
        revoked = [replace(k, revoked_at=at) for k in self.rows
                   if k.kid in kids and k.revoked_at is None]
        by_kid = {k.kid: k for k in revoked}
        self.rows = [by_kid.get(k.kid, k) for k in self.rows]
        self.generation += 1 if revoked else 0
        return revoked


def process(store: SharedKeyStore, algorithms=("RS256",)) -> KeyRing:
    """A server process: it would not re-read the store for an hour but for the generation."""
    return KeyRing(store, list(algorithms), POLICY, "s3cret", refresh_interval=3600,
                   generation=lambda: store.generation)


def _kids(ring: KeyRing) -> set[str]:
    return {k["kid"] for k in ring.jwks()["keys"]}


def _token(ring: KeyRing) -> str:
    key = ring.signing_key()
    return jwt.encode({"sub": "x"}, key.private, algorithm=key.algorithm,
                      headers={"kid": key.kid})


def test_revoking_the_signing_key_on_one_process_withdraws_it_on_the_other(now) -> None:
    store = SharedKeyStore()
    a, b = process(store), process(store)
    old = a.signing_key().kid
    forged = _token(a)  # what someone holding the stolen key could sign
    assert b.signing_key().kid == old and old in _kids(b)
    assert verify(forged, b.verification_keys())[1]["sub"] == "x"
    now["now"] = T0 + timedelta(days=3)

    revoked, created = a.revoke([old])

    assert [k.kid for k in revoked] == [old] and revoked[0].revoked_at == now["now"]
    assert len(created) == 1 and created[0].activates_at == now["now"]  # signs at once
    new = created[0].kid
    for ring in (a, b):  # b at its next use, long before its refresh interval
        assert ring.signing_key().kid == new
        assert _kids(ring) == {new}
        assert old not in ring.verification_keys()
        with pytest.raises(JwsError):
            verify(forged, ring.verification_keys())
        assert old not in {k.kid for k in ring.public_keys()}


def test_a_revoked_key_never_signs_again_even_while_its_schedule_says_it_would(now) -> None:
    store = SharedKeyStore()
    ring = process(store)
    first = ring.signing_key().kid
    ring.rotate()  # a successor, announced for later
    announced = next(k.kid for k in store.rows if k.kid != first)
    ring.revoke([first])
    for days in (0, 13, 14, 15, 60, 89):
        now["now"] = T0 + timedelta(days=days)
        assert ring.signing_key().kid != first, days
    now["now"] = T0 + timedelta(days=15)
    assert ring.signing_key().kid == announced  # the schedule goes on for the other keys


def test_revoking_a_key_that_does_not_sign_creates_none(now) -> None:
    store = SharedKeyStore()
    ring = process(store)
    signing = ring.signing_key().kid
    ring.rotate()
    announced = next(k.kid for k in store.rows if k.kid != signing)
    revoked, created = ring.revoke([announced])
    assert [k.kid for k in revoked] == [announced] and created == []
    assert ring.signing_key().kid == signing
    assert _kids(ring) == {signing}
    assert len(store.rows) == 2


def test_revoking_again_changes_nothing(now) -> None:
    store = SharedKeyStore()
    ring = process(store)
    kid = ring.signing_key().kid
    ring.revoke([kid])
    rows, generation = list(store.rows), store.generation
    assert ring.revoke([kid]) == ([], [])
    assert store.rows == rows and store.generation == generation


def test_only_the_algorithm_of_the_revoked_key_gets_a_new_key(now) -> None:
    store = SharedKeyStore()
    ring = process(store, algorithms=("RS256", "ES256"))
    rs, es = ring.signing_key("RS256").kid, ring.signing_key("ES256").kid
    _, created = ring.revoke([es])
    assert [k.algorithm for k in created] == ["ES256"]
    assert ring.signing_key("RS256").kid == rs
    assert ring.signing_key("ES256").kid == created[0].kid
    assert _kids(ring) == {rs, created[0].kid}


def test_a_process_that_finds_its_signing_key_revoked_without_successor_signs_with_a_new_one(
        now) -> None:
    # The revoking process stopped between the revocation and the new key.
    store = SharedKeyStore()
    ring = process(store)
    old = ring.signing_key().kid
    store.revoke([old], T0)
    new = ring.signing_key()
    assert new.kid != old and new.stored.activates_at == T0
    assert _kids(ring) == {new.kid}


def test_revoked_keys_are_out_of_the_schedule_helpers() -> None:
    key = StoredKey("k", "RS256", 1, "", {}, T0, T0, T0 + timedelta(days=90),
                    T0 + timedelta(days=104))
    revoked = replace(key, revoked_at=T0 + timedelta(days=1))
    later = T0 + timedelta(days=2)
    assert key.state(later) == "signing" and revoked.state(later) == "revoked"
    assert signing_key([revoked], later) is None
    assert published_keys([key, revoked], later) == [key]
