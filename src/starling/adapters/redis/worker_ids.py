"""Snowflake worker ids for the processes of one deployment, handed out by Redis.

Every API and worker process mints ids (tweets, events, notifications), so two processes
sharing a worker id could mint the same id in the same millisecond: an ``IntegrityError``
under load with ``starling serve --workers 2``. Twitter leased worker ids through
ZooKeeper; here one ``INCR`` on a per-deployment counter gives each starting process the
next id modulo 1024. Two live processes collide only when 1,024 others started between
them, far beyond one deployment's process count.
"""

from __future__ import annotations

from starling.adapters.redis import connect, unavailable_as
from starling.domain.ids import MAX_WORKER_ID


def counter_key(namespace: str) -> str:
    """The counter's key; the hash tag keeps it on one Redis Cluster slot."""
    return f"{namespace}:{{snowflake}}:worker_seq"


async def allocate_worker_id(url: str, *, namespace: str) -> int:
    """A worker id in 0..1023 not handed to the previous 1,023 callers of this deployment
    (``namespace``). Raises :class:`~starling.ports.BackendUnavailable` when Redis cannot
    be reached."""
    client = connect(url)
    try:
        with unavailable_as("worker id counter"):
            issued = int(await client.incr(counter_key(namespace)))
    finally:
        await client.aclose()
    return (issued - 1) % (MAX_WORKER_ID + 1)
