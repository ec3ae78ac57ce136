"""Rate limiting of HTTP surfaces: which budget a request draws from, and the answer.

Every routed request of a limited route draws one hit, keyed per account when it
carries a valid bearer token and per client IP otherwise (IPv6: per /64, as Mastodon's
``throttleable_remote_ip``). A refused draw is a 429 ``rate_limited`` in the API's
error shape with ``Retry-After`` (seconds); every answer of a limited route carries
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix
seconds, as Twitter's ``x-rate-limit-reset``).

A route's class comes from, in this order:

1. its handler's ``opt["rate_limit"]`` (a class name, or None for "not limited"):
   Litestar merges ``opt`` from the app, router and controller down to the handler, so
   a surface added later (a web app, a Mastodon-compatible API) declares its classes on
   its Router or Controller and on the few handlers that differ;
2. :data:`ROUTE_CLASSES`, the JSON API's classes by (method, path template), kept here
   so the route modules stay about requests and answers;
3. :data:`LIMITED_PREFIXES`: any other route under them is ``reads``; the rest
   (liveness, readiness, metrics, the OpenAPI pages) is not limited, so probes and
   scrapers are never refused.

Budgets (settings ``STARLING_RATE_*``, defaults after Mastodon: docs/rate-limits.md) by
class, for an authenticated account / anyone else:

=============  =====================  ===========================================
class          authenticated          anonymous (or a token that does not verify)
=============  =====================  ===========================================
reads          ``reads`` per account  ``reads_anonymous`` per IP
posts          ``posts`` per account  ``reads_anonymous`` per IP
follows        ``follows``            ``reads_anonymous`` per IP
engagement     ``engagement``         ``reads_anonymous`` per IP
media          ``media``              ``reads_anonymous`` per IP
registrations  ``registrations`` per IP, whoever asks
logins         ``logins_ip`` per IP AND ``logins_account`` per account name
=============  =====================  ===========================================
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from starling.api.schemas import ErrorBody, ErrorOut
from starling.bootstrap import App
from starling.domain.errors import DomainError
from starling.services.rate_limits import Verdict
from starling.web.session import SESSION_COOKIE

RateClass = Literal["reads", "posts", "follows", "engagement", "media", "registrations", "logins"]

API = "/api/starling/v1"
ROUTE_CLASSES: dict[tuple[str, str], RateClass] = {
    ("POST", f"{API}/users"): "registrations",
    ("POST", f"{API}/auth/token"): "logins",
    ("POST", f"{API}/tweets"): "posts",
    ("DELETE", f"{API}/tweets/{{tweet_id}}"): "posts",
    ("POST", f"{API}/users/{{user_id}}/follow"): "follows",
    ("DELETE", f"{API}/users/{{user_id}}/follow"): "follows",
    ("POST", f"{API}/tweets/{{tweet_id}}/like"): "engagement",
    ("DELETE", f"{API}/tweets/{{tweet_id}}/like"): "engagement",
    ("POST", f"{API}/tweets/{{tweet_id}}/retweet"): "engagement",
    ("DELETE", f"{API}/tweets/{{tweet_id}}/retweet"): "engagement",
    ("POST", f"{API}/media"): "media",
}
"""The JSON API's routes outside ``reads``, by (method, path template as Litestar puts
it in ``scope["path_template"]``: parameters without their types)."""

LIMITED_PREFIXES = (f"{API}/",)
"""Routes under these paths are limited (``reads`` unless classed otherwise)."""

OPT_KEY = "rate_limit"
"""The handler ``opt`` entry that declares a route's class (None: not limited)."""

SHAPE_KEY = "error_shape"
"""The handler ``opt`` entry naming the error body of a refusal: ``"mastodon"`` answers
``{"error": "..."}`` (the Mastodon-compatible API); otherwise Starling's error object."""

ACCOUNT_BUDGETS: dict[RateClass, str] = {
    "reads": "reads",
    "posts": "posts",
    "follows": "follows",
    "engagement": "engagement",
    "media": "media",
}
ANONYMOUS_BUDGET = "reads_anonymous"

LOGIN_BODY_MAX = 16 * 1024
"""Bytes of a login body read to find the account name; a longer body draws from the
per-IP budget only (the handler refuses it anyway)."""


