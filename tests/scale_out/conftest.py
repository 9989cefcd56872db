"""The two nodes, set up once for the module that uses them, on the PostgreSQL pass only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.scale_out.nodes import Cluster, two_nodes, unavailable


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("runs with the PostgreSQL pass of the suite")
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with two_nodes(tmp_path_factory.mktemp("scale_out")) as made:
        yield made
