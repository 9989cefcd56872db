"""What the fuzz harness records: each request as sent (`Sent`, shown in failure messages by
`describe`), and per-endpoint durations and per-test example counts for the whole session,
printed at its end and written to bench/results/fuzz-summary.json."""

from __future__ import annotations

import gc
import json
import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fuzz.strategies import SCALE
from tests.fuzz.world import PATHS

BOUND_SECONDS = 2.0  # per request; generous: a hang or catastrophic backtracking, not speed
SUMMARY = Path(__file__).resolve().parents[2] / "bench" / "results" / "fuzz-summary.json"


@dataclass
class Sent:
    """What a request carried, for the oracles and for failure messages."""

    endpoint: str
    method: str
    query: str = ""
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def verb(self) -> str:
        """The method as Django sees it (WSGIRequest upper-cases REQUEST_METHOD)."""
        return self.method.upper()

    @property
    def authorization(self) -> str:
        return self.headers.get("Authorization", "")

    @property
    def used_basic(self) -> bool:
        return self.authorization.strip().partition(" ")[0].lower() == "basic"

    @property
    def preflight(self) -> bool:
        return self.verb == "OPTIONS" and "Access-Control-Request-Method" in self.headers

    @property
    def host_refused(self) -> bool:
        from django.conf import settings
        from django.http.request import split_domain_port, validate_host

        host = self.headers.get("Host")
        if host is None:
            return False
        domain, _ = split_domain_port(host)
        return not domain or not validate_host(domain, settings.ALLOWED_HOSTS)

    def __str__(self) -> str:
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        query = self.query if len(self.query) <= 300 else self.query[:300] + "..."
        headers = {k: (v if len(v) <= 200 else v[:200] + "...") for k, v in self.headers.items()}
        return (f"{self.method} {PATHS[self.endpoint]}?{query!r} content-type="
                f"{self.content_type!r} headers={headers!r} body[{len(self.body)}]={body!r}")


def describe(response: Any) -> str:
    content = getattr(response, "content", b"")
    headers = {k: v[:200] for k, v in response.items()}
    return (f"-> {response.status_code} {headers} {content[:400]!r}\n"
            f"   request: {getattr(response, 'sent', '?')}")


class Recorder:
    """Per-endpoint request durations and per-test example counts for the whole session."""

    def __init__(self) -> None:
        self.durations: dict[str, list[float]] = defaultdict(list)
        self.slowest: dict[str, tuple[float, str]] = {}
        self.examples: Counter[str] = Counter()
        self.started = time.monotonic()
        self.gc_pauses: list[float] = []
        self._gc_started = 0.0

    def gc_callback(self, phase: str, info: dict[str, int]) -> None:
        # Collector pauses grow with the test process's heap (hypothesis keeps every
        # example's data), not with the request: recorded apart, to tell them from a hang.
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_pauses.append(time.perf_counter() - self._gc_started)

    def add(self, endpoint: str, seconds: float, label: str) -> None:
        self.durations[endpoint].append(seconds)
        if seconds > self.slowest.get(endpoint, (-1.0, ""))[0]:
            self.slowest[endpoint] = (seconds, label)

    def summary(self) -> dict[str, Any]:
        from django.db import connection

        every = [d for ds in self.durations.values() for d in ds]
        return {
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": connection.vendor,
            "scale": SCALE,
            "bound_seconds": BOUND_SECONDS,
            "wall_seconds": round(time.monotonic() - self.started, 1),
            "requests": len(every),
            "max_ms": _ms(max(every, default=0.0)),
            "p99_ms": _ms(_percentile(every, 99)),
            "endpoints": {
                name: {"requests": len(ds), "median_ms": _ms(_percentile(ds, 50)),
                       "p99_ms": _ms(_percentile(ds, 99)), "max_ms": _ms(max(ds)),
                       "slowest": self.slowest[name][1]}
                for name, ds in sorted(self.durations.items())},
            "gc_max_pause_ms": _ms(max(self.gc_pauses, default=0.0)),
            "gc_pauses_over_100_ms": sum(1 for p in self.gc_pauses if p > 0.1),
            "examples_per_test": dict(sorted(self.examples.items())),
        }


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]  # nearest rank


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


RECORD = Recorder()
gc.callbacks.append(RECORD.gc_callback)  # at import: conftest imports this after session start


def write_summary() -> None:
    """Write the session's summary to SUMMARY (nothing when no request was recorded)."""
    if not RECORD.durations:
        return
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(RECORD.summary(), indent=2) + "\n", encoding="utf-8")


def print_summary(terminalreporter: Any) -> None:
    """Print the session's summary in pytest's terminal report."""
    if not RECORD.durations:
        return
    data = RECORD.summary()
    write = terminalreporter.write_line
    terminalreporter.section("fuzz summary")
    write(f"{data['requests']} requests on {data['database']} (scale {data['scale']}), "
          f"max {data['max_ms']} ms, p99 {data['p99_ms']} ms, bound {BOUND_SECONDS * 1000:.0f} ms")
    write(f"{'endpoint':<16}{'requests':>10}{'median ms':>12}{'p99 ms':>10}{'max ms':>10}")
    for name, row in data["endpoints"].items():
        write(f"{name:<16}{row['requests']:>10}{row['median_ms']:>12}{row['p99_ms']:>10}"
              f"{row['max_ms']:>10}")
    write(f"garbage collector: longest pause {data['gc_max_pause_ms']} ms, "
          f"{data['gc_pauses_over_100_ms']} over 100 ms")
    write(f"written to {SUMMARY}")
