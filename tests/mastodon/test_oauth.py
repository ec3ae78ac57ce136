"""OAuth 2 of the Mastodon-compatible API through HTTP: what is refused (a redirect URI
the app did not register, a reused code, a PKCE verifier that does not match, a revoked
token, a token without the scope a route needs), and the shapes of the answers."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from conftest import Harness

REDIRECT = "https://client.example/callback"
OOB = "urn:ietf:wg:oauth:2.0:oob"
PASSWORD = "correct horse"


async def register_app(
    starling: Harness, *, scopes: str = "read write follow", redirect: str = REDIRECT
) -> dict[str, Any]:
    r = await starling.client.post(
        "/api/v1/apps",
        data={"client_name": "tests", "redirect_uris": redirect, "scopes": scopes},
    )
    assert r.status_code == 200, r.text
    app: dict[str, Any] = r.json()
    return app


def challenge_of(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


async def grant_code(
    starling: Harness,
    app: dict[str, Any],
    username: str,
    *,
    challenge: str | None = None,
    redirect: str = REDIRECT,
    scope: str = "read write follow",
) -> str:
    """Approve on the authorization page (the form post) and return the code."""
    fields = {
        "client_id": app["client_id"],
        "redirect_uri": redirect,
        "response_type": "code",
        "scope": scope,
        "username": username,
        "password": PASSWORD,
    }
    if challenge is not None:
        fields |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    r = await starling.client.post("/oauth/authorize", data=fields)
    if redirect == OOB:
        assert r.status_code == 200, r.text
        found = re.search(r'id="authorization-code">([^<]+)<', r.text)
        assert found is not None
        return found.group(1)
    assert r.status_code == 302, r.text
    return parse_qs(urlparse(r.headers["location"]).query)["code"][0]


async def exchange(
    starling: Harness, app: dict[str, Any], code: str, **extra: str
) -> httpx.Response:
    return await starling.client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "code": code,
            "redirect_uri": REDIRECT,
            **extra,
        },
    )


async def password_token(starling: Harness, app: dict[str, Any], username: str, scope: str) -> str:
    r = await starling.client.post(
        "/oauth/token",
        json={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": username,
            "password": PASSWORD,
            "scope": scope,
        },
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def test_the_authorization_page_asks_for_username_and_password(starling: Harness) -> None:
    app = await register_app(starling)
    r = await starling.client.get(
        "/oauth/authorize",
        params={"client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert 'name="username"' in r.text
    assert 'name="password"' in r.text
    assert ">Authorize</button>" in r.text


async def test_a_redirect_uri_the_app_did_not_register_is_refused(starling: Harness) -> None:
    user = await starling.register()
    app = await register_app(starling)
    page = await starling.client.get(
        "/oauth/authorize",
        params={
            "client_id": app["client_id"],
            "redirect_uri": "https://evil.example/steal",
            "response_type": "code",
        },
    )
    assert page.status_code == 400
    assert "location" not in page.headers  # never redirected to an unknown URI
    code = await grant_code(starling, app, user.username)
    r = await exchange(starling, app, code, redirect_uri="https://evil.example/steal")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


async def test_a_code_works_once(starling: Harness) -> None:
    user = await starling.register()
    app = await register_app(starling)
    code = await grant_code(starling, app, user.username)
    first = await exchange(starling, app, code)
    assert first.status_code == 200, first.text
    assert first.json()["token_type"] == "Bearer"
    assert first.json()["scope"] == "read write follow"
    again = await exchange(starling, app, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_pkce_verifier_must_match_the_challenge(starling: Harness) -> None:
    user = await starling.register()
    app = await register_app(starling)
    verifier = "v" * 50
    code = await grant_code(starling, app, user.username, challenge=challenge_of(verifier))
    wrong = await exchange(starling, app, code, code_verifier="w" * 50)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    # The refused attempt spent the code: even the right verifier is too late now.
    late = await exchange(starling, app, code, code_verifier=verifier)
    assert late.status_code == 400
    code = await grant_code(starling, app, user.username, challenge=challenge_of(verifier))
    public = await starling.client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app["client_id"],
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert public.status_code == 200, public.text


async def test_a_revoked_token_is_refused(starling: Harness) -> None:
    user = await starling.register()
    app = await register_app(starling)
    token = await password_token(starling, app, user.username, "read")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await starling.client.get("/api/v1/timelines/home", headers=headers)).status_code == 200
    r = await starling.client.post(
        "/oauth/revoke",
        data={"client_id": app["client_id"], "client_secret": app["client_secret"], "token": token},
    )
    assert r.status_code == 200
    assert r.json() == {}
    refused = await starling.client.get("/api/v1/timelines/home", headers=headers)
    assert refused.status_code == 401
    assert refused.json() == {"error": "The access token is invalid"}


async def test_a_read_only_token_cannot_post(starling: Harness) -> None:
    user = await starling.register()
    app = await register_app(starling)
    token = await password_token(starling, app, user.username, "read")
    headers = {"Authorization": f"Bearer {token}"}
    r = await starling.client.post("/api/v1/statuses", data={"status": "hi"}, headers=headers)
    assert r.status_code == 403
    assert r.json() == {"error": "This action is outside the authorized scopes"}
    granular = await password_token(starling, app, user.username, "write:statuses")
    r = await starling.client.post(
        "/api/v1/statuses", json={"status": "hi"}, headers={"Authorization": f"Bearer {granular}"}
    )
    assert r.status_code == 200, r.text
    follow_only = await password_token(starling, app, user.username, "follow")
    r = await starling.client.get(
        "/api/v1/timelines/home", headers={"Authorization": f"Bearer {follow_only}"}
    )
    assert r.status_code == 403


async def test_scopes_beyond_the_apps_and_unknown_grants_are_refused(starling: Harness) -> None:
    user = await starling.register()
    app = await register_app(starling, scopes="read")
    r = await starling.client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": user.username,
            "password": PASSWORD,
            "scope": "read write",
        },
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"
    r = await starling.client.post(
        "/oauth/token", data={"grant_type": "implicit", "client_id": app["client_id"]}
    )
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"
    r = await starling.client.post(
        "/oauth/token",
        data={"grant_type": "password", "client_id": app["client_id"], "client_secret": "nope"},
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


async def test_a_wrong_password_on_the_page_grants_nothing(starling: Harness) -> None:
    user = await starling.register()
    app = await register_app(starling)
    r = await starling.client.post(
        "/oauth/authorize",
        data={
            "client_id": app["client_id"],
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "username": user.username,
            "password": "not the password",
        },
    )
    assert r.status_code == 401
    assert "Wrong username or password." in r.text
    assert "location" not in r.headers


async def test_client_credentials_give_an_app_token(starling: Harness) -> None:
    app = await register_app(starling)
    r = await starling.client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "read",
        },
    )
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    verified = await starling.client.get("/api/v1/apps/verify_credentials", headers=headers)
    assert verified.status_code == 200
    assert verified.json()["name"] == "tests"
    home = await starling.client.get("/api/v1/timelines/home", headers=headers)
    assert home.status_code == 401  # an app token acts for no user


async def test_server_metadata_names_the_endpoints(starling: Harness) -> None:
    r = await starling.client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200
    meta = r.json()
    assert meta["token_endpoint"] == "http://starling.test/oauth/token"
    assert "password" in meta["grant_types_supported"]
    assert meta["code_challenge_methods_supported"] == ["S256", "plain"]
