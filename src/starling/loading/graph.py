"""The follower graph: NetworkRepository's "soc-twitter-follows" (Rossi & Ahmed, AAAI 2015).

The file stores each undirected edge once as ``u v`` (the lower triangle of a symmetric
MatrixMarket matrix, header lines removed; see ``docs/data.md``). Direction is
unknown, so each edge is loaded as a mutual follow: ``u`` follows ``v`` and ``v`` follows
``u``. Nodes are numbered 1..n, as in MatrixMarket; every number up to the largest one
in the file becomes a user, even one without edges.
"""

from __future__ import annotations

import gzip
import itertools
import operator
import zlib
from collections.abc import Sequence
from pathlib import Path

import msgspec

from starling.domain.model import NewUser
from starling.loading.dataset import LoadError
from starling.loading.import_ids import IMPORT_EPOCH_MS, graph_user_id


class Graph(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed undirected graph, ready to be loaded as mutual follows.

    ``follow_keys`` holds one int per directed follow, ``follower << key_bits | followee``
    (node numbers), sorted and distinct: sorted keys give rows in follower order, which
    keeps B-tree inserts local. ``degree[n]`` is node ``n``'s number of neighbours
    (``degree[0]`` is 0); with mutual follows it is both its followers and its followees.
    """

    node_count: int
    edge_count: int
    self_loops: int
    key_bits: int
    follow_keys: list[int]
    degree: list[int]

    @property
    def follow_count(self) -> int:
        """Directed follow relations: twice the undirected edges."""
        return len(self.follow_keys)


def _numbers(path: Path) -> list[int]:
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise LoadError(f"{path}: cannot read the gzip file: {exc}") from exc
    if b"%" in data:
        # MatrixMarket comments and header: tolerated, although the shipped file has none.
        lines = [line for line in data.splitlines() if not line.startswith(b"%")]
        if lines and len(lines[0].split()) == 3:
            lines = lines[1:]
        data = b"\n".join(lines)
    tokens = data.split()
    if len(tokens) % 2:
        raise LoadError(f"{path}: expected two node numbers per line (u v)")
    try:
        numbers = list(map(int, tokens))
    except ValueError as exc:
        raise LoadError(f"{path}: a node number is not an integer: {exc}") from exc
    if numbers and min(numbers) < 1:
        raise LoadError(f"{path}: node numbers must be positive (MatrixMarket numbering)")
    return numbers


def read_graph(path: Path) -> Graph:
    """Parse an undirected edge list (gzip, ``u v`` per line) into a :class:`Graph`.

    Self-loops are dropped (no one follows themselves) and counted; repeated edges,
    in either orientation, count once. Raises :class:`LoadError` naming ``path`` when
    the file is unreadable or not pairs of positive integers.
    """
    numbers = _numbers(path)
    node_count = max(numbers, default=0)
    bits = node_count.bit_length()
    us = numbers[0::2]
    vs = numbers[1::2]
    self_loops = sum(1 for u, v in zip(us, vs, strict=True) if u == v)
    follow_keys = [u << bits | v for u, v in zip(us, vs, strict=True) if u != v]
    follow_keys += [v << bits | u for u, v in zip(us, vs, strict=True) if u != v]
    # Sorting the list is 4x faster than sorting a set of the same ints (a set's order is
    # scattered); the shipped file has no repeated edge, so the set is rarely needed.
    follow_keys.sort()
    if any(map(operator.eq, follow_keys, itertools.islice(follow_keys, 1, None))):
        follow_keys = sorted(set(follow_keys))
    degree = [0] * (node_count + 1)
    for key in follow_keys:
        degree[key >> bits] += 1
    return Graph(
        node_count=node_count,
        edge_count=len(follow_keys) // 2,
        self_loops=self_loops,
        key_bits=bits,
        follow_keys=follow_keys,
        degree=degree,
    )


def user_id_table(node_count: int) -> list[int]:
    """``table[n]`` is the user id of node ``n`` for 1..``node_count`` (``table[0]`` is 0)."""
    return [0, *(graph_user_id(n) for n in range(1, node_count + 1))]


def graph_users(nodes: range, user_ids: Sequence[int]) -> list[NewUser]:
    """Users for graph nodes ``nodes``: username ``user{n}`` (at most 15 characters up to
    node 9,999,999,999), display name ``User {n}``, no e-mail and no password (imported
    users cannot log in), created at ``IMPORT_EPOCH_MS``."""
    return [
        NewUser(
            id=user_ids[n],
            username=f"user{n}",
            display_name=f"User {n}",
            email=None,
            password_hash=None,
            created_at_ms=IMPORT_EPOCH_MS,
        )
        for n in nodes
    ]


def follow_rows(
    graph: Graph, start: int, stop: int, user_ids: Sequence[int]
) -> list[tuple[int, int, int]]:
    """``(follower_id, followee_id, created_at_ms)`` rows of ``graph.follow_keys[start:stop]``,
    in follower order, all created at ``IMPORT_EPOCH_MS``."""
    bits = graph.key_bits
    mask = (1 << bits) - 1
    return [
        (user_ids[key >> bits], user_ids[key & mask], IMPORT_EPOCH_MS)
        for key in graph.follow_keys[start:stop]
    ]
