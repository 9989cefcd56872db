"""Two nodes on two hosts whose Redis cache keeps no local copies (`?local_copy_seconds=0`): a
change made at node A holds at the very next request of each of node B's workers, whenever
Redis's invalidations arrive (with copies, B applies a change once its invalidation has arrived:
see test_two_hosts)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from tests.helpers.user_agent import Answer
from tests.scale_out import agent
from tests.scale_out.nodes import Cluster, Node, on_each_worker

pytestmark = pytest.mark.postgres_only

# Disable then enable at A, each checked at the next request of each of B's workers; the 8
# refusals stay below the failure limit (10 per client id and address), so that each is the
# client's, not a lockout.
TOGGLES = 4
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

    def each_worker_of(node: Node, first_do: Callable[[], object] | None = None) -> list[Answer]:
        ask = functools.partial(agent.client_credentials, node, src, "scale.disabled")
        return on_each_worker(node, ask, src, first_do=first_do)

    for node in cluster.nodes:  # every worker of both nodes has read the client and its stamp
        assert [answer.status for answer in each_worker_of(node)] == [200, 200]
    for _ in range(TOGGLES):
        # No wait and no retry: the first request each of B's workers takes after A's answer is
        # refused (one of them is kept busy while the change is made).
        for refused in each_worker_of(cluster.b, lambda: _set_enabled(cluster, token, False)):
            assert refused.status == 401 and refused.json()["error"] == "invalid_client", (
                refused.status, refused.body)
        statuses = [a.status for a in each_worker_of(cluster.b,
                                                     lambda: _set_enabled(cluster, token, True))]
        assert statuses == [200, 200]
