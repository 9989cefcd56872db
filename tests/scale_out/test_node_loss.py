"""Losing a host: node A killed (SIGKILL to its gunicorn master and workers) while clients hit
both nodes. Node B answers every request, and every token either node issued is still active at B:
nothing lived only in A's processes. A module of its own, so that its nodes are its own."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException

import pytest

from tests.scale_out import agent
from tests.scale_out.nodes import Cluster

pytestmark = pytest.mark.postgres_only


def test_node_a_killed_under_load_b_serves_and_loses_nothing(cluster: Cluster) -> None:
    src = cluster.client_address
    stop, killed = threading.Event(), threading.Event()
    issued: dict[str, list[str]] = {node.name: [] for node in cluster.nodes}
    seen_b: Counter = Counter()
    problems: list[str] = []
    lock = threading.Lock()

    def load(i: int) -> None:
        node = cluster.nodes[i % 2]
        while not stop.is_set():
            try:
                answer = agent.client_credentials(node, src)
            except (OSError, HTTPException) as exc:
                # A's connections fail once it is killed (one in flight then is cut): expected.
                # Any at B, or at A before the kill, is not.
                if node is cluster.b or not killed.is_set():
                    with lock:
                        problems.append(f"{node.name}: {exc!r}")
                time.sleep(0.01)  # A refuses at once: no busy loop
                continue
            with lock:
                if node is cluster.b:
                    seen_b[answer.status] += 1
                if answer.status == 200:
                    issued[node.name].append(answer.json()["access_token"])
                else:
                    problems.append(f"{node.name}: {answer.status} {answer.body[:200]!r}")

    def wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds  # only against a hang: the load decides
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.1)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(load, i) for i in range(4)]
        try:
            wait_for(lambda: min(len(tokens) for tokens in issued.values()) >= 20)
            killed.set()
            cluster.a.kill()
            served_at_kill = seen_b.total()
            wait_for(lambda: seen_b.total() >= served_at_kill + 40)
        finally:
            stop.set()
        for future in futures:
            future.result(timeout=120)

    assert cluster.a.server is not None and cluster.a.server.process.poll() is not None
    assert not problems, problems[:5]
    assert set(seen_b) == {200}, seen_b  # no 5xx, nor anything else, at B
    assert seen_b.total() >= served_at_kill + 40, seen_b  # B went on after the kill
    assert len(issued[cluster.a.name]) >= 20, {k: len(v) for k, v in issued.items()}
    # Nothing lost: every token either node issued (A's before it died) is active at B.
    for name, tokens in issued.items():
        for token in tokens:
            answer = agent.introspect(cluster.b, src, token)
            assert answer.status == 200 and answer.json()["active"] is True, (name, answer.body)
    print(f"B: {seen_b.total()} answers, {seen_b.total() - served_at_kill} after A was killed; "
          f"tokens introspected active at B: {({k: len(v) for k, v in issued.items()})}")
