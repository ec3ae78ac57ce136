"""One ``starling bench`` run: data, server processes, phases, ceilings, report.

Per strategy, on a freshly started server (cold timeline cache):

1. warm-up: every sampled reader reads its home timeline once (closed loop), so the
   readers' timelines are present and push has somewhere to write;
2. ``mixed``: open loop at ``rate`` for ``duration`` s: reads:posts 100:1, likes, follows;
3. ``posting``: celebrity (202k followers) and 10-follower posts in equal numbers;
4. ``fanout``: ordinary posts at ``post_rate`` per second with reads; fan-out lag from
   the server's histogram, sampled every second (the lag-over-time plot);
5. a burst of posts, timed until the event backlog drains: timeline writes per second;
6. ``read capacity``: closed-loop reads (the sustained maximum), then ``read half``:
   open loop at half that rate (the latency target's condition); then the same two for
   the web app's server-rendered home page (``web read capacity``, ``web read half``);
7. the write-cost probe: quiescent posts by authors of each follower bucket, one at a
   time, each waited for: timeline writes per tweet.

Then the ceilings (bare ASGI app with the median real page size; redis-benchmark ZADD
on scale-out), the embedded cache's bytes per entry, targets, JSON, plots.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import msgspec
from rich.console import Console

from starling.bench import ceilings, histograms, plots, profiles, report, schedule, scrape
from starling.bench import server as servers
from starling.bench.driver import DriverJob, DriverResult, run_jobs
from starling.bench.memory import measure_cache_memory
from starling.bench.population import Population, build_population
from starling.bench.results import (
    CacheMemoryResult,
    FanoutThroughput,
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

DATASET_META_KEY = "bench_dataset"
"""Meta key set once ``starling load --celebrities`` completed on a bench database."""

POSTING_RATE = 60.0
"""Requests per second of the posting phase (half posts, split celebrity / 10-follower).
With the phase as long as the mixed one (20 s by default) that is ~300 posts of each
kind, enough for their p99 to be more than the worst one or two."""

BURST_POSTS = 300
BURST_RATE = 1_000.0
THROUGHPUT_TWEETS = 25
"""Posts of the fan-out throughput probe by the 10% celebrity (40,472 followers with the
overlay): ~1 M timeline writes."""
THROUGHPUT_FOLLOWER_CHUNK = 5_000
"""Followers read per store query while the probe makes their timelines present."""
THROUGHPUT_CONCURRENCY = 64
"""Timelines made present at once by the probe's setup (cache calls in flight, within
redis-py's default pool of 100 connections)."""
DRAIN_TIMEOUT_S = 120.0
PROBE_TIMEOUT_S = 20.0
"""How long the write-cost probe waits for one tweet's fan-out before counting it as
unconfirmed (its writes so far still count)."""
TEXTS = [
    "Morning run done, coffee next #running",
    "Reading the timelines paper again: push for most, pull for the famous few",
    "Flood warnings downtown, stay safe everyone #weather",
    "Flight delayed two hours, at least the lounge has wifi",
    "New blog post on sorted sets and why timelines hold ids only",
]


class Options(msgspec.Struct, frozen=True, kw_only=True):
    """``starling bench`` options (see its --help)."""

    config: str
    strategies: list[str]
    duration_s: float
    rate: float
    post_rate: float
    readers: int
    authors: int
    client_processes: int
    connections: int
    out_dir: Path
    data_dir: Path
    bench_dir: Path
    seed: int
    profile: bool = False
    rate_limits: bool = True
    """Request budgets on (the default: what a deployment runs), with the write budgets
    raised (see :data:`starling.bench.server.BENCH_WRITE_BUDGETS`); off measures the feed
    alone."""


def machine() -> Machine:
    """nproc, CPU model and RAM of this machine (Linux /proc; '?' elsewhere)."""
    model = "?"
    ram_gb = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return Machine(
        nproc=os.cpu_count() or 0,
        cpu_model=model,
        ram_gb=ram_gb,
        python=platform.python_version(),
        platform=platform.platform(),
    )


