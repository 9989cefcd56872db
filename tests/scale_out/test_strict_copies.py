"""Two nodes on two hosts whose Redis cache keeps no local copies (`?local_copy_seconds=0`): a
change made at node A holds at node B's very next request, whenever Redis's invalidations arrive
(with copies, B applies a change once its invalidation has arrived: see test_two_hosts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.scale_out import agent
from tests.scale_out.nodes import Cluster, two_nodes, unavailable

pytestmark = pytest.mark.postgres_only

# Disable then enable at A, each checked at B's next request; the refusals stay below the failure
# limit (10 per client id and address), so that each is the client's, not a lockout.
TOGGLES = 6


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("runs with the PostgreSQL pass of the suite")
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with two_nodes(tmp_path_factory.mktemp("strict_copies"), "local_copy_seconds=0") as made:
        yield made


def _set_enabled(cluster: Cluster, token: str, enabled: bool) -> None:
    status, body = agent.api(cluster.a, cluster.client_address, token, "PATCH",
                             "/api/clients/scale.disabled", {"enabled": enabled})
    assert status == 200 and body["enabled"] is enabled, body


def test_a_client_changed_at_a_is_seen_by_b_at_its_next_request(cluster: Cluster) -> None:
    src = cluster.client_address
    manager = agent.client_credentials(cluster.a, src, "automation", scope="identity.manage")
    assert manager.status == 200, manager.body
    token = manager.json()["access_token"]
    for node in cluster.nodes:  # both nodes have read the client and its stamp
        for _ in range(4):
            assert agent.client_credentials(node, src, "scale.disabled").status == 200
    for _ in range(TOGGLES):
        _set_enabled(cluster, token, False)
        # No wait and no retry: B's first request after A's answer is refused.
        refused = agent.client_credentials(cluster.b, src, "scale.disabled")
        assert refused.status == 401 and refused.json()["error"] == "invalid_client", (
            refused.status, refused.body)
        _set_enabled(cluster, token, True)
        assert agent.client_credentials(cluster.b, src, "scale.disabled").status == 200
