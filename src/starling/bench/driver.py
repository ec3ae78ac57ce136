"""The load-generating processes: aiohttp clients replaying a schedule.

aiohttp, not httpx: on this 2-core machine the load generator shares the cores with the
server, and a bare ASGI app served at the rate httpx could drive kept the two client
processes at 96% CPU. aiohttp's client spends several times less CPU per request, so the
measured HTTP ceiling (and the latency floor at half of it) moves toward the server's.

Each driver process gets a :class:`DriverJob` (its share of the arrivals, the actors
and their tokens) and returns a :class:`DriverResult` of encoded HDR histograms. Open
loop: a request leaves at its scheduled time even when earlier ones are still waiting,
and its latency runs from the scheduled time, so queueing in the server (or in the
client's connection pool) counts (see :mod:`.schedule`). ``send_lag`` records how late
the client itself was in sending: when it grows, the client, not the server, is the
bottleneck. Closed loop (:func:`closed_loop`) keeps N requests in flight to find the
maximum rate.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import multiprocessing
import random
import time
from collections.abc import Callable, Sequence

import aiohttp
import msgspec
from hdrh.histogram import HdrHistogram

from starling.bench import histograms
from starling.bench.population import Actor, Population, pick
from starling.bench.schedule import (
    FOLLOW,
    LIKE,
    POST,
    POST_CELEBRITY,
    POST_TEN,
    READ,
    WEB_READ,
    Arrival,
)
from starling.web.session import SESSION_COOKIE as WEB_SESSION_COOKIE

PAGE_LIMIT = 50
"""Tweets per home-timeline read: the 50-tweet page of docs/scale-out.md's measured ceilings."""

TIMEOUT_S = 10.0
"""A request not answered in this time counts as an error (and as 10 s of latency)."""

SEND_LAG = "send_lag"
"""Histogram name of the client's own lateness in sending scheduled requests."""


class DriverJob(msgspec.Struct, frozen=True, kw_only=True):
    """One driver process's work. ``start_at`` is a ``time.monotonic()`` instant shared
    by all drivers (Linux's monotonic clock is system-wide)."""

    base_url: str
    population: Population
    tokens: dict[int, str]
    arrivals: list[Arrival] = []
    start_at: float = 0.0
    connections: int = 64
    closed_loop_s: float = 0.0
    """When positive: ignore ``arrivals`` and run closed-loop reads for this long."""
    closed_loop_kind: str = READ
    """What the closed loop reads: the JSON home timeline, or the web home page."""
    sweep: list[int] = []
    """When non-empty: read the home timeline of each of these readers (indexes into
    ``population.readers``) once, closed loop (the warm-up that makes timelines present)."""
    seed: int = 0
    texts: list[str] = []


class DriverResult(msgspec.Struct, kw_only=True):
    """What one driver measured: histograms (encoded) and error counts per kind,
    completed requests, the client's CPU seconds, and sampled response sizes (bytes)."""

    histograms: dict[str, str]
    errors: dict[str, int]
    completed: int
    elapsed_s: float
    cpu_s: float
    page_bytes: list[int]
    error_samples: list[str]


class _Response(msgspec.Struct, frozen=True):
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


HTTP_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)
"""What a failed request raises: counted as an error of its kind."""


class _Client:
    """The few calls the driver makes, over one aiohttp session (keep-alive pool of
    ``connections``), each answering a :class:`_Response` with the whole body read."""

    def __init__(self, base_url: str, connections: int) -> None:
        self._base = base_url.rstrip("/")
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
        )

    async def __aenter__(self) -> _Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()

    async def get(self, path: str, *, params: dict[str, int], headers: dict[str, str]) -> _Response:
        async with self._session.get(self._base + path, params=params, headers=headers) as r:
            return _Response(r.status, await r.read())

    async def post(
        self, path: str, *, headers: dict[str, str], json: object | None = None
    ) -> _Response:
        body = None if json is None else msgspec.json.encode(json)
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        async with self._session.post(self._base + path, data=body, headers=headers) as r:
            return _Response(r.status, await r.read())


