"""Snowflake ids the importer makes up: graph users, renumbered duplicates, the overlay.

Each kind of made-up id has its own worker id at the top of the 10-bit worker range
(1021..1023), so it can never equal an id that a running Starling generates (its workers
are numbered from 0) and is easy to recognise in the database. Real tweet ids of the
data sets are kept as they are: they are Twitter snowflakes, and Starling uses Twitter's
epoch (:mod:`starling.domain.ids`).
"""

from __future__ import annotations

from collections.abc import Iterable

from starling.domain import ids

IMPORT_EPOCH_MS = 1_325_376_000_000
"""2012-01-01T00:00:00Z, a fixed Unix time in ms: the time part of graph-user ids and the
``created_at_ms`` of imported users and follows. It precedes every tweet in the data sets
(the earliest, from CrisisLexT26, is of May 2012), so no one follows or tweets before the
account exists."""

OVERLAY_WORKER_ID = 1021
"""Worker id of the celebrity overlay's users and tweets."""

GRAPH_USER_WORKER_ID = 1022
"""Worker id of the users made from the nodes of the follower graph."""

DUPLICATE_TWEET_WORKER_ID = 1023
"""Worker id of tweets renumbered because their original id was taken by an earlier row."""


def graph_user_id(node: int) -> int:
    """The user id of graph node ``node`` (a positive int): a snowflake at
    ``IMPORT_EPOCH_MS + (node >> 12)`` ms, worker 1022, sequence ``node & 0xFFF``.

    Increasing in ``node``, so rows sorted by node are sorted by id. Deterministic: the
    same node gets the same id in every load, which makes the import idempotent.
    """
    return ids.compose(
        IMPORT_EPOCH_MS + (node >> ids.SEQUENCE_BITS),
        GRAPH_USER_WORKER_ID,
        node & ids.MAX_SEQUENCE,
    )


class FreshIds:
    """Allocates unused snowflakes at a given millisecond, never one in ``taken``.

    Used to renumber duplicate tweet ids and to number overlay tweets: the new id keeps
    the millisecond of the tweet it stands for, so ``ids.timestamp_ms`` still gives the
    original posting time. Deterministic: the same calls in the same order give the same ids.
    """

    def __init__(self, taken: Iterable[int]) -> None:
        self._taken = set(taken)
        self._next_sequence: dict[tuple[int, int], int] = {}

    def allocate(self, timestamp_ms: int, worker_id: int) -> int:
        """The first unused id of ``worker_id`` at ``timestamp_ms`` (Unix ms), or, when all
        4096 sequences of that millisecond are used, at the next millisecond."""
        while True:
            key = (timestamp_ms, worker_id)
            sequence = self._next_sequence.get(key, 0)
            while sequence <= ids.MAX_SEQUENCE:
                candidate = ids.compose(timestamp_ms, worker_id, sequence)
                sequence += 1
                if candidate not in self._taken:
                    self._next_sequence[key] = sequence
                    self._taken.add(candidate)
                    return candidate
            self._next_sequence[key] = sequence
            timestamp_ms += 1
