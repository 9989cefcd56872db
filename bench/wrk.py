"""wrk replaying prepared requests: the one Lua script of bench/production.py and bench/fapi.py.

A run posts (or gets) `body` with fixed `headers`. With a pool, each wrk thread reads its own
file of prepared requests, one per line: the text appended to `body`, then optionally a TAB and a
DPoP proof for that request. Each line is sent once and a used-up pool stops the thread (flagged
as `exhausted` in the summary: the run's figures are then wrong), unless `cycle`, which goes round
the pool (for requests with nothing single use). Without a pool the one request is sent again
and again, or, with `callers`, the same request from that many caller addresses in turn.
`done()` prints the numbers as one JSON line (latencies in microseconds).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.harness import BenchError

SCRIPT = """\
local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local method = @METHOD@
local headers = @HEADERS@
local body = @BODY@
local pool = @POOL@
local cycle = @CYCLE@
local callers = @CALLERS@

function init(args)
  reqs = {}
  if callers > 0 then
    -- One request per caller address (10.x.y.z), in X-Bench-Caller, which the balancer of
    -- bench/production.py's callers port passes on as X-Forwarded-For.
    for i = 0, callers - 1 do
      local own = {}
      for name, value in pairs(headers) do own[name] = value end
      own["X-Bench-Caller"] = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256,
                                            math.floor(i / 256) % 256, i % 256)
      reqs[#reqs + 1] = wrk.format(method, nil, own, body ~= "" and body or nil)
    end
  elseif pool == "" then
    reqs[1] = wrk.format(method, nil, headers, body ~= "" and body or nil)
  else
    for line in io.lines(pool .. "-" .. tid .. ".txt") do
      local tab = string.find(line, "\\t", 1, true)
      local own = headers
      if tab then
        local proof = string.sub(line, tab + 1)
        line = string.sub(line, 1, tab - 1)
        if proof ~= "" then
          own = {}
          for name, value in pairs(headers) do own[name] = value end
          own["DPoP"] = proof
        end
      end
      reqs[#reqs + 1] = wrk.format(method, nil, own, body .. line)
    end
  end
  -- Threads start half the list apart (production.py runs two), so that they do not send the
  -- same caller at the same moment.
  used = callers > 0 and (tid * math.floor(#reqs / 2)) % #reqs or 0
  exhausted = 0
end

function request()
  used = used + 1
  if used > #reqs then
    if cycle then
      used = 1
    else
      exhausted = 1
      used = #reqs
      wrk.thread:stop()
    end
  end
  return reqs[used]
end

function done(summary, latency, requests)
  local e = summary.errors
  local exhausted, used = 0, 0
  for _, t in ipairs(threads) do
    exhausted = exhausted + (t:get("exhausted") or 0)
    local u = t:get("used") or 0
    if u > used then used = u end
  end
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"exhausted": %d, "used": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, exhausted, used))
end
"""


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for these values


def write_script(path: Path, *, method: str, headers: dict[str, str], body: str = "",
                 pool: Path | None = None, cycle: bool = False, callers: int = 0) -> Path:
    """Write the script for these requests to `path`; `pool` is the prefix of the pool files;
    `callers` > 0 sends the request from that many caller addresses in turn (no pool)."""
    table = "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in headers.items()) + "}"
    path.write_text(SCRIPT.replace("@METHOD@", _lua(method)).replace("@HEADERS@", table)
                    .replace("@BODY@", _lua(body))
                    .replace("@POOL@", _lua(str(pool) if pool is not None else ""))
                    .replace("@CYCLE@", "true" if cycle or pool is None else "false")
                    .replace("@CALLERS@", str(int(callers))))
    return path


def write_pool(prefix: Path, lines: list[str], threads: int) -> Path:
    """Share `lines` out among the wrk threads, one file each (`prefix`-TID.txt)."""
    for tid in range(threads):
        Path(f"{prefix}-{tid}.txt").write_text("".join(f"{line}\n" for line in lines[tid::threads]))
    return prefix


def drop_pool(prefix: Path) -> None:
    for path in prefix.parent.glob(f"{prefix.name}-*.txt"):
        path.unlink(missing_ok=True)


def summary(done: subprocess.CompletedProcess[str], cmd: list[str]) -> dict[str, Any]:
    """Return the summary line of a finished wrk run (this script's, or bench/token_endpoint.py's
    simpler one), or fail with wrk's output."""
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
    if done.returncode != 0 or not lines:
        raise BenchError(f"wrk failed (exit {done.returncode}): {' '.join(cmd)}\n"
                         f"{done.stdout}\n{done.stderr}")
    data: dict[str, Any] = json.loads(lines[-1].removeprefix("BENCH_RESULT "))
    return data
