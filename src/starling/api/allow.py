"""``Allow`` of the automatic ``OPTIONS`` answer: every method of the resource.

Litestar 2 builds one ``OPTIONS`` handler per path when the path's first handler is
registered, and that handler lists the methods known then; handlers registered later on
the same path (``GET`` and ``DELETE /tweets/{id}`` are two handlers) are routed, yet left
out of its ``Allow`` (a known Litestar 2 bug, fixed in Litestar 3). RFC 9110 section
10.2.1: ``Allow`` lists the methods the resource supports. The 405 answer's ``Allow``
comes from the router and is right already.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

_AUTOMATIC = "options_handler"
"""The name of the handler function Litestar generates for ``OPTIONS``."""


async def allow_every_method(message: Message, scope: Scope) -> None:
    """``before_send`` hook: rewrite ``Allow`` of an automatic ``OPTIONS`` answer from
    the app's handler map (every method routed on the path)."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    handler = scope.get("route_handler")
    if handler is None or handler.handler_name != _AUTOMATIC:
        return
    methods: set[str] = set()
    by_path = scope["litestar_app"].route_handler_method_map
    for path in handler.paths:
        methods.update(by_path.get(path, {}))
    if methods:
        MutableScopeHeaders.from_message(message)["Allow"] = ", ".join(sorted(methods))
