"""Two identity server nodes as on two hosts: each in a network namespace of its own, behind a
veth link, reaching PostgreSQL and Redis over that link through forwarders on the host side (the
nodes share no loopback with the host or each other).

    host (the caller)                     node A (netns)          node B (netns)
    10.X.1.1 ── veth ── 10.X.1.2:8000     gunicorn, 2 workers
    10.X.2.1 ── veth ──────────────────────────────────────────── 10.X.2.2:8000
    10.X.n.1:5432 -> 127.0.0.1:5432 (PostgreSQL), 10.X.n.1:6379 -> 127.0.0.1:6379 (Redis)

Both nodes have the same SECRET_KEY and issuer, and share one database made for the run on
127.0.0.1:5432 (never a pooler the caller may be configured with) and one Redis key prefix made
for the run. `two_nodes()` sets it all up and tears it all down, even on failure. Used by the
tests beside this file and by bench/two_nodes.py; nothing here imports Django or pytest.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tests.faults.proxy import FaultProxy
from tests.helpers import workers
from tests.helpers.servers import ROOT, Server, log_tail, manage, project_env, stop_gunicorn

PG, REDIS = 5432, 6379
T = TypeVar("T")
ADMIN_URL = f"postgresql://postgres@127.0.0.1:{PG}"
ISSUER_HOST = "identity.test"
ISSUER = f"http://{ISSUER_HOST}"
PORT = 8000
REDIS_DB = 6
SECRET = "two-nodes-shared-secret-key-not-for-production"
READY_TIMEOUT = 60.0
# Clients besides the demo's (service.client, interactive, automation), so that a test that
# disables one, edits one in the admin or locks one out leaves the others alone. Their secret
# is "secret".
EXTRA_CLIENTS = """{ "IdentityServer": { "Clients": [
  { "ClientId": "scale.disabled",
    "ClientSecrets": [ { "Value": "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" } ],
    "AllowedGrantTypes": [ "client_credentials" ], "AllowedScopes": [ "api1" ] },
  { "ClientId": "scale.guessed",
    "ClientSecrets": [ { "Value": "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" } ],
    "AllowedGrantTypes": [ "client_credentials" ], "AllowedScopes": [ "api1" ] },
  { "ClientId": "scale.edited",
    "ClientSecrets": [ { "Value": "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" } ],
    "AllowedGrantTypes": [ "client_credentials" ],
    "AllowedScopes": [ "api1", "api2.read_only" ] }
] } }
"""


class SetupError(RuntimeError):
    """The namespaces, links or nodes could not be set up."""


def unavailable() -> str | None:
    """Why two nodes cannot be set up on this machine, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if shutil.which("ip") is None or shutil.which("ss") is None:
        return "needs iproute2 (ip netns, ss)"
    probe = f"sprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if made.returncode != 0:
        return f"ip netns is unavailable: {made.stderr.decode(errors='replace').strip()}"
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    for port in (PG, REDIS):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return f"needs PostgreSQL and Redis on 127.0.0.1 ({port} does not answer)"
    return None


def _ip(*args: str, netns: str | None = None) -> None:
    cmd = ["ip", *(["netns", "exec", netns, "ip"] if netns else []), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise SetupError(f"{' '.join(cmd)}: {result.stderr.strip()}")


def _free_subnet() -> int:
    """Pick X for 10.X.0.0/16 that no address or route of the host uses (another run's)."""
    taken = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True).stdout
    taken += subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    used = {int(x) for x in re.findall(r"\b10\.(\d+)\.", taken)}
    start = secrets.randbelow(150)
    for step in range(150):
        x = 100 + (start + step) % 150
        if x not in used:
            return x
    raise SetupError("no free 10.X.0.0/16 for the links")


class Forwarder(FaultProxy):
    """The fault proxy, used as a plain forwarder, listening on a link's host-side address."""

    def __init__(self, bind: tuple[str, int], target_port: int) -> None:
        super().__init__(target_port)
        self._listener.close()  # the proxy's own listener is on loopback, which nodes lack
        self._listener = socket.create_server(bind)
        self.port = bind[1]

    def close(self) -> None:
        # Closing a socket does not wake the thread blocked in accept() on it, which would keep
        # it listening on the address (and the address taken) after the link is gone.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        super().close()


@dataclass
class Node:
    """One node: its namespace, its address, its gunicorn (a process group of its own)."""

    name: str
    netns: str
    host_side: str  # the host's address on this node's link
    address: str  # the node's own address
    log: Path
    server: Server | None = None

    @property
    def base(self) -> str:
        return f"http://{self.address}:{PORT}"

    def kill(self) -> None:
        """SIGKILL the gunicorn master and its workers at once: a host lost, no goodbyes."""
        if self.server is not None:
            os.killpg(self.server.process.pid, 9)
            self.server.process.wait(timeout=30)


@dataclass
class Cluster:
    """Two nodes, and the address the caller sends from (as one client seen by both)."""

    a: Node
    b: Node
    database: str
    key_prefix: str
    env: dict[str, str] = field(default_factory=dict)  # for manage.py on the host
    cache_options: str = ""  # the nodes' CACHE_URL query beyond key_prefix

    @property
    def client_address(self) -> str:
        return self.a.host_side

    @property
    def nodes(self) -> tuple[Node, Node]:
        return self.a, self.b


