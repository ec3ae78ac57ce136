"""Targets judged on a run's figures, and the files a run writes."""

from __future__ import annotations

import functools
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from starling.bench import histograms, report
from starling.bench.bare_app import app as bare_app
from starling.bench.bare_app import canned_page
from starling.bench.ceilings import parse_redis_benchmark_csv
from starling.bench.results import (
    CacheMemoryResult,
    HttpCeiling,
    LagPoint,
    Machine,
    Phase,
    RedisCeilingResult,
    Results,
    Settings,
    StrategyResult,
    WriteCost,
)
from starling.bench.runner import finish


@functools.cache
def _summary(p99_ms: float) -> histograms.LatencySummary:
    """100 latencies whose p99 is ``p99_ms`` (cached: summarizing takes a while)."""
    h = histograms.new_histogram()
    for _ in range(98):
        histograms.record_seconds(h, p99_ms / 2_000)
    for _ in range(2):
        histograms.record_seconds(h, p99_ms / 1_000)
    return histograms.summarize(h)


def _phase(name: str, rps: float, duration_s: float = 10, **p99_ms: float) -> Phase:
    latency = {kind: _summary(p99) for kind, p99 in p99_ms.items()}
    return Phase(
        name=name,
        offered_rps=rps,
        achieved_rps=rps,
        duration_s=duration_s,
        latency=latency,
        errors={},
        client_cpu_s=1.0,
        client_processes=2,
    )


def _strategy(name: str, *, read_p99: float, celebrity_writes: float) -> StrategyResult:
    return StrategyResult(
        strategy=name,
        mixed=_phase("mixed", 200, read=read_p99, post=5),
        posting=_phase("posting", 40, post_celebrity=6, post_10_followers=5),
        fanout=_phase("fanout", 550, duration_s=0.1, post=5),  # 100 posts: 1,000 posts/s
        fanout_lag_p50_s=0.02,
        fanout_lag_p99_s=0.4,
        fanout_writes_per_s=50_000,
        read_capacity=_phase("read capacity", 5_000, read=30),
        read_half=_phase("read half", 2_500, read=12),
        web_read_capacity=_phase("web read capacity", 1_500, web_read=40),
        web_read_half=_phase("web read half", 750, web_read=18),
        write_costs=[
            WriteCost(bucket="10 followers", followers=10, tweets=3, writes_per_tweet=10),
            WriteCost(
                bucket="202360 followers (celeb_50pct)",
                followers=202_360,
                tweets=1,
                writes_per_tweet=celebrity_writes,
            ),
        ],
        lag_series=[
            LagPoint(
                at_s=1, phase="fanout", count=5, p50_s=0.01, p99_s=0.2, writes_per_s=9, pending=0
            )
        ],
        page_bytes=15_000,
    )


def _results(config: str = "embedded") -> Results:
    return Results(
        started_at="2026-01-01T00:00:00+00:00",
        machine=Machine(nproc=2, cpu_model="test", ram_gb=1.0, python="3.11", platform="x"),
        settings=Settings(
            config=config,
            strategies=["hybrid", "push"],
            duration_s=10,
            rate=200,
            post_rate=500,
            readers=10,
            client_processes=2,
            connections=8,
            seed=1,
        ),
        strategies={
            "hybrid": _strategy("hybrid", read_p99=11, celebrity_writes=1),
            "push": _strategy("push", read_p99=10, celebrity_writes=100),
        },
        http_ceiling=HttpCeiling(
            workers=1, page_bytes=15_000, capacity=_phase("capacity", 10_000, read=3)
        ),
        redis_ceiling=RedisCeilingResult(zadd_per_s=100_000, p99_ms=1.0, command="x"),
        cache_memory=CacheMemoryResult(
            users=1,
            entries_per_user=800,
            traced_bytes=8_000,
            reported_bytes=6_400,
            bytes_per_entry=10.0,
        ),
    )


