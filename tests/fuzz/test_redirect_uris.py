"""Redirect URI attacks at the authorize and end-session endpoints.

Spec: RFC 6749 §3.1.2.2-3.1.2.4 and §10.6, §10.15; RFC 9700 §4.1.3 (exact string matching);
RFC 8252 §7.3 (loopback: only the port may differ); RP-Initiated Logout 1.0 §2-3
(post_logout_redirect_uri must match one registered for the client of the id_token_hint).

Never a redirect (Location, form_post action, meta refresh or link) to anything but a registered
URI. The rule the answers are checked against (`redirect_allowed`) is written independently of
the server's.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import quote, urlencode

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from tests.fuzz.oracles import redirect_allowed
from tests.fuzz.strategies import (
    PKCE_CHALLENGE,
    JwtSpec,
    Literal,
    Rel,
    b64url,
    form,
    fuzz_settings,
    jwt_specs,
    mutated_uris,
    token_specs,
)
from tests.fuzz.world import REGISTRY

pytestmark = pytest.mark.django_db

CODE_CLIENTS = ("interactive", "web", "native", "mobile")
REGISTERED = tuple((c, uri) for c in CODE_CLIENTS for uri in REGISTRY[c].redirect_uris)
POST_LOGOUT = tuple((c, uri) for c in REGISTRY for uri in REGISTRY[c].post_logout_redirect_uris)
ALL_POST_LOGOUT = tuple(uri for _, uri in POST_LOGOUT)

# Explicit attacks, written against the parts of a registered URI: {s} scheme, {a} authority,
# {r} path and query; upper-case {S} {A} {R}; {r1} the rest without its first "/"; {renc} with
# one letter percent-encoded; {rnl} with a newline inside; {acyr} a Cyrillic lookalike in the
# host; {adot} an ideographic full stop for a dot.
TEMPLATES = (
    # exact, and loopback ports (the only allowed differences)
    "{u}", "{s}://{a}:8080{r}", "{s}://{a}:0{r}", "{s}://{a}:{r}", "{s}://{a}:65535{r}",
    # case
    "{S}://{a}{r}", "{s}://{A}{r}", "{s}://{a}{R}",
    # ports
    "{s}://{a}:443{r}", "{s}://{a}:80{r}", "{s}://{a}:65536{r}", "{s}://{a}:+80{r}",
    "{s}://{a}:-1{r}", "{s}://{a}: 80{r}", "{s}://{a}:80:80{r}", "{s}://{a}:８０{r}",
    "{s}://{a}:80\t80{r}", "{s}://{a}:80\n80{r}",
    # path traversal and normalisation
    "{s}://{a}/..{r}", "{s}://{a}/.{r}", "{s}://{a}/x/..{r}", "{s}://{a}{r}/..", "{s}://{a}/{r}",
    "{s}://{a}{r}/../../evil", "{s}://{a}{r}/.",
    # percent-encoding: dots, slashes, letters, double encoding
    "{s}://{a}{renc}", "{s}://{a}/%2e%2e{r}", "{s}://{a}/%2E{r}", "{s}://{a}%2f{r1}",
    "{s}://{a}%2F{r1}", "{s}://{a}/%252e%252e{r}", "{s}://{a}{r}%2f..%2f..%2fevil",
    "{s}%3a%2f%2f{a}{r}", "{s}://{a}%252f{r1}", "{qu}",
    # user info in the authority
    "{s}://{a}@evil.example{r}", "{s}://evil.example@{a}{r}", "{s}://{a}%40evil.example{r}",
    "{s}://{a}:pw@evil.example{r}", "{s}://{a}:8080@evil.example{r}",
    # other hosts
    "{s}://{a}.evil.example{r}", "{s}://{a}.{r}", "{s}://evil{a}{r}", "{s}://evil.example/{a}{r}",
    "{s}://evil.example#{a}{r}", "{s}://evil.example?{a}{r}", "{s}://{a}%00.evil.example{r}",
    "{s}://{a}:8080.evil.example{r}",
    # query, fragment, trailing characters
    "{u}?x=1", "{u}&x=1", "{u}?redirect_uri=https://evil.example", "{u}#", "{u}#x",
    "{u}#@evil.example", "{u}/", "{u}.", "{u}?", "{u};", "{u}%20", "{u}%23", "{u}%3f",
    # schemes that run code
    "javascript:alert(document.domain)//{a}{r}", "javascript://{a}{r}%0aalert(1)",
    "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:msgbox(1)",
    "javascript:{u}", " javascript:alert(1)//{a}{r}",
    # backslashes
    "{s}:\\\\{a}{r}", "{s}://{a}\\{r1}", "{s}://evil.example\\@{a}{r}",
    "{s}://{a}\\@evil.example{r}", "{s}:/\\{a}{r}", "{s}:\\\\evil.example\\{a}{r}",
    # whitespace, CRLF, NUL, invisible characters
    " {u}", "{u} ", "\t{u}", "{u}\t", "{u}\n", "{u}\r\nLocation: https://evil.example",
    "{u}%0d%0aLocation:%20https://evil.example", "{s}://{a}{rnl}", "{s}://{a}:8080{rnl}",
    "{s}://{a}:8080{r}\t", "{s}://{a}:8080{r}\n", "{u}\x00", "{u}%00", "{u}\u200b",
    "\ufeff{u}", "{u}\u00a0", "{s}://{a}\u3000{r}",
    # scheme-relative and scheme-less
    "//{a}{r}", "{a}{r}", "/{a}{r}", "{s}:{a}{r}", "{s}:/{a}{r}", "{s}:///{a}{r}",
    # Unicode lookalikes
    "{s}://{acyr}{r}", "{s}://{adot}{r}", "{s}://{a}{rcyr}",
)
CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "l": "ⅼ", "1": "１"}


def _lookalike(text: str) -> str:
    for i, char in enumerate(text):
        if char in CYRILLIC:
            return text[:i] + CYRILLIC[char] + text[i + 1:]
    return text + "․"


def attacks_on(uri: str) -> list[str]:
    scheme, _, rest = uri.partition(":")
    authority, path = "", rest
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        path = slash + path
    letter = next((i for i, c in enumerate(path) if c.isalpha()), None)
    renc = path if letter is None else (
        f"{path[:letter]}%{ord(path[letter]):02x}{path[letter + 1:]}")
    fields = {
        "u": uri, "s": scheme, "a": authority, "r": path, "S": scheme.upper(),
        "A": authority.upper(), "R": path.upper(), "r1": path[1:], "renc": renc,
        "rnl": path[:3] + "\n" + path[3:], "acyr": _lookalike(authority),
        "adot": authority.replace(".", "。", 1), "rcyr": _lookalike(path),
        "qu": quote(uri, safe=""),
    }
    return list(dict.fromkeys(t.format(**fields) for t in TEMPLATES))


def _authorize(fuzz, world, client_id: str, redirect_uri: str, *, method: str = "GET",
               response_mode: str | None = None, signed_in: bool = True, state: str = "st/1 &"):
    params = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
              "scope": "openid profile", "code_challenge": PKCE_CHALLENGE,
              "code_challenge_method": "S256", "state": state}
    if response_mode:
        params["response_mode"] = response_mode
    browser = fuzz.signed_in(world) if signed_in else fuzz.browser()
    if method == "GET":
        return fuzz.send("authorize", query=form(params), client=browser)
    return fuzz.send("authorize", "POST", body=form(params), client=browser,
                     content_type="application/x-www-form-urlencoded")


def _expect_authorize(fuzz, response, client_id: str, attack: str, state: str,
                      signed_in: bool = True) -> None:
    # The documented form rules first: no NUL anywhere, redirect_uri within its 400 characters.
    allowed = ("\x00" not in attack + state and len(attack) <= 400
               and redirect_allowed(attack, client_id))
    outcome = fuzz.check_authorize(response, expect_trusted=allowed,
                                   redirect_uri=attack if allowed else None)
    if not allowed:
        assert outcome.kind == "page", response.content[:300]
    elif client_id == "web":  # it requires consent: the consent page first
        assert outcome.kind == ("consent" if signed_in else "login"), response
    elif signed_in:
        # RFC 6749 §4.1.2: state exactly as sent; an empty one counts as absent (§3.1)
        assert outcome.kind == "client" and outcome.params.get("state") == (state or None), \
            response
        assert "code" in outcome.params, outcome.params


def _every_attack(registered: str, check) -> None:
    """Run `check` on each explicit attack; report every one that fails, not just the first."""
    failures = []
    for attack in attacks_on(registered):
        try:
            check(attack)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures.append(f"{attack!r}: {type(exc).__name__}: {str(exc)[:600]}")
    assert not failures, f"{len(failures)} attacks on {registered}:\n" + "\n".join(failures)


@pytest.mark.parametrize(("client_id", "registered"), REGISTERED)
def test_authorize_redirects_only_to_registered_uris(fuzz, world, client_id, registered) -> None:
    def check(attack: str) -> None:
        fuzz.begin()
        response = _authorize(fuzz, world, client_id, attack)
        _expect_authorize(fuzz, response, client_id, attack, "st/1 &")

    _every_attack(registered, check)


@fuzz_settings(500)
@given(pick=st.sampled_from(REGISTERED).flatmap(
           lambda pick: st.tuples(st.just(pick[0]), mutated_uris((pick[1],)))),
       method=st.sampled_from(("GET", "POST")),
       response_mode=st.sampled_from((None, "query", "fragment", "form_post")),
       signed_in=st.integers(0, 3), state=st.text(max_size=12))
def test_authorize_with_mutated_redirect_uris(fuzz, world, pick, method, response_mode,
                                              signed_in, state) -> None:
    fuzz.begin()
    client_id, mutated = pick
    attack = mutated.uri
    response = _authorize(fuzz, world, client_id, attack, method=method,
                          response_mode=response_mode, signed_in=signed_in > 0, state=state)
    event("allowed" if redirect_allowed(attack, client_id) else "refused")
    _expect_authorize(fuzz, response, client_id, attack, state, signed_in > 0)


# --- end session ----------------------------------------------------------------------------


def _hint(jwt_ctx, client_id: str, **changes) -> str:
    """An ID token as the server issues them (our key, our issuer), for `client_id`."""
    spec = JwtSpec(typ="JWT", claim_changes=(("aud", client_id),
                                             *((k, v) for k, v in changes.items())))
    return spec.build(jwt_ctx)


def _end_session(fuzz, world, params: dict[str, str], *, method: str = "GET",
                 signed_in: bool = False):
    clients = ("interactive", "web") if signed_in else ()
    browser = fuzz.signed_in(world, clients=clients) if signed_in else fuzz.browser()
    if method == "GET":
        response = fuzz.send("endsession", query=form(params), client=browser)
    else:
        response = fuzz.send("endsession", "POST", body=form(params), client=browser,
                             content_type="application/x-www-form-urlencoded")
    return response, clients


def _with_state(uri: str, state: str | None) -> str:
    if not state:
        return uri
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode({'state': state})}"


@pytest.mark.parametrize(("client_id", "registered"), POST_LOGOUT)
def test_end_session_redirects_only_to_registered_uris(fuzz, world, jwt_ctx, client_id,
                                                       registered) -> None:
    hint = _hint(jwt_ctx, client_id)

    def check(attack: str) -> None:
        fuzz.begin()
        params = {"id_token_hint": hint, "post_logout_redirect_uri": attack, "state": "s/1 &"}
        response, clients = _end_session(fuzz, world, params)
        expected = _with_state(attack, "s/1 &") if attack == registered else None
        fuzz.check_end_session(response, expect=expected, session_clients=clients)

    _every_attack(registered, check)


@fuzz_settings(300)
@given(hinted=st.sampled_from(("interactive", "web", "native")),
       uri=st.one_of(st.sampled_from(ALL_POST_LOGOUT),
                     mutated_uris(ALL_POST_LOGOUT).map(lambda m: m.uri)),
       asked=st.sampled_from((None, None, "same", "interactive", "web", "unknown")),
       expired=st.booleans(), state=st.one_of(st.none(), st.text(max_size=12)),
       signed_in=st.booleans(), method=st.sampled_from(("GET", "POST")))
def test_end_session_with_mutated_post_logout_uris(fuzz, world, jwt_ctx, hinted, uri, asked,
                                                   expired, state, signed_in, method) -> None:
    """A genuine hint (expired ones count, RP-Initiated Logout §2): the target is exactly a
    registered post_logout_redirect_uri of the hinted client, or nothing."""
    fuzz.begin()
    changes = {"exp": Rel(-3600)} if expired else {}
    params = {"id_token_hint": _hint(jwt_ctx, hinted, **changes),
              "post_logout_redirect_uri": uri}
    if asked is not None:
        params["client_id"] = hinted if asked == "same" else asked
    if state is not None:
        params["state"] = state
    response, clients = _end_session(fuzz, world, params, method=method, signed_in=signed_in)
    honoured = (uri in REGISTRY[hinted].post_logout_redirect_uris
                and params.get("client_id", hinted) == hinted and "\x00" not in (state or ""))
    event("redirect" if honoured else "none")
    fuzz.check_end_session(response, expect=_with_state(uri, state) if honoured else None,
                           session_clients=clients)


def _with_audience(spec, audience):
    return dataclasses.replace(spec, claim_changes=(*spec.claim_changes, ("aud", audience)))


@fuzz_settings(500)
@example(spec=Literal(b64url(b"[" * 1400) + ".e30."), uri="http://localhost:21402/",
         signed_in=False)
@example(spec=JwtSpec(typ="JWT", tamper="non-ascii-payload"), uri="http://localhost:21402/",
         signed_in=False)
@given(spec=st.one_of(st.builds(_with_audience, jwt_specs,
                                st.sampled_from(("interactive", "web", ["interactive"]))),
                      token_specs),
       uri=st.sampled_from(ALL_POST_LOGOUT), signed_in=st.booleans())
def test_end_session_honours_only_hints_the_server_signed(fuzz, world, jwt_ctx, spec, uri,
                                                          signed_in) -> None:
    """Forged hints (alg none, HMAC with our public key, foreign keys, embedded keys, jku/x5u,
    crit, wrong issuer, damage) never lead to a redirect."""
    fuzz.begin()
    hint = spec.build(jwt_ctx)
    response, clients = _end_session(fuzz, world, {
        "id_token_hint": hint, "post_logout_redirect_uri": uri, "state": "x"},
        signed_in=signed_in)
    target = fuzz.check_end_session(response, session_clients=clients)
    reasons = spec.refusal_reasons(jwt_ctx, "id_token_hint")
    if reasons or len(hint) > 2000 or "\x00" in hint:
        assert target is None, (reasons, target)
    event("redirect" if target else "none")
