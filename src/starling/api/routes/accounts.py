"""Accounts: register, token, read users, edit one's profile."""

from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody

from starling.api.deps import Core, ViewerId
from starling.api.params import parse_id
from starling.api.schemas import (
    CreateUser,
    TokenOut,
    TokenRequest,
    UpdateProfile,
    UserOut,
    user_out,
)
from starling.domain.errors import UserNotFound


class AccountsController(Controller):
    path = "/api/v1"
    tags = ["accounts"]

    @post("/users", status_code=201, summary="Register an account")
    async def register(self, data: JSONBody[CreateUser], core: Core) -> UserOut:
        user = await core.accounts.register(
            username=data.username,
            email=data.email,
            password=data.password,
            display_name=data.display_name,
        )
        return user_out(user)

    @post("/auth/token", status_code=200, summary="Exchange username and password for a token")
    async def token(self, data: JSONBody[TokenRequest], core: Core) -> TokenOut:
        token, user = await core.accounts.login(username=data.username, password=data.password)
        return TokenOut(access_token=token, token_type="bearer", user=user_out(user))

    @get("/users/me", summary="The authenticated user")
    async def me(self, core: Core, viewer_id: ViewerId) -> UserOut:
        return user_out(await core.accounts.get(user_id=viewer_id))

    @patch("/users/me", summary="Edit display name and bio")
    async def update_me(
        self, data: JSONBody[UpdateProfile], core: Core, viewer_id: ViewerId
    ) -> UserOut:
        user = await core.accounts.update_profile(
            user_id=viewer_id, display_name=data.display_name, bio=data.bio
        )
        return user_out(user)

    @get("/users/{user_id:str}", summary="A user by id")
    async def get_user(self, user_id: FromPath[str], core: Core) -> UserOut:
        return user_out(await core.accounts.get(user_id=parse_id(user_id, UserNotFound)))

    @get("/users/by/username/{username:str}", summary="A user by username")
    async def by_username(self, username: FromPath[str], core: Core) -> UserOut:
        return user_out(await core.accounts.get_by_username(username=username))
