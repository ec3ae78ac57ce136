"""The Mastodon client API's methods (docs.joinmastodon.org/methods/): thin routes that
parse, call Starling's services (the same ones its own API calls, reading through the one
read pipeline) and render Mastodon entities.

Each route checks the scope it needs (:meth:`~starling.mastodon.http.Auth.need`:
401 without a user token, 403 when the token lacks the scope) and declares its rate-limit
class in ``opt`` (reads unless it writes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from litestar import Request, Response, delete, get, patch, post
from litestar.params import FromPath

from starling.api.deps import Core
from starling.domain.errors import DomainError, TweetNotFound, UserNotFound
from starling.domain.model import User
from starling.domain.notifications import NotificationType
from starling.domain.oauth import digest
from starling.domain.text import hashtags
from starling.mastodon import docs as d
from starling.mastodon.entities import (
    STARLING_TYPES,
    Context,
    Preferences,
    Relationship,
    Renderer,
    Search,
    Status,
    instance_v1,
    instance_v2,
)
from starling.mastodon.http import (
    MastoError,
    Paging,
    Params,
    auth,
    base_url,
    json,
    link_header,
    need_id,
    paging,
    params,
    parse_id,
    tweet_page,
)
from starling.services.engagement import UserPage
from starling.services.hydration import TweetView
from starling.services.read_pipeline import NotificationPage, TweetPage, ids_above

Req = Request[Any, Any, Any]

ERR_READ: Final = d.errors_doc(401, 403, 404, 422)
ERR_WRITE: Final = d.errors_doc(401, 403, 404, 422, 429)


def _renderer(request: Req, core: Core) -> Renderer:
    return Renderer(base=base_url(request), store=core.store)


async def _statuses_response(
    request: Req,
    core: Core,
    page: TweetPage,
    viewer_id: int | None,
    *,
    next_max_id: int | None = None,
    prev: bool = True,
) -> Response[bytes]:
    """A list of statuses with its ``Link`` header: ``next`` below the oldest status (or
    ``next_max_id`` for surfaces paged by something else), ``prev`` above the newest."""
    statuses = await _renderer(request, core).statuses(
        page.items, page.engagement, viewer_id=viewer_id
    )
    headers: dict[str, str] = {}
    if page.items:
        newest = page.items[0].tweet.id
        oldest = next_max_id if next_max_id is not None else page.items[-1].tweet.id
        headers = link_header(request, newest=newest, oldest=oldest)
        if not prev:
            headers["Link"] = headers["Link"].split(", <")[0]
    return json(statuses, headers=headers)


async def _status_response(
    request: Req, core: Core, tweet_id: int, viewer_id: int | None, *, status: int = 200
) -> Response[bytes]:
    read = await core.reads.read(tweet_id, viewer_id=viewer_id)
    rendered = await _renderer(request, core).status(
        read.view, read.engagement, viewer_id=viewer_id
    )
    return json(rendered, status=status)


async def _user(core: Core, raw: str) -> User:
    user = await core.store.get_user(need_id(raw))
    if user is None:
        raise MastoError(404, "Record not found")
    return user


def _surface_above(
    fetch: Callable[[int | None, int], Awaitable[Sequence[int]]],
) -> Callable[[int, int], Awaitable[list[int]]]:
    async def above(min_id: int, limit: int) -> list[int]:
        return await ids_above(fetch, min_id=min_id, limit=limit)

    return above


# --- instance -------------------------------------------------------------------------------
def _streaming_url(request: Req) -> str:
    base = base_url(request)
    return "wss" + base[5:] if base.startswith("https") else "ws" + base[4:]


@get(
    ["/api/v1/instance", "/api/v1/instance/"],
    summary="Server information (v1)",
    responses=d.INSTANCE_DOC,
)
async def instance_1(request: Req) -> Response[bytes]:
    host = request.headers.get("host") or request.url.netloc
    return json(instance_v1(base_url(request), host=host, streaming=_streaming_url(request)))


@get(
    ["/api/v2/instance", "/api/v2/instance/"],
    summary="Server information (v2)",
    responses=d.INSTANCE_DOC,
)
async def instance_2(request: Req) -> Response[bytes]:
    host = request.headers.get("host") or request.url.netloc
    return json(instance_v2(base_url(request), host=host, streaming=_streaming_url(request)))


@get(["/api/v1/custom_emojis", "/api/v1/instance/peers"], summary="Always empty lists")
async def empty_list() -> Response[bytes]:
    return json([])


# --- accounts -------------------------------------------------------------------------------
@get(
    "/api/v1/accounts/verify_credentials",
    summary="The token's account, with its source",
    responses={**d.ACCOUNT_DOC, **ERR_READ},
)
async def verify_credentials(request: Req, core: Core) -> Response[bytes]:
    who = await auth(request, core)
    if who.user_id is None:
        raise MastoError(401, "The access token is invalid")
    if "profile" not in who.scopes:
        who.check("read:accounts")
    user = await core.accounts.get(user_id=who.user_id)
    return json(await _renderer(request, core).account_read(user, with_source=True))


@patch(
    "/api/v1/accounts/update_credentials",
    summary="Change display name and bio",
    responses={**d.ACCOUNT_DOC, **ERR_WRITE},
    opt={"rate_limit": "posts"},
)
async def update_credentials(request: Req, core: Core) -> Response[bytes]:
    uid = (await auth(request, core)).need("write:accounts")
    p = await params(request)
    user = await core.accounts.update_profile(
        user_id=uid, display_name=p.text("display_name"), bio=p.text("note")
    )
    return json(await _renderer(request, core).account_read(user, with_source=True))


@get(
    "/api/v1/accounts/lookup",
    summary="An account by username",
    responses={**d.ACCOUNT_DOC, **ERR_READ},
)
async def lookup(request: Req, core: Core) -> Response[bytes]:
    (await auth(request, core)).may("read:accounts")
    p = await params(request)
    acct = (p.text("acct") or "").strip().lstrip("@").split("@", 1)[0]
    user = await core.store.get_user_by_username(acct) if acct else None
    if user is None:
        raise MastoError(404, "Record not found")
    return json(await _renderer(request, core).account_read(user))


@get(
    "/api/v1/accounts/search",
    summary="Accounts by username or display-name prefix",
    responses={**d.ACCOUNTS_DOC, **ERR_READ},
)
async def account_search(request: Req, core: Core) -> Response[bytes]:
    (await auth(request, core)).need("read:accounts")
    p = await params(request)
    limit = paging(p, default=40, maximum=80).limit
    users = await _search_users(core, p.text("q") or "", offset=0, limit=limit)
    r = _renderer(request, core)
    return json([r.account(u) for u in users])


async def _search_users(core: Core, query: str, *, offset: int, limit: int) -> list[User]:
    try:
        users, _ = await core.search.users(query=query, offset=offset, limit=limit)
    except DomainError:
        return []
    return users


@get(
    "/api/v1/accounts/relationships",
    summary="The token's relationships with accounts",
    responses={**d.RELATIONSHIPS_DOC, **ERR_READ},
)
async def relationships(request: Req, core: Core) -> Response[bytes]:
    uid = (await auth(request, core)).need("read:follows")
    p = await params(request)
    out = []
    for raw in p.texts("id")[:100]:
        other = parse_id(raw)
        if other is not None:
            out.append(await _relationship(core, uid, other))
    return json(out)


async def _relationship(core: Core, uid: int, other: int) -> Relationship:
    store = core.store
    return Relationship(
        id=str(other),
        following=await store.is_following(uid, other),
        showing_reblogs=True,
        notifying=False,
        languages=None,
        followed_by=await store.is_following(other, uid),
        blocking=await store.is_blocking(uid, other),
        blocked_by=await store.is_blocking(other, uid),
        muting=await store.is_muting(uid, other),
        muting_notifications=await store.is_muting(uid, other),
        requested=False,
        requested_by=False,
        domain_blocking=False,
        endorsed=False,
        note="",
    )


@get(
    "/api/v1/accounts/{account_id:str}",
    summary="An account",
    responses={**d.ACCOUNT_DOC, **ERR_READ},
)
async def account(request: Req, core: Core, account_id: FromPath[str]) -> Response[bytes]:
    (await auth(request, core)).may("read:accounts")
    user = await _user(core, account_id)
    return json(await _renderer(request, core).account_read(user))


@get(
    "/api/v1/accounts/{account_id:str}/statuses",
    summary="An account's statuses (exclude_replies, exclude_reblogs, only_media, pinned)",
    responses={**d.STATUSES_DOC, **ERR_READ},
)
async def account_statuses(request: Req, core: Core, account_id: FromPath[str]) -> Response[bytes]:
    viewer = (await auth(request, core)).may("read:statuses")
    p = await params(request)
    paged = paging(p)
    user_id = need_id(account_id)
    if p.flag("pinned"):
        return json([])  # Starling has no pinned tweets
    no_replies, no_reblogs, media = (
        p.flag("exclude_replies"),
        p.flag("exclude_reblogs"),
        p.flag("only_media"),
    )

    def keep(v: TweetView) -> bool:
        if no_replies and v.tweet.reply_to_tweet_id is not None:
            return False
        if no_reblogs and v.retweeted is not None:
            return False
        return not media or _only_media(v)

    async def page(max_id: int | None, floor: int | None, limit: int) -> TweetPage:
        try:
            return await core.timelines.user_timeline(
                user_id=user_id,
                max_id=max_id,
                limit=limit,
                viewer_id=viewer,
                min_id=floor,
                keep=keep,
            )
        except UserNotFound as exc:
            raise MastoError(404, "Record not found") from exc

    async def fetch(cursor: int | None, want: int) -> list[int]:
        return await core.store.tweet_ids_by_authors([user_id], max_id=cursor, limit=want)

    result = await tweet_page(paged, page, _surface_above(fetch))
    return await _statuses_response(request, core, result, viewer)


async def _accounts_list(
    request: Req,
    core: Core,
    found: tuple[list[User], Any],
) -> Response[bytes]:
    users, page = found
    r = _renderer(request, core)
    headers: dict[str, str] = {}
    if users:
        headers = link_header(request, newest=users[0].id, oldest=users[-1].id)
        if page.next_max_id is None:
            headers["Link"] = headers["Link"].split(", ", 1)[1]  # no next page
    return json([r.account(u) for u in users], headers=headers)


@get(
    "/api/v1/accounts/{account_id:str}/followers",
    summary="An account's followers",
    responses={**d.ACCOUNTS_DOC, **ERR_READ},
)
async def followers(request: Req, core: Core, account_id: FromPath[str]) -> Response[bytes]:
    (await auth(request, core)).may("read:accounts")
    paged = paging(await params(request), default=40, maximum=80)
    found = await core.graph.followers(
        user_id=need_id(account_id), max_id=paged.max_id, limit=paged.limit
    )
    return await _accounts_list(request, core, found)


@get(
    "/api/v1/accounts/{account_id:str}/following",
    summary="The accounts an account follows",
    responses={**d.ACCOUNTS_DOC, **ERR_READ},
)
async def following(request: Req, core: Core, account_id: FromPath[str]) -> Response[bytes]:
    (await auth(request, core)).may("read:accounts")
    paged = paging(await params(request), default=40, maximum=80)
    found = await core.graph.following(
        user_id=need_id(account_id), max_id=paged.max_id, limit=paged.limit
    )
    return await _accounts_list(request, core, found)


def _relation_route(
    path: str, scope: str, summary: str, rate: str, act: Callable[[Core, int, int], Awaitable[Any]]
) -> Any:
    @post(
        path,
        status_code=200,
        summary=summary,
        responses={**d.RELATIONSHIP_DOC, **ERR_WRITE},
        opt={"rate_limit": rate},
        name=path,
    )
    async def handler(request: Req, core: Core, account_id: FromPath[str]) -> Response[bytes]:
        uid = (await auth(request, core)).need(scope)
        await params(request)  # a body, if any, must be well-formed
        other = need_id(account_id)
        if await core.store.get_user(other) is None:
            raise MastoError(404, "Record not found")
        await act(core, uid, other)
        return json(await _relationship(core, uid, other))

    return handler


async def _follow(core: Core, uid: int, other: int) -> None:
    await core.graph.follow(follower_id=uid, followee_id=other)


async def _unfollow(core: Core, uid: int, other: int) -> None:
    await core.graph.unfollow(follower_id=uid, followee_id=other)


async def _block(core: Core, uid: int, other: int) -> None:
    await core.moderation.block(blocker_id=uid, blocked_id=other)


async def _unblock(core: Core, uid: int, other: int) -> None:
    await core.moderation.unblock(blocker_id=uid, blocked_id=other)


async def _mute(core: Core, uid: int, other: int) -> None:
    await core.moderation.mute(muter_id=uid, muted_id=other)


async def _unmute(core: Core, uid: int, other: int) -> None:
    await core.moderation.unmute(muter_id=uid, muted_id=other)


_A = "/api/v1/accounts/{account_id:str}"
RELATION_ROUTES: Final = [
    _relation_route(f"{_A}/follow", "write:follows", "Follow an account", "follows", _follow),
    _relation_route(f"{_A}/unfollow", "write:follows", "Unfollow", "follows", _unfollow),
    _relation_route(f"{_A}/block", "write:blocks", "Block an account", "follows", _block),
    _relation_route(f"{_A}/unblock", "write:blocks", "Unblock", "follows", _unblock),
    _relation_route(f"{_A}/mute", "write:mutes", "Mute an account", "follows", _mute),
    _relation_route(f"{_A}/unmute", "write:mutes", "Unmute", "follows", _unmute),
]


# --- statuses -------------------------------------------------------------------------------
IDEMPOTENCY_TTL_MS: Final = 3_600_000
"""How long an ``Idempotency-Key`` answers with the status it created (Mastodon: 1 hour)."""


async def _remembered(core: Core, uid: int, key_digest: str | None) -> int | None:
    """The status ``uid`` created under the key, within the hour; from the store, so a
    retry reaching another API process of a scale-out deployment finds it too."""
    if key_digest is None:
        return None
    since = core.clock.now_ms() - IDEMPOTENCY_TTL_MS
    return await core.store.idempotent_status(uid, key_digest, since_ms=since)


async def _remember(core: Core, uid: int, key_digest: str | None, status_id: int) -> int:
    """Keep the key's status; returns the status to answer: ``status_id``, or the one a
    concurrent request with the same key kept first (this one is then deleted, so the
    retry posted once)."""
    if key_digest is None:
        return status_id
    now = core.clock.now_ms()
    kept = await core.store.remember_idempotent_status(
        uid, key_digest, status_id, now_ms=now, expired_before_ms=now - IDEMPOTENCY_TTL_MS
    )
    if kept != status_id:
        await core.tweets.delete(tweet_id=status_id, requester_id=uid)
    return kept


@post(
    "/api/v1/statuses",
    status_code=200,
    summary="Post a status (Idempotency-Key honoured)",
    responses={**d.STATUS_DOC, **ERR_WRITE},
    opt={"rate_limit": "posts"},
)
async def create_status(request: Req, core: Core) -> Response[bytes]:
    uid = (await auth(request, core)).need("write:statuses")
    p = await params(request)
    key = request.headers.get("idempotency-key")
    key_digest = digest(key) if key else None
    earlier = await _remembered(core, uid, key_digest)
    if earlier is not None:
        return await _status_response(request, core, earlier, uid)
    media_ids = []
    for raw in p.texts("media_ids"):
        parsed = parse_id(raw)
        if parsed is None:
            continue
        media_ids.append(parsed)
    if p.texts("poll") or p.text("scheduled_at"):
        raise MastoError(422, "Validation failed: polls and scheduled statuses are not supported.")
    try:
        reply_to = parse_id(p.text("in_reply_to_id"))
    except MastoError as exc:
        raise MastoError(404, "Record not found") from exc
    text = p.text("status") or ""
    posted = await core.tweets.post(
        author_id=uid, text=text, reply_to_tweet_id=reply_to, media_ids=media_ids
    )
    kept = await _remember(core, uid, key_digest, posted.tweet.id)
    if kept != posted.tweet.id:
        return await _status_response(request, core, kept, uid)
    read = await core.reads.posted(posted, viewer_id=uid)
    rendered = await _renderer(request, core).status(read.view, read.engagement, viewer_id=uid)
    return json(rendered)


@get("/api/v1/statuses/{status_id:str}", summary="A status", responses={**d.STATUS_DOC, **ERR_READ})
async def status(request: Req, core: Core, status_id: FromPath[str]) -> Response[bytes]:
    viewer = (await auth(request, core)).may("read:statuses")
    return await _status_response(request, core, need_id(status_id), viewer)


@delete(
    "/api/v1/statuses/{status_id:str}",
    status_code=200,
    summary="Delete one's own status; answers it with its source text",
    responses={**d.STATUS_DOC, **ERR_WRITE},
    opt={"rate_limit": "posts"},
)
async def delete_status(request: Req, core: Core, status_id: FromPath[str]) -> Response[bytes]:
    uid = (await auth(request, core)).need("write:statuses")
    tweet_id = need_id(status_id)
    read = await core.reads.read(tweet_id, viewer_id=uid)
    rendered = await _renderer(request, core).status(read.view, read.engagement, viewer_id=uid)
    await core.tweets.delete(tweet_id=tweet_id, requester_id=uid)
    rendered.text = read.view.tweet.text
    return json(rendered)


@get(
    "/api/v1/statuses/{status_id:str}/context",
    summary="Ancestors and descendants of a status",
    responses={**d.CONTEXT_DOC, **ERR_READ},
)
async def context(request: Req, core: Core, status_id: FromPath[str]) -> Response[bytes]:
    viewer = (await auth(request, core)).may("read:statuses")
    found = await core.conversations.context(tweet_id=need_id(status_id), viewer_id=viewer)
    r = _renderer(request, core)
    ancestors = await r.statuses(found.ancestors, found.engagement, viewer_id=viewer)
    descendants: list[Status] = []
    level = [found.tweet.content_id]
    for _ in range(DESCENDANT_LEVELS):
        next_level: list[int] = []
        for parent in level:
            page = await core.conversations.replies(
                tweet_id=parent, viewer_id=viewer, max_id=None, limit=DESCENDANTS_PER_STATUS
            )
            oldest_first = page.items[::-1]
            descendants.extend(await r.statuses(oldest_first, page.engagement, viewer_id=viewer))
            next_level.extend(v.tweet.id for v in oldest_first)
        level = next_level[:DESCENDANTS_PER_STATUS]
        if not level:
            break
    return json(Context(ancestors=ancestors, descendants=descendants))


DESCENDANT_LEVELS: Final = 3
DESCENDANTS_PER_STATUS: Final = 40
"""Descendants shown: replies, their replies and theirs, up to 40 per status (Mastodon
shows the whole thread; deeper levels are a known gap)."""


def _status_action(
    path: str,
    scope: str,
    summary: str,
    rate: str,
    act: Callable[[Core, int, int], Awaitable[int]],
) -> Any:
    @post(
        path,
        status_code=200,
        summary=summary,
        responses={**d.STATUS_DOC, **ERR_WRITE},
        opt={"rate_limit": rate},
        name=path,
    )
    async def handler(request: Req, core: Core, status_id: FromPath[str]) -> Response[bytes]:
        uid = (await auth(request, core)).need(scope)
        await params(request)
        shown = await act(core, uid, need_id(status_id))
        return await _status_response(request, core, shown, uid)

    return handler


async def _reblog(core: Core, uid: int, tweet_id: int) -> int:
    return (await core.tweets.retweet(user_id=uid, tweet_id=tweet_id)).id


async def _original_id(core: Core, tweet_id: int) -> int:
    tweet = await core.store.get_tweet(tweet_id)
    if tweet is None:
        raise TweetNotFound()
    return tweet.retweet_of_id or tweet.id


async def _unreblog(core: Core, uid: int, tweet_id: int) -> int:
    original = await _original_id(core, tweet_id)
    await core.tweets.unretweet(user_id=uid, tweet_id=tweet_id)
    return original


async def _favourite(core: Core, uid: int, tweet_id: int) -> int:
    return (await core.engagement.like(user_id=uid, tweet_id=tweet_id)).tweet_id


async def _unfavourite(core: Core, uid: int, tweet_id: int) -> int:
    return (await core.engagement.unlike(user_id=uid, tweet_id=tweet_id)).tweet_id


async def _bookmark(core: Core, uid: int, tweet_id: int) -> int:
    await core.engagement.bookmark(user_id=uid, tweet_id=tweet_id)
    return await _original_id(core, tweet_id)


async def _unbookmark(core: Core, uid: int, tweet_id: int) -> int:
    original = await _original_id(core, tweet_id)
    await core.engagement.unbookmark(user_id=uid, tweet_id=tweet_id)
    return original


_S = "/api/v1/statuses/{status_id:str}"
STATUS_ACTIONS: Final = [
    _status_action(f"{_S}/reblog", "write:statuses", "Reblog (retweet)", "engagement", _reblog),
    _status_action(f"{_S}/unreblog", "write:statuses", "Undo a reblog", "engagement", _unreblog),
    _status_action(
        f"{_S}/favourite", "write:favourites", "Favourite (like)", "engagement", _favourite
    ),
    _status_action(
        f"{_S}/unfavourite", "write:favourites", "Undo a favourite", "engagement", _unfavourite
    ),
    _status_action(f"{_S}/bookmark", "write:bookmarks", "Bookmark", "engagement", _bookmark),
    _status_action(
        f"{_S}/unbookmark", "write:bookmarks", "Remove a bookmark", "engagement", _unbookmark
    ),
]


# --- timelines ------------------------------------------------------------------------------
@get(
    "/api/v1/timelines/home",
    summary="The home timeline (push and pull entries), Link-paginated",
    responses={**d.STATUSES_DOC, **ERR_READ},
)
async def home(request: Req, core: Core) -> Response[bytes]:
    uid = (await auth(request, core)).need("read:statuses")
    paged = paging(await params(request))

    async def page(max_id: int | None, floor: int | None, limit: int) -> TweetPage:
        return await core.timelines.home(viewer_id=uid, max_id=max_id, limit=limit, min_id=floor)

    async def above(min_id: int, limit: int) -> list[int]:
        return await core.timelines.home_ids_above(viewer_id=uid, min_id=min_id, limit=limit)

    result = await tweet_page(paged, page, above)
    return await _statuses_response(request, core, result, uid)


@get(
    "/api/v1/timelines/tag/{hashtag:str}",
    summary="Statuses with a hashtag, newest first",
    responses={**d.STATUSES_DOC, **ERR_READ},
)
async def tag_timeline(request: Req, core: Core, hashtag: FromPath[str]) -> Response[bytes]:
    viewer = (await auth(request, core)).may("read:statuses")
    paged = paging(await params(request))
    tag = hashtag.lstrip("#")
    if not hashtags(f"#{tag}") or hashtags(f"#{tag}")[0] != tag:
        raise MastoError(404, "Record not found")

    async def page(max_id: int | None, floor: int | None, limit: int) -> TweetPage:
        found = await core.search.tweets(
            query=f"#{tag}", viewer_id=viewer, max_id=max_id, limit=limit
        )
        if floor is None:
            return found
        return TweetPage([v for v in found.items if v.tweet.id > floor], found.engagement, None)

    async def fetch(cursor: int | None, want: int) -> list[int]:
        found = await core.search.tweets(
            query=f"#{tag}", viewer_id=viewer, max_id=cursor, limit=want
        )
        return [v.tweet.id for v in found.items]

    result = await tweet_page(paged, page, _surface_above(fetch))
    return await _statuses_response(request, core, result, viewer)


@get(
    "/api/v1/bookmarks",
    summary="The token's bookmarks, most recent first",
    responses={**d.STATUSES_DOC, **ERR_READ},
)
async def bookmarks(request: Req, core: Core) -> Response[bytes]:
    uid = (await auth(request, core)).need("read:bookmarks")
    paged = paging(await params(request))
    page = await core.engagement.bookmarks(user_id=uid, max_id=paged.max_id, limit=paged.limit)
    return await _statuses_response(
        request, core, page, uid, next_max_id=page.next_max_id, prev=False
    )


def _only_media(v: TweetView) -> bool:
    return bool((v.retweeted or v).media)


@get(
    "/api/v1/timelines/public",
    summary="Everyone's statuses, newest first (local, remote, only_media), Link-paginated",
    responses={**d.STATUSES_DOC, **ERR_READ},
)
async def public_timeline(request: Req, core: Core) -> Response[bytes]:
    viewer = (await auth(request, core)).may("read:statuses")
    p = await params(request)
    paged = paging(p)
    # Every account is local: ``local`` changes nothing, and ``remote`` (only other
    # servers' statuses) is always empty.
    if p.flag("remote") and not p.flag("local"):
        return json([])
    keep = _only_media if p.flag("only_media") else None

    async def page(max_id: int | None, floor: int | None, limit: int) -> TweetPage:
        return await core.timelines.public(
            max_id=max_id, limit=limit, viewer_id=viewer, min_id=floor, keep=keep
        )

    async def fetch(cursor: int | None, want: int) -> list[int]:
        return await core.store.newest_tweet_ids(max_id=cursor, limit=want)

    result = await tweet_page(paged, page, _surface_above(fetch))
    return await _statuses_response(request, core, result, viewer)


def _opaque_cursor(p: Params, name: str) -> int | None:
    """A list's own cursor (e.g. a like's position): decimal digits, never a status id."""
    raw = p.text(name)
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 40:
        raise MastoError(422, f"Validation failed: {name} must be a cursor from a Link header.")
    return int(raw)


def _next_link(request: Req, next_max_id: int | None) -> dict[str, str]:
    """``Link: <...max_id=next_max_id>; rel="next"`` (none on the last page)."""
    if next_max_id is None:
        return {}
    return {"Link": link_header(request, newest=0, oldest=next_max_id)["Link"].split(", <")[0]}


@get(
    "/api/v1/favourites",
    summary="The token's favourites, most recent favourite first (opaque Link cursor)",
    responses={**d.STATUSES_DOC, **ERR_READ},
)
async def favourites(request: Req, core: Core) -> Response[bytes]:
    uid = (await auth(request, core)).need("read:favourites")
    p = await params(request)
    limit = paging(p, ids=False).limit
    page = await core.engagement.favourites(
        user_id=uid, max_id=_opaque_cursor(p, "max_id"), limit=limit
    )
    statuses = await _renderer(request, core).statuses(page.items, page.engagement, viewer_id=uid)
    return json(statuses, headers=_next_link(request, page.next_max_id))


async def _user_page_response(request: Req, core: Core, found: UserPage) -> Response[bytes]:
    r = _renderer(request, core)
    return json([r.account(u) for u in found.users], headers=_next_link(request, found.next_max_id))


@get(
    "/api/v1/statuses/{status_id:str}/favourited_by",
    summary="Accounts that favourited a status, Link-paginated",
    responses={**d.ACCOUNTS_DOC, **ERR_READ},
)
async def favourited_by(request: Req, core: Core, status_id: FromPath[str]) -> Response[bytes]:
    viewer = (await auth(request, core)).may("read:statuses")
    paged = paging(await params(request), default=40, maximum=80)
    found = await core.engagement.likers(
        tweet_id=need_id(status_id), viewer_id=viewer, max_id=paged.max_id, limit=paged.limit
    )
    return await _user_page_response(request, core, found)


@get(
    "/api/v1/statuses/{status_id:str}/reblogged_by",
    summary="Accounts that reblogged a status, Link-paginated",
    responses={**d.ACCOUNTS_DOC, **ERR_READ},
)
async def reblogged_by(request: Req, core: Core, status_id: FromPath[str]) -> Response[bytes]:
    viewer = (await auth(request, core)).may("read:statuses")
    paged = paging(await params(request), default=40, maximum=80)
    found = await core.engagement.retweeters(
        tweet_id=need_id(status_id), viewer_id=viewer, max_id=paged.max_id, limit=paged.limit
    )
    return await _user_page_response(request, core, found)


# --- notifications --------------------------------------------------------------------------
def _types(p: Params) -> set[NotificationType] | None:
    wanted = p.texts("types")
    excluded = set(p.texts("exclude_types"))
    if not wanted and not excluded:
        return None
    names = wanted or list(STARLING_TYPES)
    return {t for name in names if name not in excluded for t in STARLING_TYPES.get(name, ())}


@get(
    "/api/v1/notifications",
    summary="Notifications (types[], exclude_types[]), Link-paginated",
    responses={**d.NOTIFICATIONS_DOC, **ERR_READ},
)
async def notifications(request: Req, core: Core) -> Response[bytes]:
    uid = (await auth(request, core)).need("read:notifications")
    p = await params(request)
    paged = paging(p, default=40, maximum=80)
    types = _types(p)
    result = await _notification_page(core, uid, paged, types)
    r = _renderer(request, core)
    rendered = await r.notifications(result.items, result.engagement, viewer_id=uid)
    headers: dict[str, str] = {}
    if result.items:
        headers = link_header(request, newest=result.items[0].id, oldest=result.items[-1].id)
    return json(rendered, headers=headers)


async def _notification_page(
    core: Core, uid: int, paged: Paging, types: set[NotificationType] | None
) -> NotificationPage:
    async def page(max_id: int | None, floor: int | None, limit: int) -> NotificationPage:
        return await core.reads.notifications(
            viewer_id=uid, max_id=max_id, limit=limit, min_id=floor, types=types
        )

    if paged.min_id is None:
        return await page(paged.max_id, paged.since_id, paged.limit)

    async def fetch(cursor: int | None, want: int) -> list[int]:
        rows = await core.store.notifications_page(uid, max_id=cursor, limit=want)
        return [n.id for n in rows]

    window = paged.limit
    result: NotificationPage | None = None
    for _ in range(4):
        raw = await ids_above(fetch, min_id=paged.min_id, limit=window + 1)
        upper = raw[window] if len(raw) > window else paged.max_id
        result = await page(upper, paged.min_id, window)
        if len(result.items) >= paged.limit or len(raw) <= window:
            break
        window *= 4
    assert result is not None
    return NotificationPage(
        result.items[-paged.limit :], result.engagement, result.unread_count, None
    )


@get(
    "/api/v1/notifications/{notification_id:str}",
    summary="One notification",
    responses={**d.NOTIFICATION_DOC, **ERR_READ},
)
async def notification(request: Req, core: Core, notification_id: FromPath[str]) -> Response[bytes]:
    uid = (await auth(request, core)).need("read:notifications")
    found = await core.reads.notification(need_id(notification_id), viewer_id=uid)
    if found is None:
        raise MastoError(404, "Record not found")
    entry, engagement = found
    rendered = await _renderer(request, core).notifications([entry], engagement, viewer_id=uid)
    return json(rendered[0])


@post(
    "/api/v1/notifications/clear",
    status_code=200,
    summary="Delete every notification",
    responses={**d.EMPTY_DOC, **ERR_WRITE},
    opt={"rate_limit": "engagement"},
)
async def clear_notifications(request: Req, core: Core) -> Response[bytes]:
    uid = (await auth(request, core)).need("write:notifications")
    await params(request)
    await core.notifications.clear(user_id=uid)
    return json({})


@post(
    "/api/v1/notifications/{notification_id:str}/dismiss",
    status_code=200,
    summary="Delete one notification",
    responses={**d.EMPTY_DOC, **ERR_WRITE},
    opt={"rate_limit": "engagement"},
)
async def dismiss_notification(
    request: Req, core: Core, notification_id: FromPath[str]
) -> Response[bytes]:
    uid = (await auth(request, core)).need("write:notifications")
    await params(request)
    if not await core.notifications.dismiss(user_id=uid, notification_id=need_id(notification_id)):
        raise MastoError(404, "Record not found")
    return json({})


# --- search and trends ----------------------------------------------------------------------
@get(
    "/api/v2/search",
    summary="Search accounts, statuses and hashtags",
    responses={**d.SEARCH_DOC, **ERR_READ},
)
async def search(request: Req, core: Core) -> Response[bytes]:
    who = await auth(request, core)
    viewer = who.may("read:search")
    p = await params(request)
    q = (p.text("q") or "").strip()
    kind = p.text("type")
    limit = paging(p, default=20, maximum=40).limit
    offset_raw = p.text("offset") or "0"
    if not offset_raw.isascii() or not offset_raw.isdigit() or len(offset_raw) > 6:
        raise MastoError(422, "Validation failed: offset must be a non-negative integer.")
    offset = int(offset_raw)
    if not q:
        raise MastoError(400, "Validation failed: q is empty.")
    r = _renderer(request, core)
    result = Search(accounts=[], statuses=[], hashtags=[])
    if kind in (None, "", "accounts"):
        users = await _search_users(core, q, offset=offset, limit=limit)
        result.accounts = [r.account(u) for u in users]
    if kind in (None, "", "statuses") and viewer is not None and offset < 200:
        # Mastodon searches statuses only for signed-in users.
        try:
            page = await core.search.tweets(
                query=q, viewer_id=viewer, max_id=None, limit=offset + limit
            )
        except DomainError:
            page = None
        if page is not None:
            shown = page.items[offset:]
            result.statuses = await r.statuses(shown, page.engagement, viewer_id=viewer)
    if kind in (None, "", "hashtags") and offset == 0:
        tags = hashtags("#" + q.lstrip("#"))
        result.hashtags = [r.tag(t.lower()) for t in tags[:1]]
    return json(result)


@get(
    ["/api/v1/trends/tags", "/api/v1/trends"],
    summary="Trending hashtags",
    responses={**d.TAGS_DOC, **ERR_READ},
)
async def trends(request: Req, core: Core) -> Response[bytes]:
    p = await params(request)
    limit = paging(p, default=10, maximum=20).limit
    found = await core.trends.current(limit=limit)
    r = _renderer(request, core)
    day = core.clock.now_ms() // 86_400_000 * 86_400_000
    return json([r.tag(t.tag, uses=t.tweet_volume, day_ms=day) for t in found])


# --- media ----------------------------------------------------------------------------------
@post(
    ["/api/v1/media", "/api/v2/media"],
    status_code=200,
    summary="Upload an image (multipart field file)",
    responses={**d.MEDIA_DOC, **d.errors_doc(401, 403, 413, 415, 422, 429)},
    opt={"rate_limit": "media"},
    request_max_body_size=8 * 1024 * 1024,
)
async def upload(request: Req, core: Core) -> Response[bytes]:
    uid = (await auth(request, core)).need("write:media")
    p = await params(request)
    file = p.file("file")
    if file is None:
        raise MastoError(422, "Validation failed: file is missing.")
    item = await core.media.upload(owner_id=uid, data=await file.read())
    return json(_renderer(request, core).media(item))


@get(
    "/api/v1/media/{media_id:str}",
    summary="An upload of one's own",
    responses={**d.MEDIA_DOC, **ERR_READ},
)
async def media(request: Req, core: Core, media_id: FromPath[str]) -> Response[bytes]:
    uid = (await auth(request, core)).need("write:media")
    item = await core.media.get(media_id=need_id(media_id))
    if item.owner_id != uid:
        raise MastoError(404, "Record not found")
    return json(_renderer(request, core).media(item))


# --- preferences and the rest of what clients ask at start ----------------------------------
@get(
    "/api/v1/preferences",
    summary="Posting and reading preferences",
    responses={**d.PREFERENCES_DOC, **ERR_READ},
)
async def preferences(request: Req, core: Core) -> Response[bytes]:
    (await auth(request, core)).need("read:accounts")
    return json(Preferences())


@get(
    ["/api/v1/lists", "/api/v1/followed_tags", "/api/v1/filters", "/api/v2/filters"],
    summary="Lists, followed tags and filters: Starling has none (empty lists)",
)
async def none_of_these(request: Req, core: Core) -> Response[bytes]:
    (await auth(request, core)).need("read")
    return json([])


HANDLERS: Final = [
    instance_1,
    instance_2,
    empty_list,
    verify_credentials,
    update_credentials,
    lookup,
    account_search,
    relationships,
    account,
    account_statuses,
    followers,
    following,
    *RELATION_ROUTES,
    create_status,
    status,
    delete_status,
    context,
    *STATUS_ACTIONS,
    favourited_by,
    reblogged_by,
    home,
    public_timeline,
    tag_timeline,
    bookmarks,
    favourites,
    notifications,
    notification,
    clear_notifications,
    dismiss_notification,
    search,
    trends,
    upload,
    media,
    preferences,
    none_of_these,
]
