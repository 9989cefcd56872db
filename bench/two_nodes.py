#!/usr/bin/env python
"""Two nodes as on two hosts, under client-credentials load on both at once.

    .venv/bin/python bench/two_nodes.py [--duration 10] [--connections 4]

Sets up what tests/scale_out/ tests (tests/scale_out/nodes.py): two network namespaces, each
with a veth link to the host and gunicorn (2 sync workers) on 10.X.n.2:8000, reaching
PostgreSQL (127.0.0.1:5432, a database made for the run) and Redis (127.0.0.1:6379, a key prefix
of the run) through forwarders on the host side of its link. Then one wrk per node, at the same
time, each POSTing grant_type=client_credentials as service.client (scope api1) with Host set
to the issuer's host, a new connection per request (sync workers close them). Prints requests/s,
p50 and p99 latency and non-2xx answers per node, and removes everything it made, also on
failure or Ctrl-C. Run as root; needs `ip netns`, wrk, PostgreSQL and Redis on loopback.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.helpers.basic_auth import basic  # noqa: E402 - after the checkout is on sys.path
from tests.scale_out.nodes import (  # noqa: E402
    ISSUER_HOST,
    PORT,
    Node,
    two_nodes,
    unavailable,
)

SCRIPT = """wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=api1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{authorization}"
wrk.headers["Host"] = "{host}"
wrk.headers["Connection"] = "close"
"""
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * UNITS[unit]


def _summary(name: str, output: str) -> dict[str, str | float | int]:
    """Requests/s, p50, p99 and non-2xx answers from wrk --latency's report."""
    found = {"node": name, "requests/s": float(re.search(r"Requests/sec:\s+([\d.]+)",
                                                          output).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", output, re.M)
        found[f"p{pct} ms"] = _ms(match.group(1)) if match else float("nan")
    requests = re.search(r"(\d+) requests in", output)
    found["requests"] = int(requests.group(1)) if requests else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    found["non-2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors: (.*)", output)
    found["socket errors"] = errors.group(1) if errors else "none"
    return found


def _wrk(node: Node, script: Path, duration: int, connections: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["wrk", "--threads", "1", "--connections", str(connections), "--duration",
         f"{duration}s", "--timeout", "10s", "--latency", "--script", str(script),
         f"http://{node.address}:{PORT}/connect/token"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load (10)")
    parser.add_argument("--connections", type=int, default=4,
                        help="concurrent connections per node (4)")
    args = parser.parse_args()
    reason = unavailable() or (None if shutil.which("wrk") else "needs wrk")
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="two-nodes-") as work, \
            two_nodes(Path(work)) as cluster:
        script = Path(work) / "client_credentials.lua"
        script.write_text(SCRIPT.format(authorization=basic("service.client", "secret"),
                                        host=ISSUER_HOST))
        print(f"node A {cluster.a.address}:{PORT}, node B {cluster.b.address}:{PORT}; "
              f"{args.duration} s, {args.connections} connections per node")
        runs = {node.name: _wrk(node, script, args.duration, args.connections)
                for node in cluster.nodes}
        rows = []
        for name, run in runs.items():
            output, _ = run.communicate(timeout=args.duration + 120)
            if run.returncode != 0:
                print(output, file=sys.stderr)
                return 1
            rows.append(_summary(name, output))
    columns = ["node", "requests", "requests/s", "p50 ms", "p99 ms", "non-2xx", "socket errors"]
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(f"{row[c]:.1f}" if isinstance(row[c], float) else str(row[c])
                         for c in columns))
    total = sum(float(row["requests/s"]) for row in rows)
    print(f"both nodes: {total:.1f} requests/s")
    return 0 if all(row["non-2xx"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