class _Driver:
    def __init__(self, job: DriverJob, client: _Client) -> None:
        self.job = job
        self.client = client
        self.population = job.population
        self.histograms: dict[str, HdrHistogram] = {}
        self.errors: dict[str, int] = collections.Counter()
        self.error_samples: list[str] = []
        self.completed = 0
        self.page_bytes: list[int] = []
        self.tweet_ids: collections.deque[str] = collections.deque(maxlen=2_000)
        self.rng = random.Random(job.seed)
        self.texts = job.texts or ["Starling bench tweet"]

    def _headers(self, actor: Actor) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.job.tokens[actor.user_id]}"}

    def _cookie(self, actor: Actor) -> dict[str, str]:
        """A browser's session: the web app's cookie holds the same access token."""
        return {"Cookie": f"{WEB_SESSION_COOKIE}={self.job.tokens[actor.user_id]}"}

    def _record(self, name: str, seconds: float) -> None:
        histogram = self.histograms.get(name)
        if histogram is None:
            histogram = self.histograms[name] = histograms.new_histogram()
        histograms.record_seconds(histogram, seconds)

    def _text(self, draw: float) -> str:
        return self.texts[int(draw * 1_000_003) % len(self.texts)]

    async def _request(self, kind: str, draw: float) -> _Response | None:
        p = self.population
        if kind == READ:
            reader = pick(p.readers, p.reader_cum, draw)
            return await self.client.get(
                "/api/starling/v1/timeline/home",
                params={"limit": PAGE_LIMIT},
                headers=self._headers(reader),
            )
        if kind == WEB_READ:
            reader = pick(p.readers, p.reader_cum, draw)
            return await self.client.get("/", params={}, headers=self._cookie(reader))
        if kind in (POST, POST_TEN, POST_CELEBRITY):
            if kind == POST:
                author = pick(p.authors, p.author_cum, draw)
            elif kind == POST_TEN:
                author = pick(p.ten_follower_authors, None, draw)
            else:
                author = p.top_celebrity
            return await self.client.post(
                "/api/starling/v1/tweets",
                json={"text": self._text(draw)},
                headers=self._headers(author),
            )
        if kind == LIKE:
            if not self.tweet_ids:
                return None
            liker = pick(p.readers, p.reader_cum, draw)
            tweet_id = self.tweet_ids[int(draw * len(self.tweet_ids))]
            return await self.client.post(
                f"/api/starling/v1/tweets/{tweet_id}/like", headers=self._headers(liker)
            )
        if kind == FOLLOW:
            follower = pick(p.readers, p.reader_cum, draw)
            followee = pick(p.authors, p.author_cum, (draw * 7919) % 1.0)
            if followee.user_id == follower.user_id:
                return None
            return await self.client.post(
                f"/api/starling/v1/users/{followee.user_id}/follow", headers=self._headers(follower)
            )
        raise ValueError(f"unknown request kind {kind!r}")

    def _learn(self, kind: str, response: _Response) -> None:
        """Keep tweet ids to like (from posts, and from a few pages) and page sizes."""
        if kind == READ:
            if len(self.page_bytes) < 200 or self.rng.random() < 0.01:
                self.page_bytes.append(len(response.content))
                if len(self.page_bytes) > 1_000:
                    self.page_bytes = self.page_bytes[-1_000:]
                try:
                    page = msgspec.json.decode(response.content)
                    self.tweet_ids.extend(t["id"] for t in page.get("tweets", [])[:5])
                except (msgspec.DecodeError, TypeError, KeyError):
                    pass
        elif kind in (POST, POST_TEN, POST_CELEBRITY):
            with contextlib.suppress(msgspec.DecodeError, TypeError, KeyError):
                self.tweet_ids.append(msgspec.json.decode(response.content)["id"])

    async def one(self, kind: str, draw: float, since: float) -> None:
        """Send one request; its latency runs from ``since`` (monotonic seconds)."""
        try:
            response = await self._request(kind, draw)
        except HTTP_ERRORS as exc:
            self.errors[kind] += 1
            if len(self.error_samples) < 10:
                self.error_samples.append(f"{kind}: {type(exc).__name__}: {exc}")
            self._record(kind, time.monotonic() - since)
            return
        if response is None:
            return
        if response.status_code >= 400:
            self.errors[kind] += 1
            if len(self.error_samples) < 10:
                self.error_samples.append(
                    f"{kind}: HTTP {response.status_code} {response.text[:200]}"
                )
            return
        self._record(kind, time.monotonic() - since)
        self.completed += 1
        self._learn(kind, response)

    def result(self, elapsed_s: float, cpu_s: float) -> DriverResult:
        return DriverResult(
            histograms={name: histograms.encode(h) for name, h in self.histograms.items()},
            errors=dict(self.errors),
            completed=self.completed,
            elapsed_s=elapsed_s,
            cpu_s=cpu_s,
            page_bytes=self.page_bytes,
            error_samples=self.error_samples,
        )


