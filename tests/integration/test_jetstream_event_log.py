"""``JetStreamEventLog`` against the real NATS JetStream server (``services.require("nats")``).

Each test owns a stream with a unique name (and so unique subjects), deleted afterwards,
so tests and other deployments can share one NATS. "Processes" are separate event-log
objects with their own connections over one SQLite file, as ``starling serve`` and
``starling worker`` would be. The shared server is never stopped: NATS being down is a
log pointed at a dead port, or a private ``nats-server`` the test starts and stops itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest
from sqlalchemy import insert

import services
from contract.test_event_log_contract import NOW_MS, EventLogContract, Recorder
from starling.adapters.jetstream import RELAY, JetStreamEventLog
from starling.adapters.sql.tables import outbox
from starling.adapters.sqlite.store import SqliteStore
from starling.domain.events import AnyEvent, TweetPosted, event_type
from starling.domain.ids import SnowflakeGenerator, timestamp_ms
from starling.domain.model import Tweet
from starling.metrics import Metrics
from starling.ports import BackendUnavailable, Store

NATS_URL = f"nats://{services.SERVICES['nats']}"
DEAD_URL = "nats://127.0.0.1:1"
AUTHOR_ID = 1

LogFactory = Callable[..., JetStreamEventLog]


def new_stream_name() -> str:
    return f"T{uuid.uuid4().hex[:12].upper()}"


async def delete_streams(stream: str) -> None:
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        for name in (stream, f"{stream}_DLQ"):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(name)
    finally:
        await nc.close()


async def commit(store: Store, ids: SnowflakeGenerator, n: int) -> list[TweetPosted]:
    """Post ``n`` tweets, each with its ``TweetPosted`` event, one transaction each."""
    events = []
    for _ in range(n):
        tweet_id = ids.next_id()
        tweet = Tweet(
            id=tweet_id, author_id=AUTHOR_ID, text="hi", created_at_ms=timestamp_ms(tweet_id)
        )
        event = TweetPosted(
            event_id=ids.next_id(),
            occurred_at_ms=tweet.created_at_ms,
            tweet_id=tweet_id,
            author_id=AUTHOR_ID,
        )
        await store.insert_tweet(tweet, [event])
        events.append(event)
    return events


@pytest.fixture
def ids() -> SnowflakeGenerator:
    ms = itertools.count(NOW_MS)
    return SnowflakeGenerator(5, lambda: next(ms))


@pytest.fixture
async def stream() -> AsyncIterator[str]:
    services.require("nats")
    name = new_stream_name()
    yield name
    await delete_streams(name)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    services.require("nats")
    store = SqliteStore(f"sqlite:///{tmp_path}/events.db")
    yield store
    await store.close()


@pytest.fixture
async def make_log(store: SqliteStore, stream: str) -> AsyncIterator[LogFactory]:
    """Factory of event logs on this test's store and stream, all stopped at the end."""
    services.require("nats")
    made: list[JetStreamEventLog] = []

    def factory(**overrides: Any) -> JetStreamEventLog:
        options: dict[str, Any] = {
            "url": NATS_URL,
            "stream": stream,
            "max_deliver": 3,
            "backoff_s": (0.001,),
            **overrides,
        }
        metrics = options.pop("metrics", None) or Metrics()
        log = JetStreamEventLog(options.pop("store", store), metrics, **options)
        made.append(log)
        return log

    yield factory
    for log in reversed(made):
        await log.stop()


@pytest.fixture
async def admin() -> AsyncIterator[Any]:
    """A plain JetStream context, to look at the streams the way an operator would."""
    services.require("nats")
    nc = await nats.connect(NATS_URL)
    yield nc.jetstream()
    await nc.close()


# --- the EventLog contract ---------------------------------------------------------------
class TestJetStreamEventLog(EventLogContract):
    _raw_ids = itertools.count(1)

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        services.require("nats")
        self.stream = new_stream_name()
        store = SqliteStore(f"sqlite:///{tmp_path}/events.db")
        yield store
        await store.close()
        await delete_streams(self.stream)

    def new_event_log(self, store: Store) -> JetStreamEventLog:
        return JetStreamEventLog(
            store,
            Metrics(),
            url=NATS_URL,
            stream=self.stream,
            max_deliver=self.max_deliver,
            backoff_s=(0.001,),
        )

    async def commit_raw(self, store: Store, payload: bytes) -> None:
        assert isinstance(store, SqliteStore)
        with store.engine.begin() as conn:
            conn.execute(
                insert(outbox).values(
                    event_id=next(self._raw_ids),
                    event_type="garbage",
                    payload=payload,
                    created_at_ms=NOW_MS,
                )
            )


