"""The key schedule and the key ring, with a store in memory and a clock we move."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from identity.domain.keys import RotationPolicy, StoredKey, needs_new_key, signing_key
from identity.tokens.key_material import KeyDecryptionError, decrypt_private_key
from identity.tokens.keys import KeyRing
from tests.signing_keys.conftest import T0

DAY = 86400
POLICY = RotationPolicy(rotation_interval=90 * DAY, propagation_time=14 * DAY,
                        retention=14 * DAY)


class MemoryKeyStore:
    def __init__(self) -> None:
        self.rows: list[StoredKey] = []
        self.reads = 0

    def keys(self, algorithm: str) -> list[StoredKey]:
        self.reads += 1
        return [k for k in self.rows if k.algorithm == algorithm]

    def add(self, key: StoredKey) -> bool:
        if any(k.algorithm == key.algorithm and k.generation == key.generation
               for k in self.rows):
            return False
        self.rows.append(key)
        return True


def ring(store, algorithms=("RS256",), secret="s3cret") -> KeyRing:
    return KeyRing(store, list(algorithms), POLICY, secret, refresh_interval=0)


def test_first_use_creates_a_key_that_signs_at_once(now) -> None:
    store = MemoryKeyStore()
    key = ring(store).signing_key()
    assert len(store.rows) == 1 and key.kid == store.rows[0].kid
    assert store.rows[0].activates_at == T0
    assert store.rows[0].retires_at == T0 + timedelta(days=90)
    assert store.rows[0].expires_at == T0 + timedelta(days=104)


def test_successor_is_announced_before_it_signs_and_old_key_stays_published(now) -> None:
    store = MemoryKeyStore()
    keys = ring(store)
    first = keys.signing_key().kid
    now["now"] = T0 + timedelta(days=75)
    assert keys.signing_key().kid == first and len(store.rows) == 1
    now["now"] = T0 + timedelta(days=76, seconds=1)
    assert keys.signing_key().kid == first  # the successor is announced, not signing
    assert len(store.rows) == 2
    second = store.rows[1]
    assert second.activates_at == now["now"] + timedelta(days=14)
    assert {k["kid"] for k in keys.jwks()["keys"]} == {first, second.kid}
    now["now"] = second.activates_at
    assert keys.signing_key().kid == second.kid
    now["now"] = T0 + timedelta(days=103)
    assert first in {k["kid"] for k in keys.jwks()["keys"]}  # retired, still published
    now["now"] = T0 + timedelta(days=104, seconds=1)
    assert first not in {k["kid"] for k in keys.jwks()["keys"]}


def test_token_signed_by_previous_key_verifies_while_it_is_published(now) -> None:
    store = MemoryKeyStore()
    keys = ring(store)
    old = keys.signing_key()
    token = jwt.encode({"sub": "x"}, old.private, algorithm="RS256", headers={"kid": old.kid})
    keys.rotate(immediately=True)
    assert keys.signing_key().kid != old.kid
    published = {k["kid"]: k for k in keys.jwks()["keys"]}
    public = jwt.PyJWK(published[old.kid]).key
    assert jwt.decode(token, public, algorithms=["RS256"])["sub"] == "x"


def test_two_processes_share_keys_and_a_creation_race_has_one_winner(now) -> None:
    store = MemoryKeyStore()
    a, b = ring(store), ring(store)
    assert a.signing_key().kid == b.signing_key().kid
    assert len(store.rows) == 1


def test_race_loser_adopts_the_winners_key(now) -> None:
    store = MemoryKeyStore()
    a = ring(store)
    winner = a.signing_key()
    b = ring(store)
    b._create("RS256", [], now["now"], immediately=True)  # stale view: generation 1 again
    assert len(store.rows) == 1
    assert b.signing_key().kid == winner.kid


def test_es256_and_ps256_keys(now) -> None:
    keys = ring(MemoryKeyStore(), algorithms=("ES256", "PS256"))
    assert keys.signing_key().algorithm == "ES256"
    assert keys.signing_key("PS256").algorithm == "PS256"
    jwks = keys.jwks()["keys"]
    assert {(k["kty"], k["alg"]) for k in jwks} == {("EC", "ES256"), ("RSA", "PS256")}


def test_private_keys_are_encrypted_and_never_published(now) -> None:
    store = MemoryKeyStore()
    keys = ring(store, algorithms=("RS256", "ES256"))
    keys.signing_key()
    for row in store.rows:
        assert "PRIVATE KEY" not in row.private_key
        with pytest.raises(KeyDecryptionError):
            decrypt_private_key(row.private_key, "another secret")
    for jwk in keys.jwks()["keys"]:
        assert {"d", "p", "q", "dp", "dq", "qi"}.isdisjoint(jwk)
        assert {"kid", "kty", "use", "alg"} <= set(jwk) and jwk["use"] == "sig"


def test_keys_unreadable_after_a_secret_change_are_replaced(now) -> None:
    store = MemoryKeyStore()
    old = ring(store, secret="one").signing_key()
    new = ring(store, secret="two").signing_key()
    assert new.kid != old.kid and len(store.rows) == 2


def test_refresh_interval_limits_store_reads(now) -> None:
    store = MemoryKeyStore()
    keys = KeyRing(store, ["RS256"], POLICY, "s", refresh_interval=3600)
    keys.signing_key()
    reads = store.reads
    for _ in range(50):
        keys.signing_key()
    assert store.reads == reads


def test_schedule_helpers() -> None:
    key = StoredKey("k", "RS256", 1, "", {}, T0, T0, T0 + timedelta(days=90),
                    T0 + timedelta(days=104))
    assert signing_key([key], T0 + timedelta(days=91)) is None
    assert needs_new_key([key], T0 + timedelta(days=77), POLICY)
    assert not needs_new_key([key], T0 + timedelta(days=10), POLICY)
    assert key.state(T0 + timedelta(days=95)) == "retired"


class FailingStore(MemoryKeyStore):
    """A key store whose database can go away."""

    down = False

    def keys(self, algorithm: str) -> list[StoredKey]:
        if self.down:
            raise ConnectionError("database unavailable")
        return super().keys(algorithm)


def test_an_outage_of_the_key_store_leaves_the_loaded_keys_signing(now) -> None:
    store = FailingStore()
    keys = ring(store)  # refresh_interval=0: every use reads the store
    kid = keys.signing_key().kid
    store.down = True
    assert keys.signing_key().kid == kid
    assert keys.jwks()["keys"][0]["kid"] == kid
    store.down = False
    reads = store.reads
    keys.signing_key()
    assert store.reads == reads  # the next attempt waits RELOAD_RETRY seconds, not every use


def test_after_an_outage_the_keys_are_read_again(now, monkeypatch) -> None:
    from identity.tokens import keys as key_module

    monkeypatch.setattr(key_module, "RELOAD_RETRY", 0)
    store = FailingStore()
    keys = ring(store)
    keys.signing_key()
    store.down = True
    keys.signing_key()
    store.down = False
    reads = store.reads
    keys.signing_key()
    assert store.reads > reads


def test_without_loaded_keys_an_outage_of_the_key_store_is_an_error(now) -> None:
    store = FailingStore()
    store.down = True
    with pytest.raises(ConnectionError):
        ring(store).signing_key()


def _announced_successor(store: MemoryKeyStore, now: dict) -> tuple[str, StoredKey]:
    """Make a signing key and its announced successor in `store`; return the first's kid."""
    keys = ring(store)
    first = keys.signing_key().kid
    now["now"] = T0 + timedelta(days=76, seconds=1)
    keys.signing_key()
    assert len(store.rows) == 2
    return first, store.rows[1]


def test_the_kept_signing_key_gives_way_at_the_successors_activation(now) -> None:
    store = MemoryKeyStore()
    first, second = _announced_successor(store, now)
    keys = KeyRing(store, ["RS256"], POLICY, "s3cret", refresh_interval=365 * DAY)
    assert keys.signing_key().kid == first
    reads = store.reads
    assert keys.signing_key().kid == first and store.reads == reads  # kept, not read again
    now["now"] = second.activates_at
    assert keys.signing_key().kid == second.kid


def test_during_an_outage_the_successor_still_signs_from_its_activation(now) -> None:
    store = FailingStore()
    first, second = _announced_successor(store, now)
    keys = KeyRing(store, ["RS256"], POLICY, "s3cret", refresh_interval=365 * DAY)
    assert keys.signing_key().kid == first
    store.down = True
    now["now"] = second.activates_at
    assert keys.signing_key().kid == second.kid  # chosen among the loaded keys, store down
