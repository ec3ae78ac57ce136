"""The caching layer around the ``Store`` port: :class:`CachingStore` (the store the
services use), built from one :class:`TTLMap` type, and the invalidations it exchanges
with other processes over the live bus."""

from starling.adapters.caching.invalidations import INVALIDATION_CHANNEL
from starling.adapters.caching.store import AUTHORED_DEPTH, AUTHORED_MAX_AUTHORS, CachingStore
from starling.adapters.caching.ttl_map import TTLMap

__all__ = [
    "AUTHORED_DEPTH",
    "AUTHORED_MAX_AUTHORS",
    "INVALIDATION_CHANNEL",
    "CachingStore",
    "TTLMap",
]
