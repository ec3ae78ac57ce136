"""PNG figures of a run (matplotlib, Agg backend: no display needed).

- ``latency_cdf.png``: home-read latency CDF per strategy (mixed workload), log-scale
  tail axis so p99 and p99.9 are readable.
- ``fanout_lag.png``: fan-out lag p50/p99 per scrape interval over the run.
- ``writes_per_tweet.png``: timeline writes per tweet against the author's followers.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from starling.bench.results import Results


def _tail_axis(percentile: float) -> float:
    """x of a percentile on a "nines" axis: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3."""
    import math

    return -math.log10(max(1.0 - percentile / 100.0, 1e-5))


def latency_cdf(results: Results, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, strategy in results.strategies.items():
        for phase, style in ((strategy.mixed, "-"), (strategy.read_half, ":")):
            if phase is None or "read" not in phase.latency:
                continue
            cdf = phase.latency["read"].cdf
            if not cdf:
                continue
            ax.plot(
                [_tail_axis(p) for p, _ in cdf],
                [ms for _, ms in cdf],
                style,
                label=f"{name} ({phase.name})",
            )
    if results.http_ceiling and results.http_ceiling.half:
        ceiling = results.http_ceiling.half.latency.get("read")
        if ceiling and ceiling.cdf:
            ax.plot(
                [_tail_axis(p) for p, _ in ceiling.cdf],
                [ms for _, ms in ceiling.cdf],
                "k--",
                label="bare ASGI ceiling (half rate)",
            )
    ticks = [0, 50, 90, 99, 99.9, 99.99]
    ax.set_xticks([_tail_axis(p) for p in ticks], [f"p{p:g}" for p in ticks])
    ax.set_yscale("log")
    ax.set_xlabel("percentile")
    ax.set_ylabel("home-timeline read latency (ms, from scheduled send)")
    ax.set_title(f"Home-read latency, {results.settings.config}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fanout_lag(results: Results, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, strategy in results.strategies.items():
        points = [p for p in strategy.lag_series if p.p99_s is not None and p.p50_s is not None]
        if not points:
            continue
        line = ax.plot(
            [p.at_s for p in points], [p.p99_s or 0.0 for p in points], label=f"{name} p99"
        )
        ax.plot(
            [p.at_s for p in points],
            [p.p50_s or 0.0 for p in points],
            ":",
            color=line[0].get_color(),
            label=f"{name} p50",
        )
    ax.set_xlabel("seconds since the strategy's server started its measured phases")
    ax.set_ylabel("fan-out lag (s): post committed → in all pushed timelines")
    ax.set_yscale("log")
    ax.set_title(f"Fan-out lag over time, {results.settings.config}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def writes_per_tweet(results: Results, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, strategy in results.strategies.items():
        costs = sorted(strategy.write_costs, key=lambda c: c.followers)
        if costs:
            ax.plot(
                [c.followers for c in costs],
                [max(c.writes_per_tweet, 0.5) for c in costs],
                "o-",
                label=name,
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("author's followers")
    ax.set_ylabel("timeline writes per tweet (0 drawn at 0.5)")
    ax.set_title("Write cost of a tweet by follower count (present timelines only)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_all(results: Results, out_dir: Path) -> list[Path]:
    """Write the three PNGs into ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [
        out_dir / "latency_cdf.png",
        out_dir / "fanout_lag.png",
        out_dir / "writes_per_tweet.png",
    ]
    latency_cdf(results, paths[0])
    fanout_lag(results, paths[1])
    writes_per_tweet(results, paths[2])
    return paths
