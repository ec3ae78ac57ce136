"""``starling login-link USERNAME``: a one-time URL that logs a browser in as any user,
including imported ones, which have no password."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from starling.api.app import create_app
from starling.bootstrap import build
from starling.cli import app as cli
from starling.config import load_settings
from starling.domain.model import NewUser

FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8}


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A small embedded database holding one imported account (no password, no
    address), as ``starling load`` makes them; the CLI finds it in the environment."""
    url = f"sqlite:///{tmp_path}/starling.db"
    monkeypatch.setenv("STARLING_DATABASE_URL", url)
    monkeypatch.setenv("STARLING_MEDIA_DIR", str(tmp_path / "media"))

    async def seed() -> None:
        core = await build(load_settings({}, database_url=url, **FAST_ARGON2), run_workers=False)
        try:
            await core.store.create_user(
                NewUser(
                    id=355672,
                    username="user355672",
                    display_name="user355672",
                    email=None,
                    password_hash=None,
                    created_at_ms=1_300_000_000_000,
                )
            )
        finally:
            await core.stop()

    asyncio.run(seed())
    return url


async def _open(url: str, database: str, tmp_path: Path) -> list[httpx.Response]:
    """Open the link twice, then the home page with the first session, in one app."""
    settings = load_settings(
        {}, database_url=database, media_dir=str(tmp_path / "media"), **FAST_ARGON2
    )
    core = await build(settings)
    await core.start()
    app = create_app(core)
    path = urlsplit(url)
    target = f"{path.path}?{path.query}"
    answers: list[httpx.Response] = []
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as first:
            answers.append(await first.get(target))
            answers.append(await first.get("/"))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as again:
            answers.append(await again.get(target))
    finally:
        await core.stop()
    return answers


def test_login_link_logs_a_browser_in_once_and_not_twice(database: str, tmp_path: Path) -> None:
    printed = CliRunner().invoke(cli, ["login-link", "user355672"])
    assert printed.exit_code == 0, printed.output
    url = printed.output.strip()
    assert url.startswith("http://127.0.0.1:8000/login/link?token=")

    used, home, reused = asyncio.run(_open(url, database, tmp_path))

    assert used.status_code == 303
    assert used.headers["location"] == "/"
    cookie = used.headers["set-cookie"]
    assert cookie.startswith("starling_session=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert home.status_code == 200
    assert 'href="/@user355672"' in home.text  # the navigation's "Profile" link
    assert reused.status_code == 401
    assert "used already" in reused.text
    assert "starling_session" not in reused.headers.get("set-cookie", "")


def test_login_link_names_an_unknown_user_and_fails(database: str) -> None:
    printed = CliRunner().invoke(cli, ["login-link", "nobody_here"])
    assert printed.exit_code == 1
    assert "no user named 'nobody_here'" in printed.output


def test_login_link_base_url_option(database: str) -> None:
    printed = CliRunner().invoke(
        cli, ["login-link", "user355672", "--base-url", "https://starling.example/"]
    )
    assert printed.exit_code == 0, printed.output
    assert printed.output.startswith("https://starling.example/login/link?token=")
