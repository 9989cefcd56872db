"""Stores: where clients, resources, grants, consents, users, CORS origins and signing keys come
from. The interfaces are in `identity.stores.interfaces` (re-exported here, the names projects
implement); the instances this process uses in `identity.stores.registry`.
"""

from identity.stores.interfaces import (
    ClientStore,
    ConsentStore,
    CorsPolicy,
    PersistedGrantStore,
    ResourceStore,
    SigningKeyStore,
    UserStore,
)

__all__ = ["ClientStore", "ConsentStore", "CorsPolicy", "PersistedGrantStore", "ResourceStore",
           "SigningKeyStore", "UserStore"]