# --- data ----------------------------------------------------------------------------
async def _dataset_marker(env: Mapping[str, str], value: str | None) -> str | None:
    from starling.bootstrap import build
    from starling.config import load_settings

    core = await build(load_settings(env), run_workers=False)
    try:
        if value is not None:
            await core.store.set_meta_if_absent(DATASET_META_KEY, value)
        return await core.store.get_meta(DATASET_META_KEY)
    finally:
        await core.stop()


def ensure_loaded(backends: servers.Backends, options: Options, console: Console) -> bool:
    """Load the real data with the celebrity overlay unless this database already holds
    it (the meta marker); returns True when it loaded now. Raises ``RuntimeError`` when
    ``starling load`` fails."""
    asyncio.run(backends.create_database())
    env = backends.env()
    if asyncio.run(_dataset_marker(env, None)) is not None:
        console.print(f"reusing the loaded database {backends.database_url}")
        return False
    console.print(f"loading the real data with the celebrity overlay into {backends.database_url}")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "starling",
            "load",
            "--celebrities",
            "--data",
            str(options.data_dir),
            "--seed",
            str(options.seed),
        ],
        env={**os.environ, **env},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"starling load failed with exit status {done.returncode}")
    asyncio.run(_dataset_marker(env, f"soc-twitter-follows+overlay seed={options.seed}"))
    return True


async def mint_tokens(env: Mapping[str, str], population: Population) -> dict[int, str]:
    """A bearer token per actor, by the code ``starling token`` runs."""
    from starling.bootstrap import build
    from starling.config import load_settings

    core = await build(load_settings(env), run_workers=False)
    try:
        return {
            actor.user_id: await core.accounts.token_for(username=actor.username)
            for actor in population.everyone()
        }
    finally:
        await core.stop()