# --- subjects and streams ----------------------------------------------------------------
def test_a_stream_name_that_is_not_a_nats_name_is_refused(store: SqliteStore) -> None:
    services.require("nats")
    for bad in ("", "A.B", "A B", "A*", "STARLING_DLQ"):
        with pytest.raises(ValueError, match="stream name"):
            JetStreamEventLog(store, Metrics(), url=NATS_URL, stream=bad)


async def test_events_go_to_subjects_derived_from_the_stream_name(
    make_log: LogFactory, store: SqliteStore, stream: str, ids: SnowflakeGenerator, admin: Any
) -> None:
    services.require("nats")
    log = make_log(consume=False)
    await log.start()
    (event,) = await commit(store, ids, 1)
    log.notify()
    await log.drain()
    prefix = stream.lower()
    main = await admin.stream_info(stream)
    dlq = await admin.stream_info(f"{stream}_DLQ")
    assert main.config.subjects == [f"{prefix}.>"]
    assert dlq.config.subjects == [f"{prefix}_dlq.>"]
    assert main.config.duplicate_window >= 120
    raw = await admin.get_msg(stream, 1)
    assert raw.subject == f"{prefix}.{event_type(event)}"
    assert raw.headers["Nats-Msg-Id"] == str(event.event_id)


async def test_two_deployments_share_one_nats_without_seeing_each_others_events(
    make_log: LogFactory, store: SqliteStore, tmp_path: Path, ids: SnowflakeGenerator
) -> None:
    services.require("nats")
    other_stream = new_stream_name()
    other_store = SqliteStore(f"sqlite:///{tmp_path}/other.db")
    try:
        ours, theirs = Recorder(), Recorder()
        log = make_log()
        log.subscribe("fanout", ours)
        other = make_log(store=other_store, stream=other_stream)
        other.subscribe("fanout", theirs)
        await log.start()
        await other.start()
        mine = await commit(store, ids, 3)
        yours = await commit(other_store, ids, 2)
        await log.drain()
        await other.drain()
        assert ours.seen == mine
        assert theirs.seen == yours
    finally:
        await other_store.close()
        await delete_streams(other_stream)


# --- relay -------------------------------------------------------------------------------
async def test_relaying_the_same_outbox_rows_again_delivers_no_duplicates(
    make_log: LogFactory, store: SqliteStore, stream: str, ids: SnowflakeGenerator, admin: Any
) -> None:
    services.require("nats")
    handler = Recorder()
    first = make_log()
    first.subscribe("fanout", handler)
    await first.start()
    events = await commit(store, ids, 50)
    first.notify()
    await first.drain()
    await first.stop()
    # A relay that crashed after its PubAcks but before saving its position.
    await store.set_consumer_position(RELAY, 0)
    second = make_log()
    second.subscribe("fanout", handler)
    await second.start()
    await second.drain()
    assert await store.consumer_position(RELAY) == await store.outbox_head()
    assert (await admin.stream_info(stream)).state.messages == 50
    assert handler.seen == events


async def test_events_committed_while_nats_is_down_are_delivered_when_it_is_back(
    make_log: LogFactory, store: SqliteStore, ids: SnowflakeGenerator
) -> None:
    services.require("nats")
    handler = Recorder()
    down = make_log(url=DEAD_URL, connect_wait_s=0.2)
    down.subscribe("fanout", handler)
    await down.start()  # does not raise: it keeps trying in the background
    with pytest.raises(BackendUnavailable):
        await down.ping()
    events = await commit(store, ids, 4)  # posts still commit
    down.notify()
    with pytest.raises(TimeoutError):
        await down.drain(timeout_s=0.3)
    assert await down.pending() == 4
    await down.stop()
    # NATS is back (the same process, restarted against a live server).
    back = make_log()
    back.subscribe("fanout", handler)
    await back.start()
    await back.ping()
    await back.drain()
    assert handler.seen == events
    assert await back.pending() == 0


