"""Latency histograms, Prometheus scraping and the cache-memory probe."""

from __future__ import annotations

import pytest

from starling.bench import histograms, scrape
from starling.bench.memory import measure_cache_memory
from starling.metrics import Metrics


def test_histograms_merge_across_processes_and_summarize_in_ms() -> None:
    fast, slow = histograms.new_histogram(), histograms.new_histogram()
    for _ in range(99):
        histograms.record_seconds(fast, 0.002)
    histograms.record_seconds(slow, 0.5)

    summary = histograms.summarize_encoded(
        {"read": [histograms.encode(fast), histograms.encode(slow)]}
    )["read"]

    assert summary.count == 100
    assert summary.p50_ms == pytest.approx(2.0, rel=0.01)
    assert summary.max_ms == pytest.approx(500.0, rel=0.01)
    assert summary.cdf[-1][1] == pytest.approx(500.0, rel=0.01)


def test_out_of_range_latencies_are_clamped_not_lost() -> None:
    histogram = histograms.new_histogram()
    histograms.record_seconds(histogram, 3_600.0)
    histograms.record_seconds(histogram, -1.0)

    summary = histograms.summarize(histogram)

    assert summary.count == 2
    assert summary.max_ms == pytest.approx(60_000, rel=0.01)


def test_empty_histogram_summarizes_to_zeros() -> None:
    summary = histograms.summarize(histograms.new_histogram())
    assert (summary.count, summary.p99_ms, summary.cdf) == (0, 0.0, [])


def test_fanout_lag_quantiles_come_from_the_servers_histogram_delta() -> None:
    metrics = Metrics()
    metrics.fanout_lag.observe(0.02)
    before = scrape.parse(metrics.render().decode())
    for _ in range(98):
        metrics.fanout_lag.observe(0.03)  # bucket (0.025, 0.05]
    metrics.fanout_lag.observe(3.0)  # bucket (2.5, 5]
    metrics.fanout_lag.observe(3.0)
    metrics.fanout_writes.inc(250)
    after = scrape.parse(metrics.render().decode())

    delta = scrape.lag_delta(before, after)

    assert after.lag_count - before.lag_count == 100
    assert after.writes - before.writes == 250
    median = scrape.quantile(delta, 0.5)
    assert median is not None
    assert 0.025 < median <= 0.05
    p99 = scrape.quantile(delta, 0.99)
    assert p99 is not None
    assert 2.5 < p99 <= 5.0
    assert scrape.quantile(scrape.lag_delta(after, after), 0.99) is None


def test_quantile_in_the_overflow_bucket_answers_the_largest_bound() -> None:
    buckets = [(1.0, 0.0), (float("inf"), 5.0)]
    assert scrape.quantile(buckets, 0.99) == 1.0


def test_memory_cache_holds_an_entry_in_about_eight_bytes() -> None:
    memory = measure_cache_memory(users=50, entries_per_user=200)

    assert memory.reported_bytes == 50 * 200 * 8
    assert 8.0 <= memory.bytes_per_entry <= 16.0


def test_profile_summary_ranks_busy_functions_and_drops_idle_samples() -> None:
    from starling.bench.profiles import summarize_collapsed, top_inclusive

    raw = "\n".join(
        [
            "main (cli.py:1);home (/src/starling/services/timelines.py:80);"
            "execute (site-packages/sqlalchemy/engine.py:9) 6",
            "main (cli.py:1);home (/src/starling/services/timelines.py:81) 2",
            "main (cli.py:1);encode (site-packages/msgspec/json.py:3) 2",
            "main (cli.py:1);select (selectors.py:468) 90",
        ]
    )

    by_self = summarize_collapsed(raw)
    ours = top_inclusive(raw)

    assert [line.function for line in by_self] == [
        "execute (sqlalchemy/engine.py)",
        "home (starling/services/timelines.py)",
        "encode (msgspec/json.py)",
    ]
    assert by_self[0].self_share == pytest.approx(0.6)  # of busy samples, idle dropped
    assert ours[0].function == "home (starling/services/timelines.py)"
    assert ours[0].inclusive_share == pytest.approx(0.8)
    assert ours[0].self_share == pytest.approx(0.2)


def test_profile_of_subprocesses_skips_the_process_frame_and_entry_points() -> None:
    from starling.bench.profiles import summarize_collapsed, top_inclusive

    raw = "\n".join(
        [
            'process 7:"python -m starling serve" 50',
            'process 7:"python -m starling serve";<module> (/src/starling/__main__.py:5);'
            "home (/src/starling/services/timelines.py:80) 10",
        ]
    )

    assert [line.function for line in summarize_collapsed(raw)] == [
        "home (starling/services/timelines.py)"
    ]
    assert [line.function for line in top_inclusive(raw)] == [
        "home (starling/services/timelines.py)"
    ]
    assert summarize_collapsed("") == []
