"""Redis adapters of the scale-out deployment: the timeline cache and the tweet cache.

Shared here: how a client is opened (:func:`connect`) and how Redis failures reach the
services (:func:`unavailable_as` maps "cannot reach Redis" to
:class:`~starling.ports.BackendUnavailable`, so that home timelines fall back to pull
from the store and ``/readyz`` names Redis as the backend that is down).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Final, cast

import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.connection import HiredisRespSerializer
from redis.typing import EncodableT
from redis.utils import HIREDIS_AVAILABLE

if HIREDIS_AVAILABLE:
    import hiredis

from starling.ports import BackendUnavailable

CONNECT_TIMEOUT_S: Final = 0.5
"""Seconds to open a connection. Short: on a refused or black-holed Redis the caller
should fall back to the store quickly rather than hold a request for redis-py's 5 s."""

COMMAND_TIMEOUT_S: Final = 2.0
"""Seconds to wait for a reply. The largest call (a 1,000-key push script) takes a few ms."""

RETRIES: Final = 1
"""Retries of a command after a connection error or timeout (redis-py's default is 10 with
backoff up to 1 s: seconds of waiting before a read could fall back). Every call these
adapters make is idempotent, so a retry is safe."""

UNREACHABLE: Final = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
"""What "Redis cannot be reached" looks like from redis-py (``BusyLoadingError``, a Redis
still loading its data set, is a ``ConnectionError`` too)."""


class HiredisPackingConnection(redis.asyncio.Connection):
    """A redis-py asyncio connection that packs commands with ``hiredis.pack_command``.

    redis-py's asyncio ``pack_command`` is pure Python and re-copies a growing buffer for
    each argument: ~3.7 ms for the 1,003 arguments of a 1,000-follower push script, the
    largest cost of a fan-out batch. hiredis packs the same bytes in ~1 ms (both measured
    on the 2-core machine of docs/scale-out.md); redis-py's sync client already uses it
    (``HiredisRespSerializer``). Arguments are encoded as by redis-py (str as UTF-8,
    numbers as decimal); a type it refuses raises ``redis.exceptions.DataError`` too.
    """

    # redis-py annotates pack's arguments as lists; they are a command's arguments.
    _serializer_pack: Final[Callable[..., list[bytes]]] = HiredisRespSerializer().pack

    def pack_command(self, *args: EncodableT) -> list[bytes]:
        if isinstance(args[0], str) and " " not in args[0]:
            try:
                # hiredis's stub types the tuple as one item long; it takes any length.
                return [hiredis.pack_command(cast(Any, args))]
            except TypeError:
                pass  # bytearray, memoryview or an invalid type: redis-py's way below
        # Splits "CLIENT SETINFO"-style names, converts buffers, raises DataError.
        return self._serializer_pack(*args)


def connect(
    url: str,
    *,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    timeout_s: float = COMMAND_TIMEOUT_S,
    retries: int = RETRIES,
) -> redis.asyncio.Redis:
    """A client for ``url`` (``redis://host:port/db``, ``rediss://`` or ``unix://``) with
    bytes replies (the adapters decode ids and msgpack themselves), short timeouts and
    one quick retry. Connects lazily, on the first command. With ``hiredis`` installed
    (``redis[hiredis]``) replies are parsed, and ``redis://`` commands packed, by hiredis
    (:class:`HiredisPackingConnection`; ``rediss://`` and ``unix://`` keep the classes
    redis-py picks for them)."""
    return redis.asyncio.Redis.from_url(
        url,
        connection_class=HiredisPackingConnection
        if HIREDIS_AVAILABLE
        else redis.asyncio.Connection,
        decode_responses=False,
        socket_connect_timeout=connect_timeout_s,
        socket_timeout=timeout_s,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), retries),
    )


def check_bytes_replies(client: redis.asyncio.Redis) -> None:
    """Raise ``ValueError`` if ``client`` decodes replies to ``str``: the adapters parse
    raw bytes (ids with ``int(bytes)``, tweets with msgpack)."""
    if client.connection_pool.connection_kwargs.get("decode_responses", False):
        raise ValueError("the Redis client must be created with decode_responses=False")


@contextlib.contextmanager
def unavailable_as(backend: str) -> Iterator[None]:
    """Re-raise connection failures and timeouts inside the block as
    :class:`~starling.ports.BackendUnavailable` naming ``backend``. Other Redis errors
    (a script error, a wrong-type key) are bugs and propagate unchanged."""
    try:
        yield
    except UNREACHABLE as exc:
        raise BackendUnavailable(f"{backend} (Redis) is not reachable: {exc}") from exc
