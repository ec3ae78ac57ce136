"""Snowflake ids: 64-bit, time-ordered integers.

Layout (Twitter's snowflake, 2010): 41 bits of milliseconds since ``TWITTER_EPOCH_MS``,
10 bits of worker id, 12 bits of per-millisecond sequence. Using Twitter's own epoch
means the real tweet ids of the imported data sets are valid Starling ids, with their
original timestamps recoverable by :func:`timestamp_ms`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

TWITTER_EPOCH_MS = 1288834974657
"""2010-11-04T01:42:54.657Z, the epoch of Twitter's snowflake ids."""

WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER_ID = (1 << WORKER_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
MAX_ID = (1 << 63) - 1


def compose(timestamp_ms: int, worker_id: int = 0, sequence: int = 0) -> int:
    """Build a snowflake from a Unix time in ms, a worker id (0..1023) and a sequence (0..4095).

    Raises ``ValueError`` when a part is out of range or the time precedes the epoch.
    """
    if not 0 <= worker_id <= MAX_WORKER_ID:
        raise ValueError(f"worker_id must be in 0..{MAX_WORKER_ID}")
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence must be in 0..{MAX_SEQUENCE}")
    delta = timestamp_ms - TWITTER_EPOCH_MS
    if delta < 0:
        raise ValueError("timestamp precedes the snowflake epoch")
    return (delta << (WORKER_BITS + SEQUENCE_BITS)) | (worker_id << SEQUENCE_BITS) | sequence


def timestamp_ms(snowflake: int) -> int:
    """Unix time in ms at which ``snowflake`` was generated."""
    return (snowflake >> (WORKER_BITS + SEQUENCE_BITS)) + TWITTER_EPOCH_MS


def lowest_id_at(timestamp_ms_: int) -> int:
    """The smallest id that can be generated at Unix time ``timestamp_ms_`` (ms)."""
    return compose(max(timestamp_ms_, TWITTER_EPOCH_MS))


class SnowflakeGenerator:
    """Thread-safe generator of strictly increasing snowflake ids for one worker.

    ``clock`` returns Unix time in ms; when it goes backwards the generator keeps using
    the last time it saw, so ids never decrease. 4096 ids per ms per worker, after which
    it borrows the next millisecond.
    """

    def __init__(self, worker_id: int, clock: Callable[[], int]) -> None:
        if not 0 <= worker_id <= MAX_WORKER_ID:
            raise ValueError(f"worker_id must be in 0..{MAX_WORKER_ID}")
        self._worker_id = worker_id
        self._clock = clock
        self._last_ms = -1
        self._sequence = 0
        self._lock = threading.Lock()

    def next_id(self) -> int:
        """Return a new id, larger than every id this generator returned before."""
        with self._lock:
            now = max(self._clock(), self._last_ms)
            if now == self._last_ms:
                self._sequence += 1
                if self._sequence > MAX_SEQUENCE:
                    now += 1
                    self._sequence = 0
            else:
                self._sequence = 0
            self._last_ms = now
            return compose(now, self._worker_id, self._sequence)
