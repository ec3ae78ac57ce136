"""The machine's ceilings, measured in the same run as Starling's figures.

- HTTP: the bare ASGI app of :mod:`.bare_app`, driven by the same client as Starling
  (see :mod:`.runner`).
- Timeline writes: ``redis-benchmark -P 64 -t zadd`` (pipelined ZADD, the cheapest way
  to add a member to a sorted set, which is what a timeline write is in Redis).
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from urllib.parse import urlparse

import msgspec

REDIS_BENCHMARK_DB = 15
"""The Redis database redis-benchmark writes its ``myzset`` key into (removed after)."""


class RedisCeiling(msgspec.Struct, frozen=True, kw_only=True):
    """ZADD operations per second and redis-benchmark's own p99 (ms), or why not measured."""

    zadd_per_s: float | None
    p99_ms: float | None
    command: str
    error: str | None = None


def parse_redis_benchmark_csv(text: str, test: str = "ZADD") -> tuple[float, float | None]:
    """(requests per second, p99 ms) of ``test`` in ``redis-benchmark --csv`` output
    (header ``"test","rps",...,"p99_latency_ms",...``; redis-benchmark 6.2+). Raises
    ``ValueError`` when the row is missing."""
    rows = list(csv.reader(io.StringIO(text.strip())))
    if not rows:
        raise ValueError("empty redis-benchmark output")
    header = rows[0]
    for row in rows[1:]:
        if row and row[0].upper() == test.upper():
            record = dict(zip(header, row, strict=False))
            p99 = record.get("p99_latency_ms")
            return float(record["rps"]), float(p99) if p99 else None
    raise ValueError(f"no {test} row in redis-benchmark output: {text[:200]!r}")


def redis_zadd_ceiling(
    redis_url: str, *, requests: int = 1_000_000, keyspace: int = 100_000, pipeline: int = 64
) -> RedisCeiling:
    """Run ``redis-benchmark -P 64 -t zadd`` against the Redis of ``redis_url`` and parse
    it; a missing binary or a failed run is reported in ``error``, not raised."""
    url = urlparse(redis_url)
    command = [
        shutil.which("redis-benchmark") or "redis-benchmark",
        "-h",
        url.hostname or "127.0.0.1",
        "-p",
        str(url.port or 6379),
        "-P",
        str(pipeline),
        "-t",
        "zadd",
        "-n",
        str(requests),
        "-r",
        str(keyspace),
        "--dbnum",
        str(REDIS_BENCHMARK_DB),
        "--csv",
    ]
    shown = " ".join(command[1:])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
        rps, p99 = parse_redis_benchmark_csv(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return RedisCeiling(zadd_per_s=None, p99_ms=None, command=shown, error=str(exc))
    finally:
        _cleanup(redis_url)
    return RedisCeiling(zadd_per_s=rps, p99_ms=p99, command=f"redis-benchmark {shown}")


def _cleanup(redis_url: str) -> None:
    import redis

    url = urlparse(redis_url)
    # Not from_url(..., db=15): the URL's own /0 would win over the keyword.
    client = redis.Redis(
        host=url.hostname or "127.0.0.1", port=url.port or 6379, db=REDIS_BENCHMARK_DB
    )
    try:
        keys = list(client.scan_iter(match="myzset*"))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()