class PrivateNats:
    """A NATS server of this test's own (JetStream storage under ``tmp_path``), so the test
    can stop and restart it; the shared server is never touched."""

    def __init__(self, binary: str, storage: Path) -> None:
        self._binary = binary
        self._storage = storage
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        self.url = f"nats://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [
                self._binary,
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self._storage),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.02)  # waiting for a process to listen, not for work
        raise TimeoutError("private nats-server did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[PrivateNats]:
    services.require("nats")
    binary = shutil.which("nats-server")
    if binary is None:
        pytest.skip("no nats-server binary to run a private server")
    server = PrivateNats(binary, tmp_path / "jetstream")
    server.start()
    yield server
    server.stop()


async def test_a_nats_restart_heals_without_restarting_the_process(
    make_log: LogFactory, store: SqliteStore, ids: SnowflakeGenerator, private_nats: PrivateNats
) -> None:
    services.require("nats")
    handler = Recorder()
    log = make_log(url=private_nats.url)
    log.subscribe("fanout", handler)
    await log.start()
    before = await commit(store, ids, 2)
    log.notify()
    await log.drain()
    private_nats.stop()
    during = await commit(store, ids, 3)  # posts still commit while NATS is down
    log.notify()
    with pytest.raises(TimeoutError):
        await log.drain(timeout_s=0.3)
    with pytest.raises(BackendUnavailable):
        await log.ping()
    private_nats.start()  # same port, same storage
    await log.drain(timeout_s=20)
    await log.ping()
    assert handler.seen == before + during


# --- processes ---------------------------------------------------------------------------
async def test_relay_consumer_and_observer_in_separate_processes(
    make_log: LogFactory, store: SqliteStore, ids: SnowflakeGenerator
) -> None:
    services.require("nats")
    handler = Recorder()
    worker = make_log(relay=False)
    worker.subscribe("fanout", handler)
    api_store = SqliteStore(store.url, migrate=False)  # the API process's own connection
    observer = make_log(store=api_store, relay=False, consume=False)
    api = make_log(store=api_store, consume=False)
    try:
        await worker.start()
        await observer.start()
        events = await commit(store, ids, 5)
        # Nobody relays yet: the observer must not report a drained log.
        with pytest.raises(TimeoutError):
            await observer.drain(timeout_s=0.3)
        assert await observer.pending() == 5
        await api.start()
        api.notify()
        await observer.drain()
        assert handler.seen == events
        assert await observer.pending() == 0
        more = await commit(api_store, ids, 200)
        api.notify()
        await observer.drain()
        assert handler.seen == events + more
    finally:
        await api.stop()
        await observer.stop()
        await api_store.close()


async def test_workers_of_one_group_share_the_events(
    make_log: LogFactory, store: SqliteStore, ids: SnowflakeGenerator
) -> None:
    services.require("nats")
    one, two = Recorder(), Recorder()
    first = make_log()
    first.subscribe("fanout", one)
    second = make_log()
    second.subscribe("fanout", two)
    await first.start()
    await second.start()
    events = await commit(store, ids, 300)
    first.notify()
    await first.drain()
    assert sorted(one.ids + two.ids) == sorted(e.event_id for e in events)


async def test_a_stopped_worker_hands_its_unfinished_event_to_another_at_once(
    make_log: LogFactory, store: SqliteStore, ids: SnowflakeGenerator
) -> None:
    services.require("nats")
    started = asyncio.Event()

    async def hang(_event: AnyEvent) -> None:
        started.set()
        await asyncio.Event().wait()

    stuck = make_log()
    stuck.subscribe("fanout", hang)
    await stuck.start()
    events = await commit(store, ids, 1)
    stuck.notify()
    await asyncio.wait_for(started.wait(), 5)
    await stuck.stop()  # long before the 30 s ack wait
    handler = Recorder()
    healthy = make_log(relay=False)
    healthy.subscribe("fanout", handler)
    await healthy.start()
    await healthy.drain(timeout_s=5)
    assert handler.seen == events


# --- retries, crashes and dead letters ---------------------------------------------------
async def test_a_slow_handler_keeps_its_event_past_the_ack_wait(
    make_log: LogFactory, store: SqliteStore, ids: SnowflakeGenerator
) -> None:
    services.require("nats")
    calls: list[int] = []

    async def slow(event: AnyEvent) -> None:
        calls.append(event.event_id)
        await asyncio.sleep(1.2)

    log = make_log(ack_wait_s=0.6)
    log.subscribe("fanout", slow)
    await log.start()
    (event,) = await commit(store, ids, 1)
    log.notify()
    await log.drain()
    assert calls == [event.event_id]


async def test_an_event_whose_worker_keeps_dying_is_parked_without_running_again(
    make_log: LogFactory, store: SqliteStore, stream: str, ids: SnowflakeGenerator, admin: Any
) -> None:
    services.require("nats")
    # Create the consumer, with a short ack wait, and relay the event.
    setup = make_log(max_deliver=2, ack_wait_s=0.3)
    setup.subscribe("fanout", Recorder())
    await setup.start()
    await setup.stop()
    (poison,) = await commit(store, ids, 1)
    relay = make_log(consume=False)
    await relay.start()
    relay.notify()
    # Two workers take the event and die before acknowledging it.
    sub = await admin.pull_subscribe_bind(consumer=f"{stream}_fanout", stream=stream)
    for delivery in (1, 2):
        (msg,) = await sub.fetch(1, timeout=5)
        assert msg.metadata.num_delivered == delivery
    await sub.unsubscribe()
    handler = Recorder()
    metrics = Metrics()
    worker = make_log(max_deliver=2, ack_wait_s=0.3, metrics=metrics)
    worker.subscribe("fanout", handler)
    await worker.start()
    await worker.drain()
    assert handler.calls == []
    (letter,) = await worker.dead_letters()
    assert letter.event_id == str(poison.event_id)
    assert "without an ack" in letter.error
    assert metrics.registry.get_sample_value("starling_events_dead_letter_total") == 1


async def test_a_dead_letter_records_where_it_came_from(
    make_log: LogFactory, store: SqliteStore, stream: str, ids: SnowflakeGenerator
) -> None:
    services.require("nats")
    handler = Recorder()
    metrics = Metrics()
    log = make_log(metrics=metrics)
    log.subscribe("fanout", handler)
    await log.start()
    first, poison, last = await commit(store, ids, 3)
    handler.failures = {poison.event_id: -1}
    log.notify()
    await log.drain()
    assert handler.seen == [first, last]
    (letter,) = await log.dead_letters()
    assert letter.group == "fanout"
    assert letter.attempts == 3
    assert letter.subject == f"{stream.lower()}.tweet_posted"
    assert letter.event_id == str(poison.event_id)
    assert letter.error == f"RuntimeError('handler failed on {poison.event_id}')"
    assert metrics.registry.get_sample_value("starling_events_dead_letter_total") == 1
    assert await log.pending() == 0
    assert metrics.registry.get_sample_value("starling_events_pending") == 0


async def test_replay_from_an_operator_process_reaches_only_the_groups_workers(
    make_log: LogFactory, store: SqliteStore, ids: SnowflakeGenerator
) -> None:
    services.require("nats")
    fanout, search = Recorder(), Recorder()
    worker = make_log()
    worker.subscribe("fanout", fanout)
    worker.subscribe("search", search)
    await worker.start()
    first, poison = await commit(store, ids, 2)
    fanout.failures = {poison.event_id: -1}
    worker.notify()
    await worker.drain()
    assert [e.event_id for e in fanout.seen] == [first.event_id]
    assert search.seen == [first, poison]
    # The cause is fixed; `starling dlq replay` runs in its own process, without handlers.
    fanout.failures.clear()
    cli = make_log(relay=False, consume=False)
    await cli.start()
    assert [d.group for d in await cli.dead_letters()] == ["fanout"]
    assert await cli.replay_dead_letters("search") == 0
    assert await cli.replay_dead_letters() == 1
    await cli.drain()
    assert fanout.seen == [first, poison]
    assert search.seen == [first, poison]  # not handled twice by the other group
    assert await cli.dead_letters() == []


async def test_a_replayed_event_that_fails_again_is_parked_again(
    make_log: LogFactory, store: SqliteStore, ids: SnowflakeGenerator
) -> None:
    services.require("nats")
    handler = Recorder()
    worker = make_log()
    worker.subscribe("fanout", handler)
    await worker.start()
    (poison,) = await commit(store, ids, 1)
    handler.failures = {poison.event_id: -1}
    worker.notify()
    await worker.drain()
    cli = make_log(relay=False, consume=False)
    await cli.start()
    (before,) = await cli.dead_letters()
    assert await cli.replay_dead_letters() == 1
    await cli.drain()
    (after,) = await cli.dead_letters()
    assert after.id != before.id
    assert after.event_id == str(poison.event_id)
    assert handler.calls.count(poison.event_id) == 6


# --- readiness ---------------------------------------------------------------------------
async def test_ping_answers_only_when_connected(make_log: LogFactory) -> None:
    services.require("nats")
    log = make_log(relay=False, consume=False)
    with pytest.raises(BackendUnavailable):
        await log.ping()
    with pytest.raises(RuntimeError):
        await log.drain(timeout_s=0.1)
    await log.start()
    await log.ping()
    await log.stop()
    with pytest.raises(BackendUnavailable):
        await log.ping()
