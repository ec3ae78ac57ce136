"""The ``EventLog`` contract, run against every adapter (one contract suite per port).

A subclass provides the ``store`` fixture, :meth:`EventLogContract.new_event_log` (an
event log over that store, ``max_deliver`` tries, a short backoff) and
:meth:`EventLogContract.commit_raw` (commit a payload that is not an event). Events are
committed the way services commit them: through store writes that take events.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import insert

from starling.adapters.outbox_event_log import OutboxEventLog
from starling.adapters.sql.tables import outbox
from starling.adapters.sqlite.store import SqliteStore
from starling.domain.events import AnyEvent, TweetPosted
from starling.domain.ids import SnowflakeGenerator, timestamp_ms
from starling.domain.model import Tweet
from starling.metrics import Metrics
from starling.ports import EventLog, Store

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
AUTHOR_ID = 1


class Recorder:
    """A handler that records what it is given and fails on demand.

    ``failures[event_id]`` is how many more times that event fails (-1: always).
    """

    def __init__(self) -> None:
        self.seen: list[AnyEvent] = []
        self.calls: list[int] = []
        self.failures: dict[int, int] = {}

    async def __call__(self, event: AnyEvent) -> None:
        self.calls.append(event.event_id)
        left = self.failures.get(event.event_id, 0)
        if left != 0:
            self.failures[event.event_id] = left - 1 if left > 0 else -1
            raise RuntimeError(f"handler failed on {event.event_id}")
        self.seen.append(event)

    @property
    def ids(self) -> list[int]:
        return [e.event_id for e in self.seen]


class BatchRecorder:
    """A batch handler that records into a :class:`Recorder`'s ``seen`` (so single and
    batch deliveries share one order) and fails whenever a batch holds ``poison``."""

    def __init__(self, single: Recorder, poison: set[int] | None = None) -> None:
        self.single = single
        self.sizes: list[int] = []
        self.poison = poison or set()

    async def __call__(self, events: Sequence[AnyEvent]) -> None:
        if any(e.event_id in self.poison for e in events):
            raise RuntimeError("batch holds a poison event")
        self.sizes.append(len(events))
        self.single.seen.extend(events)


class EventLogContract:
    max_deliver = 3

    @pytest.fixture
    async def store(self, tmp_path: Path) -> Store:
        raise NotImplementedError

    def new_event_log(self, store: Store) -> EventLog:
        """A fresh, unstarted event log over ``store``."""
        raise NotImplementedError

    async def commit_raw(self, store: Store, payload: bytes) -> None:
        """Commit ``payload`` to the log as if it were an event (e.g. from a buggy writer)."""
        raise NotImplementedError

    @pytest.fixture
    async def store_and_log(self, store: Store) -> AsyncIterator[tuple[Store, EventLog]]:
        event_log = self.new_event_log(store)
        yield store, event_log
        await event_log.stop()

    @pytest.fixture
    def ids(self) -> SnowflakeGenerator:
        ms = itertools.count(NOW_MS)
        return SnowflakeGenerator(3, lambda: next(ms))

    async def commit(self, store: Store, ids: SnowflakeGenerator, n: int) -> list[TweetPosted]:
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

    # --- delivery --------------------------------------------------------------------
    async def test_a_subscriber_gets_every_committed_event_once_in_order(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, log = store_and_log
        handler = Recorder()
        log.subscribe("fanout", handler)
        before = await self.commit(store, ids, 3)  # committed before start
        await log.start()
        after = await self.commit(store, ids, 4)
        log.notify()
        await log.drain()
        more = await self.commit(store, ids, 300)  # more than one batch
        log.notify()
        await log.drain()
        assert handler.seen == before + after + more
        assert len(handler.calls) == len(set(handler.calls))

    async def test_every_group_gets_every_event(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, log = store_and_log
        fanout, search = Recorder(), Recorder()
        log.subscribe("fanout", fanout)
        log.subscribe("search", search)
        await log.start()
        events = await self.commit(store, ids, 5)
        log.notify()
        await log.drain()
        assert fanout.seen == events
        assert search.seen == events

    async def test_a_failing_group_does_not_hold_back_another(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, log = store_and_log
        healthy, broken = Recorder(), Recorder()
        log.subscribe("healthy", healthy)
        log.subscribe("broken", broken)
        events = await self.commit(store, ids, 3)
        broken.failures = {e.event_id: -1 for e in events}
        await log.start()
        log.notify()
        await log.drain()
        assert healthy.seen == events
        assert broken.seen == []
        letters = await log.dead_letters()
        assert [(d.group, d.attempts) for d in letters] == [("broken", self.max_deliver)] * 3

    async def test_drain_returns_once_everything_is_processed(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, log = store_and_log
        handler = Recorder()
        log.subscribe("fanout", handler)
        events = await self.commit(store, ids, 4)
        assert await log.pending() == 4
        await log.start()
        await log.drain()  # no notify(): drain itself must not wait for a poll
        assert handler.seen == events
        assert await log.pending() == 0
        await log.drain()  # nothing new: returns at once
        assert await log.pending() == 0

    async def test_drain_times_out_when_a_handler_hangs(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, log = store_and_log
        never = asyncio.Event()

        async def hang(_event: AnyEvent) -> None:
            await never.wait()

        log.subscribe("stuck", hang)
        await log.start()
        await self.commit(store, ids, 1)
        log.notify()
        with pytest.raises(TimeoutError):
            await log.drain(timeout_s=0.05)
        assert await log.pending() == 1

    async def test_a_batch_handler_gets_events_fetched_together_in_order(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, log = store_and_log
        single = Recorder()
        batch = BatchRecorder(single)
        log.subscribe("search", single, batch=batch)
        events = await self.commit(store, ids, 40)  # waiting when consumption starts
        await log.start()
        log.notify()
        await log.drain()
        assert single.seen == events
        assert max(batch.sizes) > 1
        assert len(single.calls) + sum(batch.sizes) == len(events)

    async def test_a_failing_batch_is_retried_one_by_one_and_parks_only_the_poison(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, log = store_and_log
        single = Recorder()
        events = await self.commit(store, ids, 40)
        poison = events[20]
        single.failures = {poison.event_id: -1}
        log.subscribe("search", single, batch=BatchRecorder(single, {poison.event_id}))
        await log.start()
        log.notify()
        await log.drain()
        assert single.seen == [e for e in events if e is not poison]
        (letter,) = await log.dead_letters()
        assert letter.group == "search"
        assert letter.attempts == self.max_deliver
        assert await log.pending() == 0

    # --- retries and dead letters ----------------------------------------------------
    async def test_a_handler_that_fails_then_recovers_gets_the_event(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, log = store_and_log
        handler = Recorder()
        log.subscribe("fanout", handler)
        await log.start()
        events = await self.commit(store, ids, 3)
        handler.failures = {events[1].event_id: self.max_deliver - 1}
        log.notify()
        await log.drain()
        assert handler.seen == events  # in order: the retried one did not fall behind
        assert handler.calls.count(events[1].event_id) == self.max_deliver
        assert await log.dead_letters() == []

    async def test_an_event_that_keeps_failing_is_parked_and_the_rest_flow_on(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, log = store_and_log
        handler = Recorder()
        log.subscribe("fanout", handler)
        await log.start()
        first, poison, last = await self.commit(store, ids, 3)
        handler.failures = {poison.event_id: -1}
        log.notify()
        await log.drain()
        assert handler.seen == [first, last]
        assert handler.calls.count(poison.event_id) == self.max_deliver
        (letter,) = await log.dead_letters()
        assert letter.group == "fanout"
        assert letter.attempts == self.max_deliver
        assert "handler failed" in letter.error
        assert await log.pending() == 0  # parked, not pending
        # Later events are not blocked either.
        later = await self.commit(store, ids, 2)
        log.notify()
        await log.drain()
        assert handler.seen == [first, last, *later]
        # The cause is fixed: a replay delivers it and clears the dead letter.
        handler.failures.clear()
        assert await log.replay_dead_letters() == 1
        assert handler.seen[-1] == poison
        assert await log.dead_letters() == []
        assert await log.replay_dead_letters() == 0

    async def test_a_replay_that_fails_again_keeps_the_dead_letter(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, log = store_and_log
        handler = Recorder()
        log.subscribe("fanout", handler)
        (poison,) = await self.commit(store, ids, 1)
        handler.failures = {poison.event_id: -1}
        await log.start()
        await log.drain()
        assert await log.replay_dead_letters() == 0
        assert len(await log.dead_letters()) == 1
        handler.failures.clear()
        assert await log.replay_dead_letters("other_group") == 0
        assert await log.replay_dead_letters("fanout") == 1
        assert handler.seen == [poison]

    async def test_an_undecodable_payload_is_parked_without_blocking_the_rest(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, log = store_and_log
        handler = Recorder()
        log.subscribe("fanout", handler)
        before = await self.commit(store, ids, 1)
        await self.commit_raw(store, b"garbage")
        after = await self.commit(store, ids, 2)
        await log.start()
        log.notify()
        await log.drain()
        assert handler.seen == before + after
        (letter,) = await log.dead_letters()
        assert (letter.group, letter.payload) == ("fanout", b"garbage")
        assert await log.replay_dead_letters() == 0  # still garbage: stays parked
        assert len(await log.dead_letters()) == 1

    # --- restarts --------------------------------------------------------------------
    async def test_a_new_log_resumes_where_the_stopped_one_left_off(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, first_log = store_and_log
        first = Recorder()
        first_log.subscribe("fanout", first)
        await first_log.start()
        processed = await self.commit(store, ids, 3)
        first_log.notify()
        await first_log.drain()
        await first_log.stop()
        # Committed while no consumer ran (the process crashed after the commit).
        missed = await self.commit(store, ids, 2)
        second = Recorder()
        second_log = self.new_event_log(store)
        second_log.subscribe("fanout", second)
        try:
            await second_log.start()
            await second_log.drain()
            assert first.seen == processed
            assert second.seen == missed  # nothing lost, nothing processed twice
            newer = await self.commit(store, ids, 1)
            second_log.notify()
            await second_log.drain()
            assert second.seen == missed + newer
        finally:
            await second_log.stop()

    async def test_pending_after_a_restart_counts_only_unprocessed_events(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, first_log = store_and_log
        first_log.subscribe("fanout", Recorder())
        await first_log.start()
        await self.commit(store, ids, 3)
        await first_log.drain()
        await first_log.stop()
        await self.commit(store, ids, 2)
        second_log = self.new_event_log(store)
        second_log.subscribe("fanout", Recorder())
        assert await second_log.pending() == 2

    async def test_a_dead_lettered_event_is_not_redelivered_after_a_restart(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, first_log = store_and_log
        first = Recorder()
        first_log.subscribe("fanout", first)
        (poison,) = await self.commit(store, ids, 1)
        first.failures = {poison.event_id: -1}
        await first_log.start()
        await first_log.drain()
        await first_log.stop()
        second = Recorder()
        second_log = self.new_event_log(store)
        second_log.subscribe("fanout", second)
        try:
            await second_log.start()
            await second_log.drain()
            assert second.calls == []
            assert await second_log.replay_dead_letters() == 1
            assert second.seen == [poison]
        finally:
            await second_log.stop()

    async def test_a_group_that_joins_late_starts_from_the_beginning(
        self, store_and_log: tuple[Store, EventLog], ids: SnowflakeGenerator
    ) -> None:
        store, first_log = store_and_log
        first_log.subscribe("fanout", Recorder())
        await first_log.start()
        events = await self.commit(store, ids, 2)
        await first_log.drain()
        await first_log.stop()
        second_log = self.new_event_log(store)
        fanout, search = Recorder(), Recorder()
        second_log.subscribe("fanout", fanout)
        second_log.subscribe("search", search)
        try:
            await second_log.start()
            await second_log.drain()
            assert fanout.seen == []
            assert search.seen == events
        finally:
            await second_log.stop()


class TestOutboxEventLog(EventLogContract):
    _raw_ids = itertools.count(1)

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        store = SqliteStore(f"sqlite:///{tmp_path}/events.db")
        yield store
        await store.close()

    def new_event_log(self, store: Store) -> OutboxEventLog:
        return OutboxEventLog(store, Metrics(), max_deliver=self.max_deliver, backoff_s=0.001)

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

    async def test_dead_letters_are_in_the_store_and_counted_in_metrics(
        self, store: SqliteStore, ids: SnowflakeGenerator
    ) -> None:
        metrics = Metrics()
        log = OutboxEventLog(store, metrics, max_deliver=self.max_deliver, backoff_s=0.001)
        handler = Recorder()
        log.subscribe("fanout", handler)
        events = await self.commit(store, ids, 2)
        handler.failures = {events[0].event_id: -1}
        await self.commit_raw(store, b"\xff")
        try:
            await log.start()
            await log.drain()
        finally:
            await log.stop()
        letters = await store.dead_letters("fanout")
        assert [d.payload[:1] for d in letters] == [b"{", b"\xff"]
        assert metrics.registry.get_sample_value("starling_events_dead_letter_total") == 2
        assert await store.consumer_position("fanout") == await store.outbox_head()
