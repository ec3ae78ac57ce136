"""The web app's forms (POST): sign up, log in and out, settings, compose, and the
actions on tweets and users. Each checks the CSRF token, calls one service (the one the
JSON API calls) and answers 303 See Other back to the page (Post/Redirect/Get), or,
when the page's script sent it with ``fetch``, the part of the page that changed.

Rate-limit classes are declared per handler (``opt``), as docs/rate-limits.md says a
surface does: the same budgets as the JSON API's equivalent routes.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from starling.api.deps import Core
from starling.api.errors import ApiError
from starling.api.params import parse_id
from starling.bootstrap import App
from starling.domain.errors import DomainError, TooManyAttempts, TweetNotFound, Unauthorized
from starling.domain.media import MAX_MEDIA_BYTES, MAX_MEDIA_PER_TWEET, TooManyMedia
from starling.web.render import card
from starling.web.session import (
    NONCE_COOKIE,
    SESSION_COOKIE,
    Viewer,
    check_csrf,
    cleared,
    session_cookie,
)
from starling.web.views import (
    WebViewer,
    back,
    fragment,
    page,
    require_user,
    safe_next,
    wants_fragment,
)

Form = Any
"""Litestar's ``FormMultiDict`` (field name to ``str`` or ``UploadFile``)."""

COMPOSE_MAX_BODY: Final = MAX_MEDIA_PER_TWEET * MAX_MEDIA_BYTES + 256 * 1024
"""A compose form with four images of the largest size, plus the text and headers."""


