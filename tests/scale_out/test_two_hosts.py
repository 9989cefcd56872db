"""Two nodes on two hosts (network namespaces) behind one issuer, sharing PostgreSQL and Redis
over their links: whatever one node issues, changes or counts holds on the other at its next
request (a change that reaches the other node through Redis's invalidation of its copies: once
that has arrived, within LOCAL_COPY_SECONDS). A check at a node asks each of its two workers, which
keep copies and keys of their own."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import jwt
import pytest

from identity.redis_cache import LOCAL_COPY_SECONDS
from tests.faults import browser as ua
from tests.helpers.user_agent import Answer
from tests.scale_out import agent
from tests.scale_out.nodes import ISSUER, Cluster, Node, on_each_worker, request

pytestmark = pytest.mark.postgres_only

T = TypeVar("T")


def _code(cluster: Cluster) -> tuple[str, str]:
    """Sign in and consent at node A; return a code and its PKCE verifier."""
    verifier, challenge = ua.pkce_pair()
    return ua.get_code(agent.browser(cluster.a, cluster.client_address), challenge), verifier


def _manager_token(cluster: Cluster) -> str:
    answer = agent.client_credentials(cluster.a, cluster.client_address, "automation",
                                      scope="identity.manage")
    assert answer.status == 200, answer.body
    return answer.json()["access_token"]


def _once_invalidated(ask: Callable[[], T], unchanged: Callable[[T], bool]) -> T:
    """Ask node B until its answer shows the change just made at A, for at most
    LOCAL_COPY_SECONDS; return its last answer. Inside on_each_worker, each worker is waited for.

    B applies a change once Redis's invalidation has reached it. Redis sent it before A answered,
    but its delivery is not ordered with A's answer: on a loaded machine it may arrive after B
    took the next request. A copy is never used past LOCAL_COPY_SECONDS."""
    deadline = time.monotonic() + LOCAL_COPY_SECONDS
    answer = ask()
    while unchanged(answer) and time.monotonic() < deadline:
        time.sleep(0.01)
        answer = ask()
    return answer


def test_code_from_a_redeemed_at_b_and_refresh_reuse_caught_across_nodes(
        cluster: Cluster) -> None:
    src = cluster.client_address
    status, client = agent.api(cluster.a, src, _manager_token(cluster), "GET",
                               "/api/clients/interactive")
    assert status == 200, client
    # Reuse detection needs rotation: each refresh token is good once.
    assert client["refresh_token_usage"] == "OneTimeOnly"

    code, verifier = _code(cluster)
    tokens = agent.exchange(cluster.b, src, code, verifier)
    assert tokens.status == 200, tokens.body
    first = tokens.json()
    assert jwt.decode(first["id_token"], options={"verify_signature": False})["iss"] == ISSUER

    rotated = agent.refresh(cluster.b, src, first["refresh_token"])
    assert rotated.status == 200, rotated.body
    successor = rotated.json()["refresh_token"]
    assert successor != first["refresh_token"]

    reused = agent.refresh(cluster.a, src, first["refresh_token"])
    assert reused.status == 400 and reused.json()["error"] == "invalid_grant", reused.body
    # Reuse revokes the family: the successor B handed out is refused everywhere.
    for node in cluster.nodes:
        refused = agent.refresh(node, src, successor)
        assert refused.status == 400 and refused.json()["error"] == "invalid_grant", (
            node.name, refused.body)


def test_code_redeemed_at_b_and_replayed_at_a_is_refused_and_revokes_what_b_issued(
        cluster: Cluster) -> None:
    src = cluster.client_address
    code, verifier = _code(cluster)
    tokens = agent.exchange(cluster.b, src, code, verifier)
    assert tokens.status == 200, tokens.body
    again = agent.exchange(cluster.a, src, code, verifier)
    assert again.status == 400 and again.json()["error"] == "invalid_grant", again.body
    # A replayed code may be a stolen one: what it gave at B is withdrawn too.
    refused = agent.refresh(cluster.b, src, tokens.json()["refresh_token"])
    assert refused.status == 400 and refused.json()["error"] == "invalid_grant", refused.body


def test_one_code_redeemed_in_parallel_on_both_nodes_succeeds_once(cluster: Cluster) -> None:
    code, verifier = _code(cluster)
    parallel = 8
    start = threading.Barrier(parallel)

    def redeem(i: int) -> tuple[int, dict]:
        start.wait(timeout=60)
        answer = agent.exchange(cluster.nodes[i % 2], cluster.client_address, code, verifier)
        return answer.status, answer.json()

    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(redeem, range(parallel)))
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 400: parallel - 1}, results
    assert {body["error"] for status, body in results if status == 400} == {"invalid_grant"}


def _published(node: Node, source: str) -> set[str]:
    """The kids in the JWKS of the node's worker that answers."""
    status, _, body = request(node, "GET", "/.well-known/openid-configuration/jwks", source=source)
    assert status == 200
    return {key["kid"] for key in json.loads(body)["keys"]}


def _kids(cluster: Cluster, node_index: int) -> list[set[str]]:
    """The kids in the node's JWKS, as each of its workers publishes them."""
    node = cluster.nodes[node_index]
    return on_each_worker(node, lambda: _published(node, cluster.client_address),
                          cluster.client_address)


