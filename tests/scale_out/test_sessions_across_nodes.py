"""Sign-in sessions across nodes: a session ended on node A is signed out by node B at the
browser's next request, on either of B's workers."""

from __future__ import annotations

import re

import pytest

from tests.faults import browser as ua
from tests.scale_out import agent
from tests.scale_out.nodes import Cluster

pytestmark = pytest.mark.postgres_only

ROUNDS = 12  # requests per check at a node: with 2 workers each, both are all but surely hit
GRANTS = "/account/grants"


def _signed_in_browser(cluster: Cluster) -> agent.NodeBrowser:
    browser = agent.browser(cluster.a, cluster.client_address)
    ua.get_code(browser, ua.pkce_pair()[1])
    return browser


def test_a_session_ended_at_a_signs_the_browser_out_at_b(cluster: Cluster) -> None:
    laptop = _signed_in_browser(cluster)
    at_b = agent.NodeBrowser(port=0, cookies=dict(laptop.cookies), node=cluster.b,
                             source=cluster.client_address)
    for _ in range(ROUNDS):
        assert at_b.get(GRANTS).status == 200
    phone = _signed_in_browser(cluster)
    page = phone.get(GRANTS)
    others = re.findall(rb'name="sid" value="([^"]+)"', page.body)
    assert len(others) == 1, page.body[:2000]  # the laptop's session, listed on the phone

    ended = phone.post(GRANTS, {"csrfmiddlewaretoken": ua.csrf_token(page),
                                "action": "end_session", "sid": others[0].decode()})

    assert ended.status == 302, ended.body[:300]
    answer = at_b.get(GRANTS)
    assert answer.status == 302 and answer.location.startswith("/account/login"), answer.status
    for _ in range(ROUNDS):  # and stays signed out on both workers
        assert at_b.get(GRANTS).status == 302
    assert phone.get(GRANTS).status == 200  # the phone's own session is untouched