def test_targets_are_judged_against_their_limits() -> None:
    targets = {t.name: t for t in report.evaluate(_results())}

    throughput = targets["home reads (embedded): sustained throughput / HTTP ceiling"]
    assert throughput.value == pytest.approx(0.5)
    assert throughput.met is True
    assert targets["home reads (embedded): p99 at half the sustained rate"].met is True
    assert targets["posting: p99 celebrity (202k followers) / p99 10-follower author"].met is True
    assert targets["fan-out lag p99 (embedded) at 500 posts/s with reads"].met is True
    writes = targets["hybrid / push: timeline writes per celebrity tweet"]
    assert writes.value == pytest.approx(0.01)
    assert writes.met is True
    assert targets["hybrid / push: home-read p99 (mixed workload)"].met is True
    assert targets["embedded timeline cache: bytes per cached entry"].met is True
    assert not any("redis" in name.lower() for name in targets)


def test_a_missed_target_and_an_unmeasured_one() -> None:
    results = _results("scale-out")
    results.strategies["hybrid"].read_capacity = _phase("read capacity", 1_000, read=30)
    del results.strategies["push"]

    targets = {t.name: t for t in report.evaluate(results)}

    assert targets["home reads (scale-out): sustained throughput / HTTP ceiling"].met is False
    assert targets["hybrid / push: timeline writes per celebrity tweet"].met is None
    fanout = targets["fan-out: timeline writes/s of one worker / redis-benchmark ZADD"]
    assert fanout.value == pytest.approx(0.5)
    assert fanout.met is True


def test_lag_measured_below_the_target_rate_is_not_claimed() -> None:
    results = _results()
    results.strategies["hybrid"].fanout = _phase("fanout", 55, duration_s=1, post=5)

    target = next(t for t in report.evaluate(results) if t.name.startswith("fan-out lag"))

    assert target.met is None
    assert "100 posts/s achieved (below the target's rate)" in target.note


def test_lag_at_the_target_rate_less_the_last_answers_wait_is_judged() -> None:
    results = _results()
    # 100 posts scheduled over 0.2 s, the last answered 0.2 ms later: 499.5 posts/s.
    results.strategies["hybrid"].fanout = _phase("fanout", 550, duration_s=0.2002, post=5)

    target = next(t for t in report.evaluate(results) if t.name.startswith("fan-out lag"))

    assert target.met is True


def test_results_json_plots_and_table_are_written(tmp_path: Path) -> None:
    results = _results()
    results.profile_files = ["profile.txt"]
    (tmp_path / "profile.txt").write_text(
        "main (x.py:1);home (/src/starling/services/timelines.py:80) 3\n"
    )
    console = Console(record=True, width=200)

    written = finish(results, tmp_path, console)

    path, pngs = written[0], written[1:]
    assert path == tmp_path / "results.json"
    assert report.read_json(path) == results
    assert results.targets == report.evaluate(results)
    assert results.profiles["profile.txt"][0].inclusive_share == 1.0
    assert len(pngs) == 3
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = console.export_text()
    assert "hybrid" in text
    assert "push" in text
    assert "not met" not in text
    assert "met" in text


def test_redis_benchmark_csv_is_parsed() -> None:
    out = (
        '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",'
        '"p95_latency_ms","p99_latency_ms","max_latency_ms"\n'
        '"ZADD","704225.38","4.1","0.9","4.0","5.0","6.5","9.0"\n'
    )
    assert parse_redis_benchmark_csv(out) == (704225.38, 6.5)
    with pytest.raises(ValueError, match="no ZADD row"):
        parse_redis_benchmark_csv(out.splitlines()[0])


async def test_bare_app_serves_the_canned_page_of_the_asked_size() -> None:
    assert len(canned_page(15_000)) == 15_000
    transport = httpx.ASGITransport(app=bare_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
        response = await client.get("/api/starling/v1/timeline/home?limit=50")
    assert response.status_code == 200
    assert response.json()["tweets"] == []
    assert len(response.content) == 15_000  # STARLING_BENCH_PAGE_BYTES unset: the default


def test_the_web_home_page_is_reported_beside_the_json_home_read() -> None:
    results = _results()
    console = Console(record=True, width=200)

    report.render(results, console)

    rows = {
        line.split("│")[1].strip(): line
        for line in console.export_text().splitlines()
        if "│" in line
    }
    assert "1,500" in rows["web home page max req/s (closed loop)"]
    assert "5,000" in rows["home read max req/s (closed loop)"]
    assert rows["web home page p99 ms at half rate"].count("—") == 0
    assert results.strategies["hybrid"].max_web_read_rps == 1_500