def _signing_kids(cluster: Cluster, node_index: int) -> set[str]:
    """The kids the node's workers sign with (one token from each)."""
    node = cluster.nodes[node_index]
    answers = on_each_worker(node, lambda: agent.client_credentials(node, cluster.client_address),
                             cluster.client_address)
    for answer in answers:
        assert answer.status == 200, answer.body
    return {jwt.get_unverified_header(answer.json()["access_token"])["kid"]
            for answer in answers}


def _verify_with_jwks_of(cluster: Cluster, node_index: int, token: str) -> dict:
    node = cluster.nodes[node_index]
    status, _, body = request(node, "GET", "/.well-known/openid-configuration/jwks",
                              source=cluster.client_address)
    assert status == 200
    kid = jwt.get_unverified_header(token)["kid"]
    (key,) = [jwt.PyJWK(k) for k in json.loads(body)["keys"] if k["kid"] == kid]
    return jwt.decode(token, key.key, algorithms=["RS256"], options={"verify_aud": False})


def test_key_rotated_on_a_is_published_and_used_by_b(cluster: Cluster) -> None:
    (old,) = _signing_kids(cluster, 1)  # B has loaded its keys
    before = agent.client_credentials(cluster.b, cluster.client_address).json()["access_token"]
    status, created = agent.api(cluster.a, cluster.client_address, _manager_token(cluster),
                                "POST", "/api/signing-keys/rotate", {"immediately": True})
    assert status == 201, created
    new = {key["kid"] for key in created}
    assert old not in new
    # B's next requests: the new key is published (next to the old one, which still verifies
    # what it signed) and signs.
    assert all(new | {old} <= kids for kids in _kids(cluster, 1))
    assert _signing_kids(cluster, 1) == new
    assert _signing_kids(cluster, 0) == new
    after = agent.client_credentials(cluster.b, cluster.client_address).json()["access_token"]
    assert _verify_with_jwks_of(cluster, 0, after)["iss"] == ISSUER  # A verifies B's new token
    # What the old key signed stays good on both nodes.
    assert _verify_with_jwks_of(cluster, 0, before)["iss"] == ISSUER
    for introspected in on_each_worker(
            cluster.b, lambda: agent.introspect(cluster.b, cluster.client_address, before),
            cluster.client_address):
        assert introspected.status == 200 and introspected.json()["active"] is True


def test_key_revoked_on_a_is_withdrawn_and_refused_by_b(cluster: Cluster) -> None:
    src = cluster.client_address
    (old,) = _signing_kids(cluster, 1)  # both of B's workers have loaded the key
    signed = agent.client_credentials(cluster.b, src).json()["access_token"]
    assert jwt.get_unverified_header(signed)["kid"] == old

    def at_b() -> tuple[set[str], Answer]:
        """The kids B publishes, and B's introspection of `signed`."""
        return _published(cluster.b, src), agent.introspect(cluster.b, src, signed)

    for kids, answer in on_each_worker(cluster.b, at_b, src):
        assert old in kids and answer.json()["active"] is True  # both workers publish and verify
    status, body = agent.api(cluster.a, src, _manager_token(cluster), "POST",
                             f"/api/signing-keys/{old}/revoke")
    assert status == 200 and body["revoked"]["revoked_at"], body
    new = {key["kid"] for key in body["replacements"]}
    assert new and old not in new
    withdrawn = on_each_worker(
        cluster.b, lambda: _once_invalidated(at_b, lambda answer: old in answer[0]), src)
    for kids, answer in withdrawn:  # no longer published, nor verifying, on either worker
        assert old not in kids
        assert answer.status == 200 and answer.json() == {"active": False}, answer.body
    assert _signing_kids(cluster, 1) <= new  # B signs with the replacement at once


def test_client_disabled_on_a_is_refused_by_b(cluster: Cluster) -> None:
    src = cluster.client_address
    for node in cluster.nodes:  # every worker of both nodes has the client cached
        for answer in on_each_worker(node, functools.partial(
                agent.client_credentials, node, src, "scale.disabled"), src):
            assert answer.status == 200, answer.body
    status, body = agent.api(cluster.a, src, _manager_token(cluster), "PATCH",
                             "/api/clients/scale.disabled", {"enabled": False})
    assert status == 200 and body["enabled"] is False, body
    first = on_each_worker(cluster.b, lambda: _once_invalidated(
        lambda: agent.client_credentials(cluster.b, src, "scale.disabled"),
        lambda answer: answer.status == 200), src)
    # Below the failure limit (10): every refusal is the client's, not a lockout.
    refusals = [*first, *(agent.client_credentials(cluster.b, src, "scale.disabled")
                          for _ in range(6))]
    for refused in refusals:
        assert refused.status == 401 and refused.json()["error"] == "invalid_client", (
            refused.status, refused.body)


def test_failures_at_a_count_at_b(cluster: Cluster) -> None:
    src = cluster.client_address
    # AUTH_FAILURE_LIMIT is 10 per client id and address: five wrong secrets at each node, from
    # one client address that both see (as behind a load balancer keeping the caller's address).
    for node in cluster.nodes * 5:
        assert agent.client_credentials(node, src, "scale.guessed", "guess").status == 401
    for node in cluster.nodes:
        locked = agent.client_credentials(node, src, "scale.guessed")  # the right secret
        assert locked.status == 429, (node.name, locked.status, locked.body)
    # Only that client is locked out for this address.
    assert agent.client_credentials(cluster.b, src).status == 200
