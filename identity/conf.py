"""The `IDENTITY` settings dictionary with documented defaults (after DRF's `api_settings`)."""

from __future__ import annotations

from typing import Any, Final

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULTS: Final[dict[str, Any]] = {
    # Absolute URL of this server, the `iss` of every token; None: taken from the request.
    "ISSUER": None,
    # Dotted path of the ClientStore class behind the cache (the database store of clients_app).
    "CLIENT_STORE": "clients_app.stores.OrmClientStore",
    # Dotted path of the ResourceStore class (scopes and resources).
    "RESOURCE_STORE": "clients_app.stores.OrmResourceStore",
    # Dotted path of the CorsPolicy class answering which origins clients allow.
    "CORS_POLICY": "clients_app.stores.OrmCorsPolicy",
    # Dotted path of the user store (is_active, claims) behind sign-in and userinfo.
    "USER_STORE": "identity.stores.orm_users.DjangoUserStore",
    # Dotted path of the function (user, claim_types) -> dict that maps users to claims.
    "USER_CLAIMS": "identity.stores.orm_users.default_user_claims",
    # Dotted paths of the persisted-grant and consent stores.
    "GRANT_STORE": "identity.stores.orm_grants.OrmPersistedGrantStore",
    "CONSENT_STORE": "identity.stores.orm_grants.OrmConsentStore",
    # Dotted path of the signing-key store every process shares (keys, add, revoke).
    "SIGNING_KEY_STORE": "identity.stores.orm_keys.OrmSigningKeyStore",
    # Dotted path of the store of device authorization requests (RFC 8628).
    "DEVICE_FLOW_STORE": "identity.stores.orm_devices.OrmDeviceFlowStore",
    # Seconds during which a rotated refresh token may be presented again (concurrent
    # refreshes) without revoking its family; 0: never.
    "REFRESH_TOKEN_REUSE_GRACE": 0,
    # URL name or path of the login page the authorize endpoint sends users to.
    "LOGIN_URL": "identity:login",
    # IdentityServer JSON file whose clients and resources are served from memory, found first.
    "CLIENTS_FILE": None,
    # Seconds a client found in the database stays in Django's cache (IdentityServer: 15 min).
    "CLIENT_CACHE_TIMEOUT": 900,
    # Name of the Django cache (CACHES key) that holds clients.
    "CACHE_ALIAS": "default",
    # Skip clients that break the configuration rules when read from a store (logged).
    "VALIDATE_CLIENTS_ON_READ": True,
    # Seconds resources (scopes, APIs) stay in Django's cache; saving one invalidates them.
    "RESOURCE_CACHE_TIMEOUT": 900,
    # Signing algorithms, one key series each; the first signs access tokens by default.
    "SIGNING_ALGORITHMS": ["RS256"],
    # Seconds from a key's creation until it stops signing (Duende RotationInterval: 90 days).
    "KEY_ROTATION_INTERVAL": 90 * 86400,
    # Seconds a new key is published before it signs (Duende PropagationTime: 14 days).
    "KEY_PROPAGATION_TIME": 14 * 86400,
    # Seconds a retired key stays published for validation (Duende RetentionDuration: 14 days).
    "KEY_RETENTION": 14 * 86400,
    # Seconds a server process uses its loaded key set before reading the database again.
    "KEY_REFRESH_INTERVAL": 60,
    # Secret from which the key that encrypts private signing keys at rest is derived;
    # None: Django's SECRET_KEY.
    "KEY_ENCRYPTION_SECRET": None,
    # Audience added to every access token (IdentityServer's "{issuer}/resources" when
    # EmitStaticAudienceClaim); None: only when no API resource owns the granted scopes.
    "ACCESS_TOKEN_STATIC_AUDIENCE": None,
    # Largest accepted body of a back-channel request, in bytes.
    "MAX_REQUEST_BODY": 16384,
    # Longest accepted value per parameter, in characters (IdentityServer InputLengthRestrictions).
    "INPUT_LENGTHS": {
        "client_id": 100, "client_secret": 100, "grant_type": 100, "scope": 300,
        "redirect_uri": 400, "code": 100, "refresh_token": 100, "code_verifier": 128,
        "token": 4000, "token_type_hint": 100, "client_assertion": 4000, "request": 8000,
        "device_code": 100, "user_code": 100,
    },
    # Longest accepted value of any other parameter, in characters.
    "DEFAULT_INPUT_LENGTH": 2000,
    # Failures (client secrets, passwords) from one address for one client id or user account
    # before that address gets 429 for it; None switches the counter off.
    "AUTH_FAILURE_LIMIT": 10,
    # Failures from one address for any ids before that address gets 429; None: off.
    "AUTH_FAILURE_LIMIT_PER_ADDRESS": 100,
    # Seconds over which failures are counted, and the Retry-After of a refusal.
    "AUTH_FAILURE_WINDOW": 300,
    # Request header holding the client address behind a trusted proxy (e.g.
    # "HTTP_X_FORWARDED_FOR"); None: REMOTE_ADDR.
    "CLIENT_IP_HEADER": None,
    # Proxies in front of the server that append to CLIENT_IP_HEADER: the caller's address is
    # that many entries from the end (entries before are written by the caller).
    "TRUSTED_PROXIES": 1,
    # Seconds between two writes of a client's "last used" time (never on every request).
    "LAST_USED_INTERVAL": 300,
    # Scope an access token needs for the management API (/api/...), reads and writes.
    "MANAGEMENT_SCOPE": "identity.manage",
    # Scope that lets an access token read the management API, never change anything.
    "MANAGEMENT_READ_SCOPE": "identity.manage.read",
    # Requests per caller (a staff user, or a token's client and user) to the management API,
    # as "count/second|minute|hour|day", counted across all processes; None: no limit.
    "MANAGEMENT_THROTTLE_RATE": "1200/minute",
    # ---- device authorization grant (RFC 8628) ----
    # Wrong user codes typed on the device page from one address (as the trusted proxy saw
    # it) before that address gets 429 there for AUTH_FAILURE_WINDOW; None: off.
    "DEVICE_USER_CODE_FAILURE_LIMIT_PER_ADDRESS": 20,
    # Wrong user codes typed within one sign-in session before it gets 429 there; None: off.
    "DEVICE_USER_CODE_FAILURE_LIMIT_PER_SESSION": 5,
    # ---- dynamic client registration (RFC 7591, RFC 7592) ----
    # Dotted path of the ClientRegistrationStore (registered clients and their tokens' hashes).
    "CLIENT_REGISTRATION_STORE": "clients_app.registration.OrmClientRegistrationStore",
    # Scope the initial access token needs at the registration endpoint (/connect/dcr).
    "REGISTRATION_SCOPE": "dcr",
    # Let anyone register without an initial access token (RFC 7591 §3: open registration).
    "REGISTRATION_ALLOW_ANONYMOUS": False,
    # Anonymous registrations per caller address (the address the trusted proxy saw), as
    # "count/period"; an open endpoint must not let one host fill the clients table.
    "REGISTRATION_ANONYMOUS_RATE": "10/hour",
    # Grant types a registered client may ask for (refresh_token: AllowOfflineAccess).
    "REGISTRATION_GRANT_TYPES": ["authorization_code", "refresh_token", "client_credentials"],
    # Scopes a registered client may ask for (offline_access follows refresh_token); a request
    # for any other scope is refused with invalid_client_metadata.
    "REGISTRATION_SCOPES": ["openid", "profile", "email"],
    # Seconds until a registered client's secret expires (client_secret_expires_at); 0: never.
    "REGISTRATION_SECRET_LIFETIME": 0,
    # Text put before every generated client id, e.g. "dcr-"; the rest is 192 random bits.
    "REGISTRATION_CLIENT_ID_PREFIX": "",
    # Whether registered clients ask the user's consent (RequireConsent).
    "REGISTRATION_REQUIRE_CONSENT": True,
    # ---- high-security clients (FAPI 2.0: RFC 7523, RFC 9126, RFC 9449, RFC 9101) ----
    # Seconds a pushed authorization request's request_uri stays usable (a client's
    # PushedAuthorizationLifetime wins).
    "PUSHED_AUTHORIZATION_LIFETIME": 60,
    # Refuse authorization requests that were not pushed (RFC 9126 §5), for every client.
    "REQUIRE_PUSHED_AUTHORIZATION": False,
    # Longest accepted lifetime of a client assertion (exp - now), in seconds.
    "CLIENT_ASSERTION_MAX_LIFETIME": 300,
    # Accept only the issuer, as a string, as a client assertion's aud (FAPI 2.0 §5.3.2.1);
    # False also accepts the endpoint's URL and arrays (RFC 7523, OpenID Connect Core §9).
    "CLIENT_ASSERTION_ISSUER_AUDIENCE_ONLY": False,
    # Algorithms accepted from clients: assertions, request objects, DPoP proofs (some of
    # RS256, PS256, ES256; FAPI 2.0 §5.4 allows PS256 and ES256 only).
    "CLIENT_SIGNING_ALGORITHMS": ["RS256", "PS256", "ES256"],
    # Seconds a DPoP proof is accepted after its iat (plus the client's DPoPClockSkew).
    "DPOP_PROOF_LIFETIME": 60,
    # Seconds a DPoP nonce issued by the server stays valid.
    "DPOP_NONCE_LIFETIME": 300,
    # Seconds a client's key set fetched from its jwks_uri is kept.
    "JWKS_URI_CACHE_TIMEOUT": 300,
    # Shortest time between two fetches of a jwks_uri for an unknown kid, per process.
    "JWKS_URI_REFETCH_INTERVAL": 60,
    # Fetch jwks_uri over https only; False also allows http (development, tests).
    "JWKS_URI_REQUIRE_HTTPS": True,
    # Seconds one back-channel logout POST may take; the sign-out waits at most about this long.
    "BACK_CHANNEL_LOGOUT_TIMEOUT": 2.0,
    # Logout POSTs sent at once when a user signs out (threads).
    "BACK_CHANNEL_LOGOUT_WORKERS": 8,
    # Seconds a logout token is valid after its iat.
    "BACK_CHANNEL_LOGOUT_TOKEN_LIFETIME": 120,
    # Times a failed logout is sent again by send_back_channel_logouts before giving up.
    "BACK_CHANNEL_LOGOUT_RETRIES": 3,
    # Seconds before the first retry; each later retry waits twice as long.
    "BACK_CHANNEL_LOGOUT_RETRY_DELAY": 60,
    # ---- server-side sessions ----
    # Seconds a sign-in session lasts from sign-in, whatever the activity (IdentityServer's
    # CookieLifetime: 10 hours); None: no absolute limit.
    "SESSION_LIFETIME": 36000,
    # Seconds without any request of the browser after which a session ends; None: never.
    "SESSION_IDLE_TIMEOUT": 7200,
    # Revoke the refresh and reference tokens issued in a session when it ends (IdentityServer's
    # CoordinateClientLifetimesWithUserSession); False: offline access outlives the session.
    "SESSION_END_REVOKES_REFRESH_TOKENS": False,
    # Send back-channel logouts when a session ends by expiry, not only when it is ended.
    "EXPIRED_SESSIONS_TRIGGER_BACK_CHANNEL_LOGOUT": True,
}
IMPORT_STRINGS: Final = frozenset({
    "CLIENT_STORE", "RESOURCE_STORE", "CORS_POLICY", "USER_STORE", "USER_CLAIMS", "GRANT_STORE",
    "CONSENT_STORE", "SIGNING_KEY_STORE", "CLIENT_REGISTRATION_STORE", "DEVICE_FLOW_STORE",
})
# Settings that no longer exist, and why: a project that still sets one is told at start-up.
REMOVED: Final[dict[str, str]] = {
    "AUTH_FAILURE_LIMIT_PER_ID": (
        "a limit per id from any address let anyone lock a client or user out by sending "
        "failures under its public id; failures now count per id and address, and per address"),
}