def _client(job: DriverJob) -> _Client:
    return _Client(job.base_url, job.connections)


async def open_loop(job: DriverJob) -> DriverResult:
    """Send ``job.arrivals`` at ``job.start_at + arrival.at_s``, never waiting for
    answers before sending; latency from the scheduled instant."""
    cpu0 = time.process_time()
    async with _client(job) as client:
        driver = _Driver(job, client)
        tasks: set[asyncio.Task[None]] = set()
        for arrival in job.arrivals:
            due = job.start_at + arrival.at_s
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                driver._record(SEND_LAG, -delay)
            task = asyncio.create_task(driver.one(arrival.kind, arrival.draw, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
        elapsed = time.monotonic() - job.start_at
    return driver.result(elapsed, time.process_time() - cpu0)


async def closed_loop(job: DriverJob) -> DriverResult:
    """Keep ``job.connections`` home reads (``job.closed_loop_kind``: JSON or web page)
    in flight for ``job.closed_loop_s`` seconds (each connection sends its next read
    when the last one answered)."""
    cpu0 = time.process_time()
    async with _client(job) as client:
        driver = _Driver(job, client)
        delay = job.start_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        started = time.monotonic()
        deadline = started + job.closed_loop_s

        async def connection(index: int) -> None:
            rng = random.Random(job.seed * 1_000 + index)
            while time.monotonic() < deadline:
                await driver.one(job.closed_loop_kind, rng.random(), time.monotonic())

        await asyncio.gather(*(connection(i) for i in range(job.connections)))
        elapsed = time.monotonic() - started
    return driver.result(elapsed, time.process_time() - cpu0)


async def sweep(job: DriverJob) -> DriverResult:
    """Read each reader of ``job.sweep`` once, ``job.connections`` at a time."""
    cpu0 = time.process_time()
    started = time.monotonic()
    async with _client(job) as client:
        driver = _Driver(job, client)
        queue = list(reversed(job.sweep))
        readers = job.population.readers

        async def connection() -> None:
            while queue:
                index = queue.pop()
                started_at = time.monotonic()
                try:
                    response = await client.get(
                        "/api/starling/v1/timeline/home",
                        params={"limit": PAGE_LIMIT},
                        headers=driver._headers(readers[index]),
                    )
                except HTTP_ERRORS as exc:
                    driver.errors[READ] += 1
                    if len(driver.error_samples) < 10:
                        driver.error_samples.append(f"read: {type(exc).__name__}: {exc}")
                    continue
                if response.status_code >= 400:
                    driver.errors[READ] += 1
                    continue
                driver._record(READ, time.monotonic() - started_at)
                driver.completed += 1
                driver._learn(READ, response)

        await asyncio.gather(*(connection() for _ in range(job.connections)))
    return driver.result(time.monotonic() - started, time.process_time() - cpu0)


def run_job(job: DriverJob) -> DriverResult:
    """Process entry point (picklable): sweep, closed loop or open loop, as ``job`` says."""
    if job.sweep:
        return asyncio.run(sweep(job))
    if job.closed_loop_s > 0:
        return asyncio.run(closed_loop(job))
    return asyncio.run(open_loop(job))


def run_jobs(
    jobs: Sequence[DriverJob], *, while_running: Callable[[], None] | None = None
) -> list[DriverResult]:
    """Run each job in its own spawned process (the load never shares a process with
    the caller or the server) and return the results in order. ``while_running`` is
    called about once a second meanwhile (the runner samples server metrics)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(jobs)) as pool:
        pending = pool.map_async(run_job, jobs)
        while not pending.ready():
            if while_running is not None:
                while_running()
            pending.wait(1.0)
        return pending.get()