# --- phases --------------------------------------------------------------------------
class _Context:
    """What the phases of one strategy share: server, actors, sampling of metrics."""

    def __init__(
        self,
        options: Options,
        server: servers.Server,
        population: Population,
        tokens: dict[int, str],
        result: StrategyResult,
    ) -> None:
        self.options = options
        self.server = server
        self.population = population
        self.tokens = tokens
        self.result = result
        self.t0 = time.monotonic()
        self.phase = "warm-up"
        self.last: scrape.Snapshot | None = None

    def job(self, **fields: object) -> DriverJob:
        return DriverJob(
            base_url=self.server.base_url,
            population=self.population,
            tokens=self.tokens,
            connections=self.options.connections,
            texts=TEXTS,
            **fields,  # type: ignore[arg-type]
        )

    def snapshot(self) -> scrape.Snapshot:
        return scrape.fetch(self.server.metrics_url, time.monotonic() - self.t0)

    def sample(self) -> None:
        """Append a lag point for the interval since the last scrape (about 1 s)."""
        try:
            now = self.snapshot()
        except httpx.HTTPError:
            return
        if self.last is not None and now.at_s > self.last.at_s:
            delta = scrape.lag_delta(self.last, now)
            interval = now.at_s - self.last.at_s
            self.result.lag_series.append(
                LagPoint(
                    at_s=round(now.at_s, 2),
                    phase=self.phase,
                    count=delta[-1][1] if delta else 0.0,
                    p50_s=scrape.quantile(delta, 0.5),
                    p99_s=scrape.quantile(delta, 0.99),
                    writes_per_s=(now.writes - self.last.writes) / interval,
                    pending=now.pending,
                )
            )
        self.last = now

    def pending(self) -> float:
        """Events not yet processed. Scale-out asks JetStream directly: the API's
        ``starling_events_pending`` leaves out events a worker fetched and has not
        acknowledged yet, so it reads 0 while a busy worker holds a batch."""
        try:
            pending = scrape.fetch(self.server.api_metrics_url).pending
        except httpx.HTTPError:
            # A server too busy to answer /metrics in time (push fanning out to 200k
            # followers in the embedded process) has work pending.
            return math.inf
        backlog = self.server.jetstream_backlog()
        return pending if backlog is None else max(pending, float(backlog))

    def drain(self, timeout_s: float = DRAIN_TIMEOUT_S) -> float:
        """Wait until no event is pending (sampling meanwhile); returns seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            self.sample()
            if self.pending() == 0:
                break
            time.sleep(0.25)  # polling the server's backlog gauge: nothing to await
        return time.monotonic() - started

    def run(self, name: str, jobs: list[DriverJob], offered: float | None) -> Phase:
        self.phase = name
        results = run_jobs(jobs, while_running=self.sample)
        return _phase(name, offered, results)

    def open_loop(
        self, name: str, *, rate: float, duration_s: float, mix: Mapping[str, float], seed: int
    ) -> Phase:
        arrivals = schedule.open_loop(rate=rate, duration_s=duration_s, mix=mix, seed=seed)
        parts = schedule.shard(arrivals, self.options.client_processes)
        start_at = time.monotonic() + 3.0  # spawned drivers import and connect meanwhile
        jobs = [
            self.job(arrivals=part, start_at=start_at, seed=seed + i)
            for i, part in enumerate(parts)
        ]
        return self.run(name, jobs, rate)

    def closed_loop(self, name: str, duration_s: float, kind: str = schedule.READ) -> Phase:
        start_at = time.monotonic() + 3.0
        jobs = [
            self.job(
                closed_loop_s=duration_s, closed_loop_kind=kind, start_at=start_at, seed=17 + i
            )
            for i in range(self.options.client_processes)
        ]
        return self.run(name, jobs, None)


def _phase(name: str, offered: float | None, results: list[DriverResult]) -> Phase:
    by_name: dict[str, list[str]] = {}
    errors: dict[str, int] = {}
    samples: list[str] = []
    for r in results:
        for key, encoded in r.histograms.items():
            by_name.setdefault(key, []).append(encoded)
        for key, count in r.errors.items():
            errors[key] = errors.get(key, 0) + count
        samples.extend(r.error_samples)
    elapsed = max((r.elapsed_s for r in results), default=0.0)
    completed = sum(r.completed for r in results)
    return Phase(
        name=name,
        offered_rps=offered,
        achieved_rps=completed / elapsed if elapsed > 0 else 0.0,
        duration_s=round(elapsed, 2),
        latency=histograms.summarize_encoded(by_name),
        errors=errors,
        client_cpu_s=round(sum(r.cpu_s for r in results), 2),
        client_processes=len(results),
        error_samples=samples[:10],
    )


def _page_bytes(results: list[DriverResult]) -> list[int]:
    return [b for r in results for b in r.page_bytes]


def _write_costs(ctx: _Context, console: Console) -> list[WriteCost]:
    """Post, one at a time, by authors of each follower bucket; wait for each tweet's
    fan-out (lag count +1) and read the timeline-writes counter delta."""
    costs: list[WriteCost] = []
    ctx.phase = "write-cost probe"
    with httpx.Client(base_url=ctx.server.base_url, timeout=30.0) as client:
        for bucket, authors in ctx.population.probes.items():
            total = 0.0
            unconfirmed = 0
            for author in authors:
                ctx.drain(PROBE_TIMEOUT_S)  # quiescent: the probe's fan-out queues behind nothing
                before = ctx.snapshot()
                response = client.post(
                    "/api/starling/v1/tweets",
                    json={"text": f"write-cost probe of {bucket}"},
                    headers={"Authorization": f"Bearer {ctx.tokens[author.user_id]}"},
                )
                response.raise_for_status()
                deadline = time.monotonic() + PROBE_TIMEOUT_S
                after = ctx.snapshot()
                while after.lag_count < before.lag_count + 1 and time.monotonic() < deadline:
                    time.sleep(0.05)  # the fan-out runs in the server: poll its counter
                    after = ctx.snapshot()
                if after.lag_count < before.lag_count + 1:
                    unconfirmed += 1
                total += after.writes - before.writes
            costs.append(
                WriteCost(
                    bucket=bucket,
                    followers=authors[0].followers,
                    tweets=len(authors),
                    writes_per_tweet=total / len(authors),
                    unconfirmed=unconfirmed,
                )
            )
            note = (
                f" ({unconfirmed} fan-outs not seen in {PROBE_TIMEOUT_S:.0f} s)"
                if unconfirmed
                else ""
            )
            console.print(
                f"    {bucket}: {total / len(authors):,.1f} timeline writes per tweet{note}"
            )
    return costs


async def _make_present(server: servers.Server, author_id: int) -> int:
    """Make the timeline of every follower of ``author_id`` present (empty) in the
    server's Redis namespace, through the adapter the server uses; returns how many."""
    from starling.adapters.clock import SystemClock
    from starling.backends import select_backends
    from starling.config import load_settings

    settings = load_settings(server.env)
    backends = select_backends(settings)
    assert backends.shared_state == "redis"
    store = await backends.open_store(migrate=False)
    cache = backends.make_timeline_cache(settings.feed_rules(), SystemClock())
    made = 0
    try:
        after = 0
        while True:
            chunk = await store.follower_ids_after(
                author_id, after_id=after, limit=THROUGHPUT_FOLLOWER_CHUNK
            )
            for i in range(0, len(chunk), THROUGHPUT_CONCURRENCY):
                part = chunk[i : i + THROUGHPUT_CONCURRENCY]
                await asyncio.gather(*(cache.create(uid, []) for uid in part))
            made += len(chunk)
            if len(chunk) < THROUGHPUT_FOLLOWER_CHUNK:
                return made
            after = chunk[-1]
    finally:
        await cache.close()
        await store.close()


