"""Accounts: register, token, logout, password change, deletion, read users, edit
one's profile."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from starling.api.auth import bearer_token
from starling.api.deps import Core, ViewerId
from starling.api.openapi import BEARER, UserId, raises
from starling.api.params import parse_id
from starling.api.schemas import (
    ChangePassword,
    CreateUser,
    DeleteAccount,
    TokenOut,
    TokenRequest,
    UpdateProfile,
    UserOut,
    user_out,
)
from starling.domain.errors import UserNotFound


class AccountsController(Controller):
    path = "/api/starling/v1"
    tags = ["accounts"]

    @post(
        "/users",
        status_code=201,
        summary="Register an account",
        opt=raises(
            "invalid_username",
            "invalid_email",
            "invalid_password",
            "invalid_display_name",
            "invalid_characters",
            "username_taken",
            "email_taken",
            "busy",
        ),
    )
    async def register(self, data: JSONBody[CreateUser], core: Core) -> UserOut:
        user = await core.accounts.register(
            username=data.username,
            email=data.email,
            password=data.password,
            display_name=data.display_name,
        )
        return user_out(user)

    @post(
        "/auth/token",
        status_code=200,
        summary="Exchange username (or e-mail address) and password for a token",
        opt=raises("unauthorized", "too_many_attempts", "busy"),
    )
    async def token(self, data: JSONBody[TokenRequest], core: Core) -> TokenOut:
        token, user = await core.accounts.login(username=data.username, password=data.password)
        return TokenOut(access_token=token, token_type="bearer", user=user_out(user))

    @post(
        "/auth/logout",
        status_code=204,
        summary="Revoke the presented access token",
        security=[{BEARER: []}],
    )
    async def logout(self, request: Request[Any, Any, Any], core: Core) -> None:
        await core.accounts.logout(token=bearer_token(request))

    @post(
        "/users/me/password",
        status_code=204,
        summary="Change the password; revokes every other token",
        security=[{BEARER: []}],
        opt=raises("wrong_password", "invalid_password", "busy"),
    )
    async def change_password(
        self, request: Request[Any, Any, Any], data: JSONBody[ChangePassword], core: Core
    ) -> None:
        await core.accounts.change_password(
            token=bearer_token(request),
            current_password=data.current_password,
            new_password=data.new_password,
        )

    @delete(
        "/users/me",
        status_code=204,
        summary="Delete the account (password required)",
        opt=raises("wrong_password", "busy"),
    )
    async def delete_me(
        self, data: JSONBody[DeleteAccount], core: Core, viewer_id: ViewerId
    ) -> None:
        await core.accounts.delete_account(user_id=viewer_id, password=data.password)

    @get("/users/me", summary="The authenticated user")
    async def me(self, core: Core, viewer_id: ViewerId) -> UserOut:
        return user_out(await core.accounts.get(user_id=viewer_id))

    @patch(
        "/users/me",
        summary="Edit display name and bio",
        opt=raises("invalid_display_name", "invalid_bio", "invalid_characters"),
    )
    async def update_me(
        self, data: JSONBody[UpdateProfile], core: Core, viewer_id: ViewerId
    ) -> UserOut:
        user = await core.accounts.update_profile(
            user_id=viewer_id, display_name=data.display_name, bio=data.bio
        )
        return user_out(user)

    @get("/users/{user_id:str}", summary="A user by id")
    async def get_user(self, user_id: UserId, core: Core) -> UserOut:
        return user_out(await core.accounts.get(user_id=parse_id(user_id, UserNotFound)))

    @get(
        "/users/by/username/{username:str}",
        summary="A user by username",
        opt=raises("user_not_found"),
    )
    async def by_username(self, username: FromPath[str], core: Core) -> UserOut:
        return user_out(await core.accounts.get_by_username(username=username))
