"""``TimelineCache`` on Redis: one sorted set of tweet ids per user.

Mastodon keeps home feeds the same way (``feed:home:<account_id>``, a sorted set scored
by snowflake id, trimmed to a fixed size). Starling differs in one point: the ordering.

Exact ordering of 63-bit ids
----------------------------
A sorted-set score is an IEEE double with a 53-bit mantissa. Snowflake ids are ~2^60
today, so scoring by id maps up to 2^(63-53) = 1,024 neighbouring ids (tweets of the same
millisecond: the low 22 bits are worker and sequence) to one score; equal scores then
sort by member bytes, and ``(max_id`` on the score would include or exclude the whole
group. Scoring by ``float(id)`` is therefore inexact, and not even the member tie-break
rescues it, because canonical decimals of different lengths (``999...9`` and ``1000...0``
share a score) do not sort numerically as bytes.

So every member has score 0 and the member is the id as a **zero-padded 19-digit
decimal** (``2**63 - 1`` has 19 digits). Redis orders equal-score members by
``memcmp`` of their bytes, and for equal-length digit strings byte order *is* numeric
order, so ranks, ``ZREVRANGEBYLEX`` ranges and the exclusive ``(<max_id>`` bound are
exact for every id in ``0 .. 2**63 - 1``, and trimming by rank (``ZREMRANGEBYRANK``)
drops exactly the oldest. Memory: today's ids already have 19 digits, so the padding
costs nothing against storing the canonical decimal as the member of a scored set.

Presence, the sentinel and inactivity
-------------------------------------
A present timeline may hold no ids, and Redis deletes empty sorted sets, so each present
key also holds the sentinel member ``"~"``. It sorts after every digit string: reads
exclude it with the exclusive upper bound ``(~``; the oldest id is always rank 0. Absent
== the key does not exist: push, merge and remove check for the key (``ZCARD > 0``,
``EXISTS``) and never create one.

Inactivity is a TTL: ``create`` of an absent timeline sets ``PEXPIRE rules.inactive_ms``
and every ``read`` renews it; pushes do not (being pushed to is not activity). An expired
key is gone, so it reads as absent and push skips it, as the in-memory adapter does with
its clock check. Redis frees the memory of inactive users by itself.

Trimming, amortized
-------------------
Callers see the newest ``timeline_max`` ids, exactly as with trimming on every write, but
a push trims a timeline only once it holds more than ``timeline_max + trim_slack`` ids
(slack: 1/16 of the cap, 50 for 800), cutting it back to the cap. In the steady state of
a full timeline that makes a push two ``redis.call``s per follower (``ZCARD``, ``ZADD``)
instead of three; inside a script each costs a few microseconds, and this was ~40% of
the script's time on full timelines. Every other path trims before it looks: ``read``
(so ids beyond the cap are never returned), ``remove`` (so removing an id does not
uncover an older one that eager trimming would have dropped), ``create`` and ``merge``.
The price: a timeline pushed to but not read holds up to 1/16 more ids.

Round trips
-----------
Every method is one round trip: a Lua script (``EVALSHA``; redis-py reloads it after a
Redis restart) or a single command. Pushing one tweet to a batch of followers is one
script call over all their keys: docs/scale-out.md: ~90k timeline writes/s for one Lua
call per batch against ~55k for a redis-py pipeline of ZADDs. Build the client with
:func:`starling.adapters.redis.connect` (as :meth:`RedisTimelineCache.from_url` does):
its connections pack the ~1,000 arguments of a push with hiredis.

Redis Cluster
-------------
Keys are ``<namespace>:tl:{<user_id>}``: the hash tag is the user id, so every key of one
user maps to one slot. The push and remove scripts take the keys of many users, which a
single Redis (or a replica set) accepts; Redis Cluster rejects a script whose keys span
slots (``CROSSSLOT``), so on a cluster the batch would be split by
``redis.cluster.key_slot(key)`` into one script call per slot (per node, with a client
that routes by slot). That grouping is not implemented: Starling targets one Redis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Self, cast

import redis.asyncio

from starling.adapters.redis import check_bytes_replies, connect, unavailable_as
from starling.domain.feed import FeedRules
from starling.domain.ids import MAX_ID

SENTINEL: Final = "~"
"""Member that marks a timeline as present; sorts after every id (``~`` > ``9``). The
scripts spell it out too."""

ID_DIGITS: Final = 19
"""Width of a member: ``MAX_ID`` (2**63 - 1) has 19 decimal digits."""

LUA_CHUNK: Final = 1_000
"""Arguments unpacked per ``redis.call`` inside a script (Lua's C stack holds ~8,000)."""

TRIM_SLACK_FRACTION: Final = 16
"""A pushed-to timeline is trimmed once it exceeds the cap by 1/16 of the cap (at least 1)."""

# Shared by the scripts: cut `key` back to its newest `cap` ids, given its ZCARD `card`
# (which counts the sentinel; the oldest id has rank 0).
_TRIM = """
local function trim(key, card, cap)
  if card - 1 > cap then redis.call('ZREMRANGEBYRANK', key, 0, card - cap - 2) end
end
"""

# KEYS[1]: the timeline. ARGV[1]: ttl ms; ARGV[2]: exclusive upper bound ("(<id>" or "(~");
# ARGV[3]: limit; ARGV[4]: cap. Returns nil when absent (PEXPIRE answers 0 for a missing
# key), else the ids.
_READ = (
    _TRIM
    + """
local key = KEYS[1]
if redis.call('PEXPIRE', key, ARGV[1]) == 0 then return false end
trim(key, redis.call('ZCARD', key), tonumber(ARGV[4]))
return redis.call('ZREVRANGEBYLEX', key, ARGV[2], '-', 'LIMIT', 0, ARGV[3])
"""
)

# KEYS: timelines. ARGV[1]: the member; ARGV[2]: cap; ARGV[3]: slack. Returns how many
# timelines did not hold the member before. ZCARD is 0 exactly when a timeline is absent
# (present ones hold "~"); after the ZADD a present timeline holds `card` ids.
_PUSH = (
    _TRIM
    + """
local member = ARGV[1]
local cap = tonumber(ARGV[2])
local most = cap + tonumber(ARGV[3])
local written = 0
for i = 1, #KEYS do
  local key = KEYS[i]
  local card = redis.call('ZCARD', key)
  if card > 0 and redis.call('ZADD', key, 'NX', 0, member) == 1 then
    written = written + 1
    if card > most then trim(key, card + 1, cap) end
  end
end
return written
"""
)

# KEYS[1]: the timeline. ARGV[1]: "1" create (make present) or "0" merge (only if present);
# ARGV[2]: cap; ARGV[3]: ttl ms; ARGV[4]: chunk; ARGV[5..]: members. Returns 1 if written,
# 0 if absent.
_UNION = (
    _TRIM
    + """
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  if ARGV[1] == '0' then return 0 end
  redis.call('ZADD', key, 0, '~')
  redis.call('PEXPIRE', key, ARGV[3])
end
local chunk = tonumber(ARGV[4])
local i = 5
while i <= #ARGV do
  local last = math.min(i + chunk - 1, #ARGV)
  local args = {}
  for j = i, last do
    args[#args + 1] = 0
    args[#args + 1] = ARGV[j]
  end
  redis.call('ZADD', key, unpack(args))
  i = last + 1
end
trim(key, redis.call('ZCARD', key), tonumber(ARGV[2]))
return 1
"""
)

# KEYS: timelines. ARGV[1]: cap; ARGV[2]: chunk; ARGV[3..]: members. ZREM never creates a
# key, and the sentinel keeps a timeline whose last id goes present.
_REMOVE = (
    _TRIM
    + """
local cap = tonumber(ARGV[1])
local chunk = tonumber(ARGV[2])
for k = 1, #KEYS do
  local key = KEYS[k]
  local card = redis.call('ZCARD', key)
  if card > 0 then
    trim(key, card, cap)
    local i = 3
    while i <= #ARGV do
      local last = math.min(i + chunk - 1, #ARGV)
      redis.call('ZREM', key, unpack(ARGV, i, last))
      i = last + 1
    end
  end
end
return 0
"""
)


def _member(tweet_id: int) -> str:
    if not 0 <= tweet_id <= MAX_ID:
        raise ValueError(f"tweet id {tweet_id} is outside 0..2**63-1")
    return f"{tweet_id:0{ID_DIGITS}d}"


def _members(tweet_ids: Sequence[int], keep: int | None = None) -> list[str]:
    """Distinct members, ascending; only the newest ``keep`` when given."""
    ordered = sorted(set(tweet_ids))
    if keep is not None:
        ordered = ordered[-keep:]
    if ordered:
        _member(ordered[0])  # range check of the extremes covers every id
        _member(ordered[-1])
    return [f"{i:0{ID_DIGITS}d}" for i in ordered]


def _upper_bound(max_id: int | None) -> str:
    """Exclusive ``ZREVRANGEBYLEX`` bound selecting ids < ``max_id`` and never the sentinel."""
    if max_id is None or max_id > MAX_ID:
        return f"({SENTINEL}"
    if max_id <= 0:
        return "("  # below the empty string: nothing
    return f"({max_id:0{ID_DIGITS}d}"


class RedisTimelineCache:
    """Home timelines as Redis sorted sets: ``<namespace>:tl:{<user_id>}``, capped at
    ``rules.timeline_max`` newest ids (800 by default: Twitter's timeline cache size),
    expiring ``rules.inactive_ms`` after the last read.

    ``client`` must return bytes (``decode_responses=False``; ``ValueError`` otherwise).
    It is closed by :meth:`close` only when ``owns_client`` (as with :meth:`from_url`).
    Every method raises :class:`~starling.ports.BackendUnavailable` when Redis cannot be
    reached, and ``ValueError`` for an id outside ``0 .. 2**63 - 1``.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        rules: FeedRules,
        *,
        namespace: str = "starling",
        owns_client: bool = False,
    ) -> None:
        check_bytes_replies(client)
        self._client = client
        self._owns_client = owns_client
        self._prefix = f"{namespace}:tl:{{"
        self._cap = rules.timeline_max
        self._slack = max(1, rules.timeline_max // TRIM_SLACK_FRACTION)
        # PEXPIRE 0 would delete the key at once; a present timeline lives at least 1 ms.
        self._ttl_ms = max(rules.inactive_ms, 1)
        self._read = client.register_script(_READ)
        self._push = client.register_script(_PUSH)
        self._union = client.register_script(_UNION)
        self._remove = client.register_script(_REMOVE)

    @classmethod
    def from_url(cls, url: str, rules: FeedRules, *, namespace: str = "starling") -> Self:
        """A cache on its own client for ``url`` (see :func:`starling.adapters.redis.connect`
        for its timeouts), closed by :meth:`close`. Connects on first use."""
        return cls(connect(url), rules, namespace=namespace, owns_client=True)

    def key(self, user_id: int) -> str:
        """The Redis key of ``user_id``'s timeline."""
        return f"{self._prefix}{user_id}}}"

    async def read(self, user_id: int, *, max_id: int | None, limit: int) -> list[int] | None:
        """Up to ``limit`` ids below ``max_id`` (exclusive), newest first; None if the
        timeline is absent. Renews the timeline's TTL. One round trip."""
        args = (self._ttl_ms, _upper_bound(max_id), max(limit, 0), self._cap)
        with unavailable_as("timeline cache"):
            found = cast(list[bytes] | None, await self._read(keys=[self.key(user_id)], args=args))
        return None if found is None else [int(m) for m in found]

    async def create(self, user_id: int, ids: Sequence[int]) -> None:
        """Make the timeline present (TTL ``inactive_ms`` if it was absent) and union
        ``ids`` into it, keeping the newest ``timeline_max``. One round trip."""
        await self._union_into(user_id, ids, create=True)

    async def push(self, user_ids: Sequence[int], tweet_id: int) -> int:
        """Add ``tweet_id`` to each present timeline of ``user_ids`` (absent ones are not
        created); the cap holds (see "Trimming, amortized"). Returns how many timelines
        did not hold it before (a repeat counts 0). Unlike the in-memory cache, an id older
        than everything in a full timeline counts too, though it is never read: it is
        the oldest entry, which the next trim drops. One script call for the whole batch."""
        if not user_ids:
            return 0
        keys = [f"{self._prefix}{u}}}" for u in user_ids]
        with unavailable_as("timeline cache"):
            written = await self._push(keys=keys, args=(_member(tweet_id), self._cap, self._slack))
        return int(cast(int, written))

    async def merge(self, user_id: int, ids: Sequence[int]) -> None:
        """Union ``ids`` into the timeline if it is present (backfill after a follow);
        does not renew its TTL. One round trip."""
        if ids:
            await self._union_into(user_id, ids, create=False)

    async def _union_into(self, user_id: int, ids: Sequence[int], *, create: bool) -> None:
        # Only the newest `cap` of `ids` can survive the union's trim: send no more.
        members = _members(ids, keep=self._cap)
        args: list[Any] = ["1" if create else "0", self._cap, self._ttl_ms, LUA_CHUNK, *members]
        with unavailable_as("timeline cache"):
            await self._union(keys=[self.key(user_id)], args=args)

    async def remove(self, user_ids: Sequence[int], tweet_ids: Sequence[int]) -> None:
        """Remove ``tweet_ids`` from each timeline of ``user_ids`` that holds them; absent
        timelines stay absent. One script call for the whole batch."""
        if not user_ids or not tweet_ids:
            return
        keys = [f"{self._prefix}{u}}}" for u in user_ids]
        with unavailable_as("timeline cache"):
            await self._remove(keys=keys, args=[self._cap, LUA_CHUNK, *_members(tweet_ids)])

    async def drop(self, user_id: int) -> None:
        """Delete the timeline (the next read rebuilds it); no error if absent."""
        with unavailable_as("timeline cache"):
            await self._client.delete(self.key(user_id))

    async def ping(self) -> None:
        """Raise :class:`~starling.ports.BackendUnavailable` if Redis does not answer."""
        with unavailable_as("timeline cache"):
            await self._client.ping()

    async def close(self) -> None:
        """Close the client's connections if this cache owns it."""
        if self._owns_client:
            await self._client.aclose()
