"""Two nodes on two hosts whose Redis cache keeps no local copies (`?local_copy_seconds=0`): a
change made at node A holds at node B's very next request, whenever Redis's invalidations arrive
(with copies, B applies a change once its invalidation has arrived: see test_two_hosts)."""

from __future__ import annotations

import pytest

from tests.scale_out import agent
from tests.scale_out.nodes import Cluster

pytestmark = pytest.mark.postgres_only

# Disable then enable at A, each checked at B's next request; the refusals stay below the failure
# limit (10 per client id and address), so that each is the client's, not a lockout.
TOGGLES = 6
CLUSTER_CACHE_OPTIONS = "local_copy_seconds=0"


def _set_enabled(cluster: Cluster, token: str, enabled: bool) -> None:
    status, body = agent.api(cluster.a, cluster.client_address, token, "PATCH",
                             "/api/clients/scale.disabled", {"enabled": enabled})
    assert status == 200 and body["enabled"] is enabled, body


def test_a_client_changed_at_a_is_seen_by_b_at_its_next_request(cluster: Cluster) -> None:
    assert cluster.cache_options == CLUSTER_CACHE_OPTIONS  # the nodes run without copies
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
