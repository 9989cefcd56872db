"""The two nodes, set up once for the module that uses them, on the PostgreSQL pass only. A module
sets `CLUSTER_CACHE_OPTIONS` to give the nodes' CACHE_URL a query string of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.scale_out.nodes import Cluster, two_nodes, unavailable


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Cluster]:
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("runs with the PostgreSQL pass of the suite")
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    options = getattr(request.module, "CLUSTER_CACHE_OPTIONS", "")
    with two_nodes(tmp_path_factory.mktemp("scale_out"), options) as made:
        yield made
