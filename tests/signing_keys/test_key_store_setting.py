"""IDENTITY["SIGNING_KEY_STORE"] picks where keys live, like the other *_STORE settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import jwt

from identity.domain.keys import StoredKey
from identity.models import SigningKey
from identity.stores.registry import get_key_ring, get_signing_key_store


class MemoryKeyStore:
    """A signing-key store of one process: enough to see that the setting is honoured."""

    keys_added: list[StoredKey] = []

    def keys(self, algorithm: str) -> list[StoredKey]:
        return [k for k in self.keys_added if k.algorithm == algorithm]

    def add(self, key: StoredKey) -> bool:
        if any(k.algorithm == key.algorithm and k.generation == key.generation
               for k in self.keys_added):
            return False
        self.keys_added.append(key)
        return True

    def revoke(self, kids: list[str], at: datetime) -> list[StoredKey]:
        revoked = [k for k in self.keys_added if k.kid in kids and k.revoked_at is None]
        self.keys_added[:] = [replace(k, revoked_at=at) if k in revoked else k
                              for k in self.keys_added]
        return revoked

    def delete_expired(self, now: datetime) -> int:
        kept = [k for k in self.keys_added if k.expires_at > now]
        removed = len(self.keys_added) - len(kept)
        self.keys_added[:] = kept
        return removed


def test_the_configured_store_holds_the_keys_that_sign(identity_config, seeded,
                                                       token_post) -> None:
    MemoryKeyStore.keys_added = []
    identity_config(SIGNING_KEY_STORE="tests.signing_keys.test_key_store_setting.MemoryKeyStore")
    seeded()
    assert isinstance(get_signing_key_store(), MemoryKeyStore)
    response = token_post({"grant_type": "client_credentials", "scope": "api1"},
                          auth=("service.client", "secret"))
    assert response.status_code == 200, response.content
    kid = jwt.get_unverified_header(response.json()["access_token"])["kid"]
    assert [k.kid for k in MemoryKeyStore.keys_added] == [kid]
    assert not SigningKey.objects.exists()  # the database store was never asked
    assert get_key_ring().store is get_signing_key_store()


def test_the_default_is_the_database_store(seeded, token_post) -> None:
    from identity.stores.orm_keys import OrmSigningKeyStore

    seeded()
    assert isinstance(get_signing_key_store(), OrmSigningKeyStore)
    response = token_post({"grant_type": "client_credentials", "scope": "api1"},
                          auth=("service.client", "secret"))
    kid = jwt.get_unverified_header(response.json()["access_token"])["kid"]
    assert SigningKey.objects.filter(kid=kid).exists()


def test_revoke_signing_key_and_cleanup_work_on_the_configured_store(identity_config, seeded,
                                                                      token_post) -> None:
    from io import StringIO

    from django.core.management import call_command

    MemoryKeyStore.keys_added = []
    identity_config(SIGNING_KEY_STORE="tests.signing_keys.test_key_store_setting.MemoryKeyStore")
    seeded()
    kid = get_key_ring().signing_key().kid
    out = StringIO()
    call_command("revoke_signing_key", "--", kid, stdout=out)  # a kid may start with "-"
    assert f"key {kid}: revoked" in out.getvalue()
    assert [k.kid for k in MemoryKeyStore.keys_added if k.revoked_at is not None] == [kid]
    assert get_key_ring().signing_key().kid != kid  # a new key of the same store signs
    call_command("cleanup_grants", stdout=StringIO())  # asks the configured store, not the table
    assert not SigningKey.objects.exists()