class _LoginName(msgspec.Struct):
    username: str = ""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_ip(scope: Scope, trusted: Sequence[Network]) -> str:
    """The client's address: the socket peer, unless the peer is a trusted proxy; then
    the rightmost ``X-Forwarded-For`` entry that is not itself a trusted proxy (entries
    to its left could be written by the client). IPv6 addresses are cut to their /64,
    which one subscriber usually holds whole."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if trusted and _is_trusted(peer, trusted):
        forwarded = [
            value.decode("latin-1")
            for name, value in scope["headers"]
            if name.lower() == b"x-forwarded-for"
        ]
        hops = [h.strip() for line in forwarded for h in line.split(",") if h.strip()]
        for hop in reversed(hops):
            peer = hop
            if not _is_trusted(hop, trusted):
                break
    return _throttleable(peer)


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def _throttleable(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def route_class(handler: Any, method: str, path_template: str) -> RateClass | None:
    """The class of a routed request (see the module docstring), None if not limited."""
    opt = getattr(handler, "opt", None) or {}
    if OPT_KEY in opt:
        declared: RateClass | None = opt[OPT_KEY]
        return declared
    found = ROUTE_CLASSES.get((method, path_template))
    if found is not None:
        return found
    return "reads" if path_template.startswith(LIMITED_PREFIXES) else None


@dataclass(frozen=True, slots=True)
class _Draw:
    budget: str
    who: str


def _bearer(scope: Scope) -> str | None:
    """The access token of a request: its bearer token, else the web app's session
    cookie (which holds one: a browser draws from its account's budgets too)."""
    cookies = None
    for name, value in scope["headers"]:
        lowered = name.lower()
        if lowered == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
        if lowered == b"cookie":
            cookies = value.decode("latin-1")
    if cookies is None:
        return None
    for pair in cookies.split(";"):
        key, _, session = pair.strip().partition("=")
        if key == SESSION_COOKIE and session:
            return session
    return None


class RateLimitMiddleware:
    """ASGI middleware (Litestar, after routing) applying the core's
    :class:`~starling.services.rate_limits.RateLimiter`; a pass-through when rate limits
    are off."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._classes: dict[tuple[int, str, str], RateClass | None] = {}
        """Class by (handler identity, method, path template): resolved once a route."""
        self._trusted: tuple[Network, ...] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        core: App = scope["litestar_app"].state["core"]  # app.CORE
        limiter = core.rate_limiter
        if limiter is None:
            await self.app(scope, receive, send)
            return
        handler = scope.get("route_handler")
        method = str(scope["method"])
        template = str(scope.get("path_template") or "")
        key = (id(handler), method, template)
        try:
            rate_class = self._classes[key]
        except KeyError:
            rate_class = self._classes[key] = route_class(handler, method, template)
        if rate_class is None:
            await self.app(scope, receive, send)
            return
        if self._trusted is None:
            self._trusted = core.settings.trusted_proxy_networks()
        draws, receive = await self._draws(core, scope, receive, rate_class)
        drawn = [await limiter.draw(d.budget, d.who) for d in draws]
        verdicts = [v for v in drawn if v is not None]
        if len(verdicts) < len(drawn):  # the limiter's store is down: let it through
            await self.app(scope, receive, send)
            return
        refused = [v for v in verdicts if not v.allowed]
        shown = min(refused or verdicts, key=lambda v: (v.remaining, -v.reset_at))
        headers = _rate_headers(shown)
        if refused:
            opt = getattr(handler, "opt", None) or {}
            await _refuse(
                send,
                rate_class,
                max(v.retry_after for v in refused),
                headers,
                mastodon=opt.get(SHAPE_KEY) == "mastodon",
            )
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _draws(
        self, core: App, scope: Scope, receive: Receive, rate_class: RateClass
    ) -> tuple[list[_Draw], Receive]:
        assert self._trusted is not None
        ip = client_ip(scope, self._trusted)
        if rate_class == "registrations":
            return [_Draw("registrations", f"ip:{ip}")], receive
        if rate_class == "logins":
            body, receive = await _peek_body(receive, LOGIN_BODY_MAX)
            draws = [_Draw("logins_ip", f"ip:{ip}")]
            name = _login_name(body)
            if name:
                draws.append(_Draw("logins_account", f"name:{name.casefold()}"))
            return draws, receive
        token = _bearer(scope)
        if token is not None:
            try:
                user_id = await core.accounts.authenticate(token=token)
            except DomainError:
                pass  # the handler answers 401; until then the request is anonymous
            else:
                return [_Draw(ACCOUNT_BUDGETS[rate_class], f"u:{user_id}")], receive
        return [_Draw(ANONYMOUS_BUDGET, f"ip:{ip}")], receive


def _login_name(body: bytes | None) -> str:
    """The account name of a login: a JSON body's ``username``, else a form's (the web
    app's login form)."""
    if not body:
        return ""
    try:
        return msgspec.json.decode(body, type=_LoginName).username
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass
    try:
        names = urllib.parse.parse_qs(body.decode("utf-8"), max_num_fields=16).get("username")
    except (UnicodeDecodeError, ValueError):
        return ""
    return names[0] if names else ""


async def _peek_body(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """Read the request body (up to ``limit`` bytes; None past that) and return a
    ``receive`` that replays it to the application."""
    messages: list[ReceiveMessage] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > limit or not message.get("more_body", False):
            break
    complete = size <= limit and messages[-1]["type"] == "http.request"
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")

    async def replay() -> ReceiveMessage:
        if messages:
            return messages.pop(0)
        return await receive()

    return (body if complete else None), replay


def _rate_headers(verdict: Verdict) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", str(verdict.limit).encode()),
        (b"x-ratelimit-remaining", str(verdict.remaining).encode()),
        (b"x-ratelimit-reset", str(int(-(-verdict.reset_at // 1))).encode()),
    ]


async def _refuse(
    send: Send,
    rate_class: RateClass,
    retry_after: int,
    headers: list[tuple[bytes, bytes]],
    *,
    mastodon: bool = False,
) -> None:
    message = f"Too many requests of this kind ({rate_class}); retry in {retry_after} s."
    body = msgspec.json.encode(
        {"error": message} if mastodon else ErrorOut(ErrorBody("rate_limited", message))
    )
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