def _fanout_throughput(ctx: _Context, console: Console) -> FanoutThroughput:
    """Push's write rate into present timelines only (the fan-out target): every
    follower of the 10% celebrity gets a present timeline first, then it posts
    :data:`THROUGHPUT_TWEETS` times; the rate is the worker's timeline-writes counter
    delta over the time from the first post until the backlog drained."""
    author = ctx.population.celebrities[1]
    ctx.phase = "throughput"
    ctx.drain()
    present = asyncio.run(_make_present(ctx.server, author.user_id))
    console.print(f"    {present:,} follower timelines of {author.username} made present")
    before = ctx.snapshot()
    with httpx.Client(base_url=ctx.server.base_url, timeout=30.0) as client:
        for i in range(THROUGHPUT_TWEETS):
            response = client.post(
                "/api/starling/v1/tweets",
                json={"text": f"fan-out throughput probe {i}"},
                headers={"Authorization": f"Bearer {ctx.tokens[author.user_id]}"},
            )
            response.raise_for_status()
    ctx.drain()
    after = ctx.snapshot()
    return FanoutThroughput(
        author=author.username,
        followers=present,
        tweets=THROUGHPUT_TWEETS,
        writes=after.writes - before.writes,
        seconds=after.at_s - before.at_s,
    )


