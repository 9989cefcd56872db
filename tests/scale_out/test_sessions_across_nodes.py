"""Sign-in sessions across nodes: a session ended on node A is signed out by node B at the
browser's next request, on either of B's workers."""

from __future__ import annotations

import re

import pytest

from tests.faults import browser as ua
from tests.scale_out import agent
from tests.scale_out.nodes import Cluster, on_each_worker

pytestmark = pytest.mark.postgres_only

GRANTS = "/account/grants"


def _signed_in_browser(cluster: Cluster) -> agent.NodeBrowser:
    browser = agent.browser(cluster.a, cluster.client_address)
    ua.get_code(browser, ua.pkce_pair()[1])
    return browser


def test_a_session_ended_at_a_signs_the_browser_out_at_b(cluster: Cluster) -> None:
    laptop = _signed_in_browser(cluster)
    at_b = agent.NodeBrowser(port=0, cookies=dict(laptop.cookies), node=cluster.b,
                             source=cluster.client_address)

    def grants_at_each_worker_of_b() -> list[int]:
        return [answer.status for answer in on_each_worker(
            cluster.b, lambda: at_b.get(GRANTS), cluster.client_address)]

    assert grants_at_each_worker_of_b() == [200, 200]
    phone = _signed_in_browser(cluster)
    page = phone.get(GRANTS)
    others = re.findall(rb'name="sid" value="([^"]+)"', page.body)
    assert len(others) == 1, page.body[:2000]  # the laptop's session, listed on the phone

    ended = phone.post(GRANTS, {"csrfmiddlewaretoken": ua.csrf_token(page),
                                "action": "end_session", "sid": others[0].decode()})

    assert ended.status == 302, ended.body[:300]
    answer = at_b.get(GRANTS)
    assert answer.status == 302 and answer.location.startswith("/account/login"), answer.status
    assert grants_at_each_worker_of_b() == [302, 302]  # and stays signed out on both workers
    assert phone.get(GRANTS).status == 200  # the phone's own session is untouched
