"""Two nodes on two hosts, driven as people drive them: an edit saved in the Django admin at
node A holds at node B's next request, and password failures spread over both nodes add up to one
lockout that both nodes enforce. A module of its own, so that its nodes are its own."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.helpers.servers import manage
from tests.helpers.user_agent import Answer
from tests.scale_out import agent
from tests.scale_out.nodes import Cluster, Node, on_each_worker

pytestmark = pytest.mark.postgres_only

CLIENTS = "/admin/clients_app/client/"
MAKE_USER = """
import os
from django.contrib.auth import get_user_model
make = get_user_model().objects
make = make.create_superuser if os.environ["SCALE_OUT_SUPERUSER"] else make.create_user
make(os.environ["SCALE_OUT_USER"], password=os.environ["SCALE_OUT_PASSWORD"])
"""


def _make_user(cluster: Cluster, username: str, *, superuser: bool = False) -> str:
    """Create an account in the nodes' database, as an operator would; return its password."""
    password = secrets.token_urlsafe(16)
    manage({**cluster.env, "SCALE_OUT_USER": username, "SCALE_OUT_PASSWORD": password,
            "SCALE_OUT_SUPERUSER": "1" if superuser else ""}, "shell", "-c", MAKE_USER)
    return password


def _scope_at_each_worker(node: Node, cluster: Cluster, scope: str) -> list[Answer]:
    src = cluster.client_address
    return on_each_worker(node, lambda: agent.client_credentials(
        node, src, "scale.edited", scope=scope), src)


def test_scope_removed_in_the_admin_at_a_is_refused_by_every_worker_of_b(
        cluster: Cluster) -> None:
    password = _make_user(cluster, "scale.operator", superuser=True)
    # Before: B grants the scope, on both workers (which so have the client cached).
    for granted in _scope_at_each_worker(cluster.b, cluster, "api2.read_only"):
        assert granted.status == 200, (granted.status, granted.body)

    # The operator signs in to the admin at A, finds the client, opens its page.
    admin = agent.browser(cluster.a, cluster.client_address)
    sign_in = admin.open_form("/admin/login/?next=/admin/")
    sign_in.set("username", "scale.operator")
    sign_in.set("password", password)
    signed_in = admin.submit(sign_in)
    assert signed_in.status == 302 and signed_in.location == "/admin/", (
        signed_in.status, signed_in.body[:500])
    found = admin.get(f"{CLIENTS}?q=scale.edited")
    assert found.status == 200, found.status
    (pk,) = set(re.findall(rf'href="{CLIENTS}(\d+)/change/', found.body.decode()))
    change = f"{CLIENTS}{pk}/change/"
    form = admin.open_form(change, "client_form")
    assert form.value("enabled") == "on" and form.value("opened_version")
    # Everything as shown, but the scope's row marked for deletion.
    (row,) = [name.removesuffix("-scope") for name, value in form.fields
              if re.fullmatch(r"allowed_scopes-\d+-scope", name) and value == "api2.read_only"]
    assert form.value(f"{row}-id"), form.fields
    form.set(f"{row}-DELETE", "on")
    saved = admin.submit(form, ("_save", "Save"))
    assert saved.status == 302 and saved.location == CLIENTS, (
        saved.status, re.findall(rb'class="errorlist[^"]*">(.*?)</ul>', saved.body, re.S)
        or saved.body[:500])
    kept = admin.open_form(change, "client_form")
    assert [v for n, v in kept.fields if re.fullmatch(r"allowed_scopes-\d+-scope", n)] == [
        "api1"]

    # After: B's next requests, on both workers, refuse the scope; the client still works.
    for refused in _scope_at_each_worker(cluster.b, cluster, "api2.read_only"):
        assert refused.status == 400 and refused.json()["error"] == "invalid_scope", (
            refused.status, refused.body)
    for still in _scope_at_each_worker(cluster.b, cluster, "api1"):
        assert still.status == 200, (still.status, still.body)


def test_password_failures_spread_over_both_nodes_lock_the_account_at_both(
        cluster: Cluster) -> None:
    password = _make_user(cluster, "scale.locked")
    src = cluster.client_address
    # One person's browser, sent to either node by the load balancer: a page from each.
    forms = {node.name: agent.browser(node, src) for node in cluster.nodes}
    pages = {name: browser.open_form("/account/login") for name, browser in forms.items()}

    def sign_in(node: Node, username: str, secret: str) -> Answer:
        form = pages[node.name]
        form.set("username", username)
        form.set("password", secret)
        return forms[node.name].submit(form)

    # AUTH_FAILURE_LIMIT is 10 per account and address: five wrong passwords at each node, none
    # refused (each node has seen fewer than 10)...
    for attempt, node in enumerate(cluster.nodes * 5, 1):
        failed = sign_in(node, "scale.locked", f"wrong-{attempt}")
        assert failed.status == 200, (attempt, node.name, failed.status, failed.body[:300])
    # ...and together they reach it: both nodes refuse the account, the right password too,
    # before checking it.
    for node in cluster.nodes:
        locked = sign_in(node, "scale.locked", password)
        assert locked.status == 429, (node.name, locked.status, locked.body[:300])
        assert b"Too many failed sign-in attempts" in locked.body
        assert int(locked.headers["Retry-After"]) > 0
    # The admin's sign-in shares the count.
    admin = agent.browser(cluster.b, src)
    form = admin.open_form("/admin/login/?next=/admin/")
    form.set("username", "scale.locked")
    form.set("password", password)
    assert admin.submit(form).status == 429
    # Only that account is locked out for this address.
    alice = sign_in(cluster.b, "alice", "alice-demo-password")
    assert alice.status == 302, (alice.status, alice.body[:300])