class IdentitySettings:
    """`settings.IDENTITY` merged over DEFAULTS, as attributes; dotted paths imported lazily."""

    @property
    def user_settings(self) -> dict[str, Any]:
        """Return the project's `IDENTITY` dictionary, checked for unknown and removed keys."""
        user = getattr(settings, "IDENTITY", {}) or {}
        for key in user:
            if key in REMOVED:
                raise RuntimeError(f"IDENTITY[{key!r}] has been removed ({REMOVED[key]}); "
                                   "delete it.")
            if key not in DEFAULTS:
                raise RuntimeError(
                    f"IDENTITY[{key!r}] is not a setting; known: {', '.join(sorted(DEFAULTS))}.")
        return user

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid identity setting: {name!r}")
        value = self.user_settings.get(name, DEFAULTS[name])
        if name in IMPORT_STRINGS and isinstance(value, str):
            value = import_string(value)
        # Kept as an instance attribute: later reads find it without calling __getattr__ (a
        # token request reads about thirty settings).
        self.__dict__[name] = value
        return value

    def reload(self) -> None:
        """Forget cached values (settings changed, e.g. in a test)."""
        for name in DEFAULTS:
            self.__dict__.pop(name, None)


identity_settings = IdentitySettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "IDENTITY":
        identity_settings.reload()  # the stores' registry resets itself on the same signal


setting_changed.connect(_reload)
