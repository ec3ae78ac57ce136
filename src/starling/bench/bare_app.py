"""The HTTP ceiling: a bare ASGI app answering every request with one canned JSON page.

It does what no Starling handler can do faster (no routing, no auth, no I/O, no
encoding), served by granian exactly as ``starling serve`` serves Starling, so its
throughput is the most this machine's HTTP stack gives a Python app. Run as
``python -m starling.bench.bare_app --port P --workers N --bytes B``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

PAGE_BYTES_ENV = "STARLING_BENCH_PAGE_BYTES"


def canned_page(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes (at least 16) shaped like a page."""
    head, tail = b'{"tweets":[],"next_cursor":null,"pad":"', b'"}'
    return head + b"x" * max(size - len(head) - len(tail), 0) + tail


_PAGE = canned_page(int(os.environ.get(PAGE_BYTES_ENV, "15000")))
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_PAGE)).encode()),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI 3 callable: the canned page for every HTTP request; lifespan acknowledged."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _PAGE})


def main() -> None:
    """Serve :func:`app` with granian, configured as ``starling serve`` configures it."""
    from granian import Granian
    from granian.constants import Interfaces

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bytes", type=int, default=15_000)
    args = parser.parse_args()
    os.environ[PAGE_BYTES_ENV] = str(args.bytes)  # read again by each worker process
    Granian(
        "starling.bench.bare_app:app",
        address="127.0.0.1",
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        log_level="warning",  # type: ignore[arg-type]
    ).serve()


if __name__ == "__main__":
    main()