def _profile(pid: int, seconds: float, path: Path) -> subprocess.Popen[bytes] | None:
    """py-spy (when installed) sampling ``pid`` and its children into ``path``."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return None
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--duration",
            str(int(seconds)),
            "--format",
            "raw",
            "--output",
            str(path),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_strategy(
    options: Options,
    backends: servers.Backends,
    strategy: str,
    population: Population,
    tokens: dict[int, str],
    console: Console,
    profiles: list[str],
) -> StrategyResult:
    """All phases of one strategy on a server of its own (stopped at the end)."""
    console.rule(f"strategy {strategy}")
    result = StrategyResult(strategy=strategy)
    server = servers.start(
        backends,
        strategy=strategy,
        log_dir=options.out_dir / "logs",
        rate_limits=options.rate_limits,
    )
    d = options.duration_s
    try:
        ctx = _Context(options, server, population, tokens, result)
        ctx.sample()
        console.print(f"  warm-up: {len(population.readers):,} readers read once")
        jobs = [
            ctx.job(sweep=list(range(i, len(population.readers), options.client_processes)))
            for i in range(options.client_processes)
        ]
        raw = run_jobs(jobs, while_running=ctx.sample)
        result.warmup = _phase("warm-up", None, raw)
        pages = _page_bytes(raw)

        console.print(f"  mixed: {options.rate:,.0f} req/s open loop for {d:.0f} s")
        result.mixed = ctx.open_loop(
            "mixed", rate=options.rate, duration_s=d, mix=schedule.MIXED, seed=options.seed
        )
        ctx.drain()

        console.print(f"  posting: celebrity and 10-follower posts, {POSTING_RATE:.0f} req/s")
        result.posting = ctx.open_loop(
            "posting",
            rate=POSTING_RATE,
            duration_s=max(d, 10.0),
            mix=schedule.POSTING,
            seed=options.seed + 1,
        )
        ctx.drain()

        console.print(f"  fan-out: {options.post_rate:,.0f} posts/s with reads")
        before = ctx.snapshot()
        spy = None
        if options.profile:
            path = options.out_dir / f"profile-{options.config}-{strategy}-fanout.txt"
            spy = _profile(server.processes[-1].pid, max(d / 2, 5.0) + 3, path)
            profiles.append(path.name)
        result.fanout = ctx.open_loop(
            "fanout",
            rate=options.post_rate * 1.1,
            duration_s=max(d / 2, 5.0),
            mix=schedule.fanout_mix(10.0),
            seed=options.seed + 2,
        )
        if spy is not None:
            spy.wait()
        ctx.drain()
        after = ctx.snapshot()
        lag = scrape.lag_delta(before, after)
        result.fanout_lag_p50_s = scrape.quantile(lag, 0.5)
        result.fanout_lag_p99_s = scrape.quantile(lag, 0.99)
        result.fanout_lag_count = after.lag_count - before.lag_count

        console.print(f"  burst: {BURST_POSTS} posts, timed until fanned out")
        before = ctx.snapshot()
        burst = ctx.open_loop(
            "burst",
            rate=BURST_RATE,
            duration_s=BURST_POSTS / BURST_RATE,
            mix={schedule.POST: 9.0, schedule.POST_CELEBRITY: 1.0},
            seed=options.seed + 3,
        )
        del burst
        ctx.drain()
        after = ctx.snapshot()
        seconds = after.at_s - before.at_s
        result.fanout_writes_per_s = (after.writes - before.writes) / seconds if seconds else None

        console.print(
            f"  read capacity: closed loop, {options.connections} connections x "
            f"{options.client_processes} processes"
        )
        spy = None
        if options.profile:
            path = options.out_dir / f"profile-{options.config}-{strategy}-reads.txt"
            spy = _profile(server.processes[-1].pid, max(d / 2, 5.0), path)
            profiles.append(path.name)
        result.read_capacity = ctx.closed_loop("read capacity", max(d / 2, 5.0))
        if spy is not None:
            spy.wait()
        half = max((result.read_capacity.achieved_rps or 0) / 2, 1.0)
        console.print(f"  read half: {half:,.0f} req/s open loop")
        result.read_half = ctx.open_loop(
            "read half",
            rate=half,
            duration_s=max(d / 2, 5.0),
            mix=schedule.READS_ONLY,
            seed=options.seed + 4,
        )
        result.page_bytes = int(statistics.median(pages)) if pages else None

        console.print("  web home page: closed loop, then open loop at half its rate")
        result.web_read_capacity = ctx.closed_loop(
            "web read capacity", max(d / 2, 5.0), kind=schedule.WEB_READ
        )
        web_half = max((result.web_read_capacity.achieved_rps or 0) / 2, 1.0)
        result.web_read_half = ctx.open_loop(
            "web read half",
            rate=web_half,
            duration_s=max(d / 2, 5.0),
            mix=schedule.WEB_READS_ONLY,
            seed=options.seed + 5,
        )

        console.print("  write-cost probe")
        ctx.drain()
        result.write_costs = _write_costs(ctx, console)
        if options.config == servers.SCALE_OUT and strategy == "push":
            console.print("  fan-out throughput into present timelines")
            result.fanout_throughput = _fanout_throughput(ctx, console)
            console.print(f"    {result.fanout_throughput.writes_per_s:,.0f} timeline writes/s")
    finally:
        server.stop()
    return result


def _http_ceiling(
    options: Options,
    population: Population,
    tokens: dict[int, str],
    page_bytes: int,
    console: Console,
) -> HttpCeiling:
    workers = servers.API_WORKERS[options.config]
    console.rule(f"HTTP ceiling: bare ASGI app, {workers} worker(s), {page_bytes:,} B")
    bare = servers.start_bare(
        workers=workers, page_bytes=page_bytes, log_dir=options.out_dir / "logs"
    )
    try:
        result = StrategyResult(strategy="ceiling")
        ctx = _Context(options, bare, population, tokens, result)
        ctx.sample = lambda: None  # type: ignore[method-assign]  # no metrics to sample
        capacity = ctx.closed_loop("capacity", max(options.duration_s / 2, 5.0))
        half = ctx.open_loop(
            "half",
            rate=max(capacity.achieved_rps / 2, 1.0),
            duration_s=max(options.duration_s / 2, 5.0),
            mix=schedule.READS_ONLY,
            seed=options.seed + 5,
        )
    finally:
        bare.stop()
    return HttpCeiling(workers=workers, page_bytes=page_bytes, capacity=capacity, half=half)


def run(options: Options, console: Console) -> Results:
    """The whole benchmark; writes ``results.json`` and the plots into ``options.out_dir``."""
    from starling.loading.dataset import locate
    from starling.loading.graph import read_graph

    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    options.out_dir.mkdir(parents=True, exist_ok=True)
    backends = servers.Backends.for_config(options.config, options.bench_dir)
    ensure_loaded(backends, options, console)
    console.print("reading the follower graph for the actors")
    graph = read_graph(locate(options.data_dir).edges)
    population = build_population(
        graph.degree, readers=options.readers, authors=options.authors, seed=options.seed
    )
    tokens = asyncio.run(mint_tokens(backends.env(), population))
    results = Results(
        started_at=started,
        machine=machine(),
        settings=Settings(
            config=options.config,
            strategies=options.strategies,
            duration_s=options.duration_s,
            rate=options.rate,
            post_rate=options.post_rate,
            readers=len(population.readers),
            client_processes=options.client_processes,
            connections=options.connections,
            seed=options.seed,
            rate_limits=options.rate_limits,
        ),
        strategies={},
    )
    for strategy in options.strategies:
        results.strategies[strategy] = run_strategy(
            options, backends, strategy, population, tokens, console, results.profile_files
        )
        # Partial results survive an interrupted run (--report-from reads them back).
        report.write_json(results, options.out_dir)
    sizes = [s.page_bytes for s in results.strategies.values() if s.page_bytes]
    results.http_ceiling = _http_ceiling(
        options, population, tokens, int(statistics.median(sizes)) if sizes else 15_000, console
    )
    if backends.redis_url is not None:
        console.rule("Redis ceiling: redis-benchmark -P 64 ZADD")
        measured = ceilings.redis_zadd_ceiling(backends.redis_url)
        results.redis_ceiling = RedisCeilingResult(**msgspec.structs.asdict(measured))
    if options.config == servers.EMBEDDED:
        memory = measure_cache_memory()
        results.cache_memory = CacheMemoryResult(
            users=memory.users,
            entries_per_user=memory.entries_per_user,
            traced_bytes=memory.traced_bytes,
            reported_bytes=memory.reported_bytes,
            bytes_per_entry=round(memory.bytes_per_entry, 2),
        )
    finish(results, options.out_dir, console)
    return results


def finish(results: Results, out_dir: Path, console: Console) -> list[Path]:
    """Evaluate the targets, summarize the profiles, write ``results.json`` and the
    plots, print the tables."""
    results.targets = report.evaluate(results)
    for name in results.profile_files:
        path = out_dir / name
        if path.exists():
            results.profiles[name] = profiles.top_inclusive(path.read_text(), top=12)
    written = [report.write_json(results, out_dir), *plots.write_all(results, out_dir)]
    report.render(results, console)
    for path in written:
        console.print(f"wrote {path}")
    return written