def request(node: Node, method: str, path: str, *, body: bytes | None = None,
            headers: dict[str, str] | None = None, source: str | None = None,
            timeout: float = 30.0) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One HTTP request to `node`, as through a load balancer: Host is the issuer's host.
    `source` is the local address to send from. Transport errors propagate as OSError or
    http.client.HTTPException."""
    connection = http.client.HTTPConnection(
        node.address, PORT, timeout=timeout,
        source_address=(source, 0) if source else None)
    try:
        connection.request(method, path, body=body,
                           headers={"Host": ISSUER_HOST, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def on_each_worker(node: Node, ask: Callable[[], T], source: str | None = None, *,
                   first_do: Callable[[], object] | None = None) -> list[T]:
    """Ask each of `node`'s two workers once, from `source` (see tests.helpers.workers)."""
    return workers.on_each_worker(node.address, PORT, ask, netns=node.netns, source=source,
                                  host_header=ISSUER_HOST, first_do=first_do)


def _answers(node: Node) -> bool:
    try:
        request(node, "GET", "/.well-known/openid-configuration", timeout=2)
    except (OSError, http.client.HTTPException):
        return False
    return True


def _create_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{ADMIN_URL}/postgres", autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')


def _drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{ADMIN_URL}/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _forget_keys(prefix: str) -> None:
    import redis

    client = redis.Redis(port=REDIS, db=REDIS_DB)
    try:
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
    finally:
        client.close()


def _link(stack: ExitStack, netns: str, host_if: str, node_if: str, host_side: str,
          address: str, peer_host_side: str) -> None:
    _ip("netns", "add", netns)
    stack.callback(subprocess.run, ["ip", "netns", "delete", netns], capture_output=True)
    _ip("link", "add", host_if, "type", "veth", "peer", "name", node_if)
    # Deleting the host side removes the pair; the namespace's removal would too.
    stack.callback(subprocess.run, ["ip", "link", "delete", host_if], capture_output=True)
    _ip("link", "set", node_if, "netns", netns)
    _ip("addr", "add", f"{host_side}/24", "dev", host_if)
    _ip("link", "set", host_if, "up")
    _ip("link", "set", "lo", "up", netns=netns)
    _ip("addr", "add", f"{address}/24", "dev", node_if, netns=netns)
    _ip("link", "set", node_if, "up", netns=netns)
    # The caller's one address (the other link's host side) is routed back over this link, so
    # that both nodes see the same client address; nothing else is reachable from the node.
    _ip("route", "add", f"{peer_host_side}/32", "via", host_side, netns=netns)


def _start(node: Node, env: dict[str, str], stack: ExitStack) -> None:
    cmd = ["ip", "netns", "exec", node.netns, sys.executable, "-m", "gunicorn",
           "settings.wsgi:application", "--bind", f"{node.address}:{PORT}",
           "--workers", str(workers.WORKERS), "--worker-class", "sync", "--log-level", "info"]
    with node.log.open("wb") as out:
        # ip netns exec execs the command: the process is gunicorn's master, leading its group.
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    node.server = Server(node.name, process, PORT, node.log)
    stack.callback(stop_gunicorn, node.server)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(f"gunicorn on {node.name} exited:\n{log_tail(node.log)}")
        if _answers(node):
            return
        time.sleep(0.2)
    raise SetupError(f"gunicorn on {node.name} did not answer:\n{log_tail(node.log)}")


@contextmanager
def two_nodes(work: Path, cache_options: str = "") -> Iterator[Cluster]:
    """Set up the two nodes (logs in `work`; `cache_options` added to their CACHE_URL's query);
    yield them; remove everything made, always."""
    run = f"{os.getpid()}"
    x = _free_subnet()
    database = f"scale_out_{run}_{uuid.uuid4().hex[:6]}"
    prefix = f"scaleout{run}{uuid.uuid4().hex[:6]}"
    with ExitStack() as stack:
        nodes = []
        for n, letter in ((1, "a"), (2, "b")):
            node = Node(f"node {letter.upper()}", f"scale-{run}-{letter}", f"10.{x}.{n}.1",
                        f"10.{x}.{n}.2", work / f"node-{letter}.log")
            peer = f"10.{x}.{3 - n}.1"
            _link(stack, node.netns, f"so{run}{letter}", f"so{run}{letter}n", node.host_side,
                  node.address, peer)
            for port in (PG, REDIS):
                forwarder = Forwarder((node.host_side, port), port).start()
                stack.callback(forwarder.close)
            nodes.append(node)
        _create_database(database)
        stack.callback(_drop_database, database)
        stack.callback(_forget_keys, prefix)
        common = {"SECRET_KEY": SECRET, "IDENTITY_ISSUER": ISSUER, "DEBUG": "False",
                  "DB_TRANSACTION_POOLING": "False"}
        host_env = project_env(work, DATABASE_URL=f"{ADMIN_URL}/{database}",
                               CACHE_URL=f"redis://127.0.0.1:{REDIS}/{REDIS_DB}"
                                         f"?key_prefix={prefix}", **common)
        manage(host_env, "migrate", "--noinput")
        manage(host_env, "seed_demo")
        (work / "extra_clients.json").write_text(EXTRA_CLIENTS)
        manage(host_env, "import_clients", str(work / "extra_clients.json"))
        for node in nodes:
            env = project_env(
                work, DATABASE_URL=f"postgresql://postgres@{node.host_side}:{PG}/{database}",
                CACHE_URL=f"redis://{node.host_side}:{REDIS}/{REDIS_DB}?key_prefix={prefix}"
                          f"{'&' if cache_options else ''}{cache_options}",
                ALLOWED_HOSTS=f"{ISSUER_HOST},{node.address}", **common)
            _start(node, env, stack)
        yield Cluster(nodes[0], nodes[1], database, prefix, host_env, cache_options)