def field(form: Form, name: str) -> str:
    """A text field of a form ('' when absent or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def checked_form(core: App, request: Request[Any, Any, Any], viewer: Viewer) -> Form:
    """The request's form, once its CSRF token (field or header) is checked. Raises
    ``Forbidden`` (403) without it, ``ApiError`` 400 for a body that is no form."""
    try:
        form = await request.form()
    except ClientException as exc:
        if exc.status_code == 413:
            raise
        raise ApiError(400, "malformed_form", "The body is not a form.") from exc
    check_csrf(core, request, viewer, field(form, "csrf_token") or None)
    return form


class AccountForms(Controller):
    """Sign up, log in (password or one-time link), log out, edit the profile."""

    @get("/signup", name="web:signup")
    async def signup_page(
        self, request: Request[Any, Any, Any], core: Core, viewer: WebViewer
    ) -> Template | Redirect:
        if viewer.user is not None:
            return Redirect(path="/", status_code=303)
        return await page(core, request, viewer, "signup.html", form={}, error=None)

    @post("/signup", opt={"rate_limit": "registrations"}, name="web:signup_post")
    async def signup(
        self, request: Request[Any, Any, Any], core: Core, viewer: WebViewer
    ) -> Template | Redirect:
        form = await checked_form(core, request, viewer)
        values = {k: field(form, k) for k in ("username", "email", "display_name")}
        try:
            user = await core.accounts.register(
                username=values["username"],
                email=values["email"],
                password=field(form, "password"),
                display_name=values["display_name"].strip() or None,
            )
        except DomainError as exc:
            status = 409 if exc.code in ("username_taken", "email_taken") else 422
            return await page(
                core,
                request,
                viewer,
                "signup.html",
                status_code=status,
                form=values,
                error=exc.message,
            )
        # Just registered with this password: a token without hashing it a second time.
        token = await core.accounts.token_for(username=user.username)
        return Redirect(
            path="/",
            status_code=303,
            cookies=[session_cookie(core, token), cleared(core, NONCE_COOKIE)],
        )

    @get("/login", name="web:login")
    async def login_page(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        viewer: WebViewer,
        next: FromQuery[str | None] = None,
    ) -> Template | Redirect:
        if viewer.user is not None:
            return Redirect(path=safe_next(next), status_code=303)
        return await page(
            core, request, viewer, "login.html", next=safe_next(next), username="", error=None
        )

    @post("/login", opt={"rate_limit": "logins"}, name="web:login_post")
    async def login(
        self, request: Request[Any, Any, Any], core: Core, viewer: WebViewer
    ) -> Template | Redirect:
        form = await checked_form(core, request, viewer)
        username = field(form, "username")
        target = safe_next(field(form, "next"))
        try:
            token, _ = await core.accounts.login(
                username=username, password=field(form, "password")
            )
        except (Unauthorized, TooManyAttempts) as exc:
            status = 401 if isinstance(exc, Unauthorized) else 429
            return await page(
                core,
                request,
                viewer,
                "login.html",
                status_code=status,
                next=target,
                username=username,
                error=exc.message,
            )
        return Redirect(
            path=target,
            status_code=303,
            cookies=[session_cookie(core, token), cleared(core, NONCE_COOKIE)],
        )

    @get("/login/link", opt={"rate_limit": "logins"}, name="web:login_link")
    async def login_link(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        viewer: WebViewer,
        token: FromQuery[str | None] = None,
    ) -> Template | Redirect:
        """A one-time login link (``starling login-link``): used up here."""
        try:
            session, _ = await core.accounts.redeem_login_link(token=token or "")
        except Unauthorized as exc:
            return await page(
                core,
                request,
                viewer,
                "error.html",
                status_code=401,
                title="This link does not work",
                message=exc.message,
                back="/login",
            )
        return Redirect(path="/", status_code=303, cookies=[session_cookie(core, session)])

    @post("/logout", name="web:logout")
    async def logout(
        self, request: Request[Any, Any, Any], core: Core, viewer: WebViewer
    ) -> Redirect:
        """Revoke the session's token (refused from now on, wherever it was copied) and
        forget the cookie."""
        if viewer.token is not None:
            await checked_form(core, request, viewer)
            await core.accounts.logout(token=viewer.token)
        return Redirect(path="/", status_code=303, cookies=[cleared(core, SESSION_COOKIE)])

    @get("/settings/profile", name="web:settings")
    async def settings_page(
        self,
        request: Request[Any, Any, Any],
        core: Core,
        viewer: WebViewer,
        saved: FromQuery[str | None] = None,
    ) -> Template:
        require_user(viewer)
        return await page(
            core,
            request,
            viewer,
            "settings.html",
            section="settings",
            saved=saved == "1",
            error=None,
        )

    @post("/settings/profile", name="web:settings_post")
    async def settings(
        self, request: Request[Any, Any, Any], core: Core, viewer: WebViewer
    ) -> Template | Redirect:
        user_id = require_user(viewer)
        form = await checked_form(core, request, viewer)
        try:
            await core.accounts.update_profile(
                user_id=user_id, display_name=field(form, "display_name"), bio=field(form, "bio")
            )
        except DomainError as exc:
            return await page(
                core,
                request,
                viewer,
                "settings.html",
                status_code=422,
                section="settings",
                saved=False,
                error=exc.message,
            )
        return Redirect(path="/settings/profile?saved=1", status_code=303)


class TweetForms(Controller):
    """Compose, and the actions on a tweet."""

    @post(
        "/compose",
        opt={"rate_limit": "posts"},
        request_max_body_size=COMPOSE_MAX_BODY,
        name="web:compose_post",
    )
    async def compose(
        self, request: Request[Any, Any, Any], core: Core, viewer: WebViewer
    ) -> Redirect:
        """Post a tweet with up to four images (uploaded through the media service
        first), as a reply or a quote when the form says so."""
        user_id = require_user(viewer)
        form = await checked_form(core, request, viewer)
        files = [f for f in form.getall("images", []) if isinstance(f, UploadFile) and f.filename]
        if len(files) > MAX_MEDIA_PER_TWEET:
            raise TooManyMedia()
        reply_to = field(form, "reply_to")
        quote = field(form, "quote")
        media_ids = []
        for upload in files:
            try:
                data = await upload.read(MAX_MEDIA_BYTES + 1)
            finally:
                await upload.close()
            media_ids.append((await core.media.upload(owner_id=user_id, data=data)).id)
        posted = await core.tweets.post(
            author_id=user_id,
            text=field(form, "text"),
            reply_to_tweet_id=parse_id(reply_to, TweetNotFound) if reply_to else None,
            quote_tweet_id=parse_id(quote, TweetNotFound) if quote else None,
            media_ids=media_ids,
        )
        target = safe_next(field(form, "next"))
        if target == "/":
            target = f"/?posted={posted.tweet.id}"
        return Redirect(path=target, status_code=303)

    async def _act(
        self,
        request: Request[Any, Any, Any],
        core: App,
        viewer: Viewer,
        raw_id: str,
        verb: str,
    ) -> Redirect | Template | Response[bytes]:
        user_id = require_user(viewer)
        form = await checked_form(core, request, viewer)
        tweet_id = parse_id(raw_id, TweetNotFound)
        bookmarked = False
        if verb == "like":
            await core.engagement.like(user_id=user_id, tweet_id=tweet_id)
        elif verb == "unlike":
            await core.engagement.unlike(user_id=user_id, tweet_id=tweet_id)
        elif verb == "retweet":
            await core.tweets.retweet(user_id=user_id, tweet_id=tweet_id)
        elif verb == "unretweet":
            await core.tweets.unretweet(user_id=user_id, tweet_id=tweet_id)
        elif verb == "bookmark":
            await core.engagement.bookmark(user_id=user_id, tweet_id=tweet_id)
            bookmarked = True
        elif verb == "unbookmark":
            await core.engagement.unbookmark(user_id=user_id, tweet_id=tweet_id)
        else:  # delete
            await core.tweets.delete(tweet_id=tweet_id, requester_id=user_id)
        if not wants_fragment(request):
            return back(request, field(form, "next"))
        if verb == "delete":
            return Response(b"", media_type="text/html")
        read = await core.reads.read(tweet_id, viewer_id=user_id)
        return fragment(
            request,
            viewer,
            "_actions.html",
            c=card(read.view, read.engagement, user_id),
            here=safe_next(field(form, "next")),
            bookmarked=bookmarked,
        )

    @post("/tweets/{tweet_id:str}/like", opt={"rate_limit": "engagement"}, name="web:like")
    async def like(
        self,
        request: Request[Any, Any, Any],
        tweet_id: FromPath[str],
        core: Core,
        viewer: WebViewer,
    ) -> Any:
        return await self._act(request, core, viewer, tweet_id, "like")

    @post("/tweets/{tweet_id:str}/unlike", opt={"rate_limit": "engagement"}, name="web:unlike")
    async def unlike(
        self,
        request: Request[Any, Any, Any],
        tweet_id: FromPath[str],
        core: Core,
        viewer: WebViewer,
    ) -> Any:
        return await self._act(request, core, viewer, tweet_id, "unlike")

    @post("/tweets/{tweet_id:str}/retweet", opt={"rate_limit": "engagement"}, name="web:retweet")
    async def retweet(
        self,
        request: Request[Any, Any, Any],
        tweet_id: FromPath[str],
        core: Core,
        viewer: WebViewer,
    ) -> Any:
        return await self._act(request, core, viewer, tweet_id, "retweet")

    @post(
        "/tweets/{tweet_id:str}/unretweet", opt={"rate_limit": "engagement"}, name="web:unretweet"
    )
    async def unretweet(
        self,
        request: Request[Any, Any, Any],
        tweet_id: FromPath[str],
        core: Core,
        viewer: WebViewer,
    ) -> Any:
        return await self._act(request, core, viewer, tweet_id, "unretweet")

    @post("/tweets/{tweet_id:str}/bookmark", name="web:bookmark")
    async def bookmark(
        self,
        request: Request[Any, Any, Any],
        tweet_id: FromPath[str],
        core: Core,
        viewer: WebViewer,
    ) -> Any:
        return await self._act(request, core, viewer, tweet_id, "bookmark")

    @post("/tweets/{tweet_id:str}/unbookmark", name="web:unbookmark")
    async def unbookmark(
        self,
        request: Request[Any, Any, Any],
        tweet_id: FromPath[str],
        core: Core,
        viewer: WebViewer,
    ) -> Any:
        return await self._act(request, core, viewer, tweet_id, "unbookmark")

    @post("/tweets/{tweet_id:str}/delete", opt={"rate_limit": "posts"}, name="web:delete")
    async def remove(
        self,
        request: Request[Any, Any, Any],
        tweet_id: FromPath[str],
        core: Core,
        viewer: WebViewer,
    ) -> Any:
        return await self._act(request, core, viewer, tweet_id, "delete")


MODERATION_VERBS: Final = ("block", "unblock", "mute", "unmute")


async def _user_act(
    request: Request[Any, Any, Any], core: App, viewer: Viewer, handle: str, verb: str
) -> Redirect:
    """Follow, unfollow, block, unblock, mute or unmute the user of ``handle`` (``@name``)
    and go back to their profile."""
    if not handle.startswith("@"):
        raise ApiError(404, "not_found", "No such resource.")
    user_id = require_user(viewer)
    await checked_form(core, request, viewer)
    target = await core.accounts.get_by_username(username=handle[1:])
    other = target.id
    if verb == "follow":
        await core.graph.follow(follower_id=user_id, followee_id=other)
    elif verb == "unfollow":
        await core.graph.unfollow(follower_id=user_id, followee_id=other)
    elif verb == "block":
        await core.moderation.block(blocker_id=user_id, blocked_id=other)
    elif verb == "unblock":
        await core.moderation.unblock(blocker_id=user_id, blocked_id=other)
    elif verb == "mute":
        await core.moderation.mute(muter_id=user_id, muted_id=other)
    else:
        await core.moderation.unmute(muter_id=user_id, muted_id=other)
    return Redirect(path=f"/@{target.username}", status_code=303)


class UserForms(Controller):
    """Follow, block and mute from a profile; mark notifications read."""

    @post("/{handle:str}/follow", opt={"rate_limit": "follows"}, name="web:follow")
    async def follow(
        self, request: Request[Any, Any, Any], handle: FromPath[str], core: Core, viewer: WebViewer
    ) -> Redirect:
        return await _user_act(request, core, viewer, handle, "follow")

    @post("/{handle:str}/unfollow", opt={"rate_limit": "follows"}, name="web:unfollow")
    async def unfollow(
        self, request: Request[Any, Any, Any], handle: FromPath[str], core: Core, viewer: WebViewer
    ) -> Redirect:
        return await _user_act(request, core, viewer, handle, "unfollow")

    @post("/{handle:str}/{verb:str}", name="web:moderate")
    async def moderate(
        self,
        request: Request[Any, Any, Any],
        handle: FromPath[str],
        verb: FromPath[str],
        core: Core,
        viewer: WebViewer,
    ) -> Redirect:
        if verb not in MODERATION_VERBS:
            raise ApiError(404, "not_found", "No such resource.")
        return await _user_act(request, core, viewer, handle, verb)

    @post("/notifications/read", name="web:notifications_read")
    async def mark_read(
        self, request: Request[Any, Any, Any], core: Core, viewer: WebViewer
    ) -> Redirect:
        user_id = require_user(viewer)
        await checked_form(core, request, viewer)
        await core.notifications.mark_read(user_id=user_id, max_id=None)
        return Redirect(path="/notifications", status_code=303)
