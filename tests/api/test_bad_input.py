"""Bad input gets a 4xx with the API's error object, never a 500, and loses nothing stored.

Every test works with users of its own on one app per module and configuration
(building an app costs a good part of a second, a request a few milliseconds), so the
tests do not see each other.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import struct
import time
import unicodedata
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
import pytest_asyncio

import scaleout
from conftest import FAST_ARGON2, TEST_THRESHOLD, Account, Harness, make_settings, start_harness
from starling.adapters.clock import ManualClock
from starling.bootstrap import SECRET_META_KEY
from starling.config import load_settings
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import NewUser

pytestmark = pytest.mark.asyncio(loop_scope="module")

PASSWORD = "correct horse"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧: 5 code points
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_names = itertools.count(1)
_import_ids = SnowflakeGenerator(1000, lambda: time.time_ns() // 1_000_000)
"""Ids for accounts made through the store, as ``starling load`` makes them."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def embedded_harness(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    settings = make_settings(
        tmp_path_factory.mktemp("bad_input"), celebrity_threshold=TEST_THRESHOLD
    )
    harness = await start_harness(settings, ManualClock())
    try:
        yield harness
    finally:
        await harness.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scale_out_harness(scale_out: scaleout.Deployment) -> AsyncIterator[Harness]:
    harness = await start_harness(
        load_settings(scale_out.env, **FAST_ARGON2),
        ManualClock(),
        run_workers=False,
        worker_metrics_urls=[scale_out.worker_metrics_url],
    )
    try:
        yield harness
    finally:
        await harness.close()


@pytest.fixture(params=["embedded", "scale-out"])
def starling(request: pytest.FixtureRequest) -> Harness:
    """The module's running Starling in each configuration of ``conftest.starling``.
    Tests of what the HTTP layer alone decides run embedded only (:data:`HTTP_LAYER`)."""
    harness: Harness = request.getfixturevalue(f"{request.param.replace('-', '_')}_harness")
    return harness


HTTP_LAYER = pytest.mark.parametrize("starling", ["embedded"], indirect=True)
"""Parsing, authentication and routing: the same code whatever the backends."""


def name() -> str:
    return f"bad{next(_names)}"


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> str:
    """Check the API's error object; return its code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert isinstance(error, dict)
    assert isinstance(error.get("code"), str), error
    assert SNAKE_CASE.match(error["code"]), error
    assert isinstance(error.get("message"), str), error
    assert error["message"].strip(), error
    if code is not None:
        assert error["code"] == code, error
    return str(error["code"])


def cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def user_json(starling: Harness, account: Account) -> dict[str, Any]:
    r = await starling.client.get(f"/api/starling/v1/users/{account.id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def user_tweet_ids(starling: Harness, account: Account) -> list[str]:
    r = await starling.client.get(
        f"/api/starling/v1/users/{account.id}/tweets", params={"limit": 200}
    )
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()["tweets"]]


async def snapshot(starling: Harness, *accounts: Account) -> list[Any]:
    """What a user can see of themselves: profile, counts and their tweets."""
    return [(await user_json(starling, a), await user_tweet_ids(starling, a)) for a in accounts]


async def post_raw(
    starling: Harness, account: Account, body: bytes, *, path: str = "/api/starling/v1/tweets"
) -> httpx.Response:
    return await starling.client.post(
        path, content=body, headers={**account.headers, "content-type": "application/json"}
    )


# --- tweet text ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "x" * 281,
        "😀" * 281,
        "q\u0301" * 141,  # no precomposed form: 282 code points even after NFC
        FAMILY * 56 + "!",
        "e\u0301" * 281,  # 281 after NFC
        "x" * 10_000,
    ],
    ids=["ascii", "emoji", "combining", "zwj", "nfc_281", "huge"],
)
async def test_text_over_280_code_points_is_rejected_and_nothing_is_stored(
    starling: Harness, text: str
) -> None:
    alice = await starling.register(name())
    await starling.post(alice, "already here")
    before = await snapshot(starling, alice)
    r = await starling.client.post(
        "/api/starling/v1/tweets", json={"text": text}, headers=alice.headers
    )
    assert_error(r, 422, "text_too_long")
    assert await snapshot(starling, alice) == before
    assert (await user_json(starling, alice))["tweets_count"] == 1


@pytest.mark.parametrize(
    "text",
    [
        "x" * 280,
        "😀" * 280,
        "e\u0301" * 280,  # 560 code points as sent, 280 after NFC
        "e\u0301" * 141,  # 282 as sent, 141 after NFC
        FAMILY * 56,
        "q\u0301" * 140,
        "\u1100\u1161" * 280,  # Hangul jamo pairs compose to 가
    ],
    ids=["ascii", "emoji", "nfc_280", "nfc_141", "zwj", "combining", "hangul"],
)
async def test_text_of_at_most_280_code_points_after_nfc_is_accepted(
    starling: Harness, text: str
) -> None:
    alice = await starling.register(name())
    r = await starling.client.post(
        "/api/starling/v1/tweets", json={"text": text}, headers=alice.headers
    )
    assert r.status_code == 201, r.text
    stored = r.json()["text"]
    assert stored == unicodedata.normalize("NFC", text)
    assert len(stored) <= 280
    assert (await user_json(starling, alice))["tweets_count"] == 1
    assert await user_tweet_ids(starling, alice) == [r.json()["id"]]


@pytest.mark.parametrize("text", ["", " ", "\n\t \r\n", "\u3000", "\u00a0\u2003"])
async def test_empty_or_white_space_text_is_rejected(starling: Harness, text: str) -> None:
    alice = await starling.register(name())
    await starling.post(alice, "first")
    before = await snapshot(starling, alice)
    r = await starling.client.post(
        "/api/starling/v1/tweets", json={"text": text}, headers=alice.headers
    )
    assert_error(r, 422, "text_empty")
    assert await snapshot(starling, alice) == before


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "nul \\u0000 inside"}',
        b'{"text": "bell \\u0007 and escape \\u001b"}',
        b'{"text": "lone surrogate \\ud800"}',
        b'{"text": "bidi \\u202e override"}',
    ],
    ids=["nul", "controls", "lone_surrogate", "bidi"],
)
async def test_odd_code_points_are_stored_as_sent_or_refused_never_a_500(
    starling: Harness, body: bytes
) -> None:
    alice = await starling.register(name())
    before = await snapshot(starling, alice)
    r = await post_raw(starling, alice, body)
    if r.status_code == 201:
        sent = json.loads(body)["text"]
        assert r.json()["text"] == sent
        read = await starling.client.get(f"/api/starling/v1/tweets/{r.json()['id']}")
        assert read.json()["text"] == sent
        assert (await user_json(starling, alice))["tweets_count"] == 1
    else:
        assert r.status_code in (400, 422), r.text
        assert_error(r, r.status_code)
        assert await snapshot(starling, alice) == before


# --- malformed and mis-shaped bodies ---------------------------------------------------
BODY_ENDPOINTS = [
    ("POST", "/api/starling/v1/tweets"),
    ("PATCH", "/api/starling/v1/users/me"),
    ("POST", "/api/starling/v1/users"),
    ("POST", "/api/starling/v1/auth/token"),
]


@HTTP_LAYER
@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"text": "hi"',
        b'{"text": "hi"} trailing',
        b"{'text': 'hi'}",
        b"",
        b'{"text": "\xff\xfe"}',  # not UTF-8
    ],
    ids=["garbage", "truncated", "trailing", "single_quotes", "empty", "invalid_utf8"],
)
async def test_malformed_json_is_a_400(
    starling: Harness, method: str, path: str, body: bytes
) -> None:
    alice = await starling.register(name())
    before = await snapshot(starling, alice)
    r = await starling.client.request(
        method, path, content=body, headers={**alice.headers, "content-type": "application/json"}
    )
    assert_error(r, 400, "malformed_json")
    assert await snapshot(starling, alice) == before


@HTTP_LAYER
@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
async def test_absurdly_nested_json_is_a_client_error(
    starling: Harness, method: str, path: str
) -> None:
    alice = await starling.register(name())
    body = b"[" * 100_000 + b"]" * 100_000
    r = await starling.client.request(
        method, path, content=body, headers={**alice.headers, "content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500, r.text
    assert_error(r, r.status_code)


@HTTP_LAYER
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/starling/v1/tweets", {"text": 5}),
        ("POST", "/api/starling/v1/tweets", {"text": None}),
        ("POST", "/api/starling/v1/tweets", {"text": ["hi"]}),
        ("POST", "/api/starling/v1/tweets", {}),
        ("POST", "/api/starling/v1/tweets", {"text": "hi", "unknown": 1}),
        ("POST", "/api/starling/v1/tweets", {"text": "hi", "reply_to_tweet_id": 12}),
        ("POST", "/api/starling/v1/tweets", {"text": "hi", "media_ids": "m1"}),
        ("POST", "/api/starling/v1/tweets", ["text", "hi"]),
        ("POST", "/api/starling/v1/tweets", "hi"),
        ("POST", "/api/starling/v1/tweets", 42),
        ("PATCH", "/api/starling/v1/users/me", {"bio": 7}),
        ("PATCH", "/api/starling/v1/users/me", {"display_name": "x", "verified": True}),
        ("PATCH", "/api/starling/v1/users/me", []),
        (
            "POST",
            "/api/starling/v1/users",
            {"username": 1, "email": "a@b.co", "password": PASSWORD},
        ),
        ("POST", "/api/starling/v1/users", {"username": "zed", "email": "a@b.co"}),
        (
            "POST",
            "/api/starling/v1/users",
            {"username": "zed", "email": "a@b.co", "password": PASSWORD, "admin": True},
        ),
        ("POST", "/api/starling/v1/auth/token", {"username": "zed"}),
        ("POST", "/api/starling/v1/auth/token", {"username": "zed", "password": 12345678}),
    ],
)
async def test_a_json_body_of_the_wrong_shape_is_a_validation_error(
    starling: Harness, method: str, path: str, body: Any
) -> None:
    alice = await starling.register(name())
    await starling.post(alice, "kept")
    before = await snapshot(starling, alice)
    r = await starling.client.request(method, path, json=body, headers=alice.headers)
    assert_error(r, 422, "validation_error")
    assert await snapshot(starling, alice) == before
    assert (await starling.client.get("/api/starling/v1/users/by/username/zed")).status_code == 404


@pytest.mark.parametrize(
    ("field", "value", "status", "code"),
    [
        ("reply_to_tweet_id", "abc", 422, "invalid_id"),
        ("reply_to_tweet_id", "", 422, "invalid_id"),
        ("reply_to_tweet_id", "-5", 422, "invalid_id"),
        ("quote_tweet_id", "99999999999999999999", 422, "invalid_id"),
        ("reply_to_tweet_id", "12345", 404, "tweet_not_found"),
        ("quote_tweet_id", "12345", 404, "tweet_not_found"),
    ],
)
async def test_a_reply_or_quote_of_a_bad_or_unknown_id_is_rejected(
    starling: Harness, field: str, value: str, status: int, code: str
) -> None:
    alice = await starling.register(name())
    before = await snapshot(starling, alice)
    r = await starling.client.post(
        "/api/starling/v1/tweets", json={"text": "re", field: value}, headers=alice.headers
    )
    assert_error(r, status, code)
    assert await snapshot(starling, alice) == before


# --- authentication --------------------------------------------------------------------
def _expired_token(secret: str, user_id: int) -> str:
    past = int(time.time()) - 3600
    claims = {"sub": str(user_id), "iat": past - 60, "exp": past}
    return jwt.encode(claims, secret, algorithm="HS256")


def _unsigned_token(user_id: int) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    exp = int(time.time()) + 3600
    payload = f'{{"sub":"{user_id}","exp":{exp}}}'.encode()
    return f"{header}.{base64.urlsafe_b64encode(payload).rstrip(b'=').decode()}."


async def _bad_authorizations(starling: Harness, victim: Account) -> dict[str, str | None]:
    secret = await starling.core.store.get_meta(SECRET_META_KEY)
    assert secret is not None
    forged = jwt.encode({"sub": str(victim.id), "exp": int(time.time()) + 3600}, "x" * 32)
    tampered = victim.token[:-4] + ("AAAA" if not victim.token.endswith("AAAA") else "BBBB")
    return {
        "missing": None,
        "garbage": "Bearer garbage",
        "empty_bearer": "Bearer ",
        "bearer_only": "Bearer",
        "basic_scheme": "Basic "
        + base64.b64encode(f"{victim.username}:{PASSWORD}".encode()).decode(),
        "token_scheme": f"Token {victim.token}",
        "bare_token": victim.token,
        "tampered_signature": f"Bearer {tampered}",
        "other_secret": f"Bearer {forged}",
        "expired": f"Bearer {_expired_token(secret, victim.id)}",
        "alg_none": f"Bearer {_unsigned_token(victim.id)}",
    }


BAD_AUTH_KINDS = [
    "missing",
    "garbage",
    "empty_bearer",
    "bearer_only",
    "basic_scheme",
    "token_scheme",
    "bare_token",
    "tampered_signature",
    "other_secret",
    "expired",
    "alg_none",
]


@HTTP_LAYER
@pytest.mark.parametrize("kind", BAD_AUTH_KINDS)
async def test_every_auth_endpoint_answers_401_without_a_valid_token(
    starling: Harness, kind: str
) -> None:
    victim, other = await starling.register(name()), await starling.register(name())
    await starling.follow(victim, other)
    tweet_id = await starling.post(victim, "mine")
    before = await snapshot(starling, victim, other)
    authorization = (await _bad_authorizations(starling, victim))[kind]
    headers = {} if authorization is None else {"Authorization": authorization}
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/api/starling/v1/tweets", {"text": "not by me"}),
        ("DELETE", f"/api/starling/v1/tweets/{tweet_id}", None),
        ("POST", f"/api/starling/v1/users/{other.id}/follow", None),
        ("DELETE", f"/api/starling/v1/users/{other.id}/follow", None),
        ("GET", "/api/starling/v1/timeline/home", None),
        ("PATCH", "/api/starling/v1/users/me", {"display_name": "Pwned", "bio": "pwned"}),
        ("GET", "/api/starling/v1/users/me", None),
    ]
    for method, path, body in calls:
        r = await starling.client.request(method, path, json=body, headers=headers)
        assert_error(r, 401, "unauthorized")
        assert r.headers.get("www-authenticate", "").lower().startswith("bearer")
    assert await snapshot(starling, victim, other) == before
    assert (await starling.client.get(f"/api/starling/v1/tweets/{tweet_id}")).status_code == 200


@HTTP_LAYER
@pytest.mark.parametrize("kind", ["garbage", "expired", "other_secret"])
async def test_a_bad_token_on_a_public_endpoint_is_still_a_401(
    starling: Harness, kind: str
) -> None:
    alice = await starling.register(name())
    tweet_id = await starling.post(alice, "public")
    authorization = (await _bad_authorizations(starling, alice))[kind]
    assert authorization is not None
    for path in (
        f"/api/starling/v1/tweets/{tweet_id}",
        f"/api/starling/v1/users/{alice.id}/tweets",
    ):
        r = await starling.client.get(path, headers={"Authorization": authorization})
        assert_error(r, 401, "unauthorized")
        assert (await starling.client.get(path)).status_code == 200


# --- unknown ids -----------------------------------------------------------------------
UNKNOWN_ID = "1234567890123"
NON_NUMERIC_IDS = [
    "abc",
    "-1",
    "+1",
    "1.0",
    "1e3",
    "0x1f",
    "99999999999999999999",  # above 2**63 - 1
    "9223372036854775808",  # 2**63
    "%EF%BC%99",  # fullwidth digit nine
    "%D9%A1%D9%A2",  # Arabic-Indic digits
    "%201",  # leading space
    "null",
]


@pytest.mark.parametrize("bad_id", [UNKNOWN_ID, "0", "9223372036854775807", *NON_NUMERIC_IDS])
async def test_unknown_or_non_numeric_ids_in_paths_are_404(starling: Harness, bad_id: str) -> None:
    alice = await starling.register(name())
    before = await snapshot(starling, alice)
    auth = alice.headers
    calls: list[tuple[str, str, dict[str, str] | None, str]] = [
        ("GET", f"/api/starling/v1/users/{bad_id}", None, "user_not_found"),
        ("GET", f"/api/starling/v1/users/{bad_id}/tweets", None, "user_not_found"),
        ("GET", f"/api/starling/v1/users/{bad_id}/followers", None, "user_not_found"),
        ("GET", f"/api/starling/v1/users/{bad_id}/following", None, "user_not_found"),
        ("POST", f"/api/starling/v1/users/{bad_id}/follow", auth, "user_not_found"),
        ("DELETE", f"/api/starling/v1/users/{bad_id}/follow", auth, "user_not_found"),
        ("GET", f"/api/starling/v1/tweets/{bad_id}", None, "tweet_not_found"),
        ("DELETE", f"/api/starling/v1/tweets/{bad_id}", auth, "tweet_not_found"),
    ]
    for method, path, headers, code in calls:
        r = await starling.client.request(method, path, headers=headers)
        assert_error(r, 404, code)
    assert await snapshot(starling, alice) == before


@HTTP_LAYER
@pytest.mark.parametrize("username", ["nobody_here", "x" * 16, "a b", "%F0%9F%98%80", "me"])
async def test_an_unknown_username_is_404(starling: Harness, username: str) -> None:
    r = await starling.client.get(f"/api/starling/v1/users/by/username/{username}")
    assert_error(r, 404, "user_not_found")


async def test_a_deleted_tweet_is_404_to_read_and_to_delete_again(starling: Harness) -> None:
    alice = await starling.register(name())
    kept = await starling.post(alice, "kept")
    doomed = await starling.post(alice, "doomed")
    await starling.delete(alice, doomed)
    assert_error(
        await starling.client.get(f"/api/starling/v1/tweets/{doomed}"), 404, "tweet_not_found"
    )
    r = await starling.client.delete(f"/api/starling/v1/tweets/{doomed}", headers=alice.headers)
    assert_error(r, 404, "tweet_not_found")
    assert (await starling.client.get(f"/api/starling/v1/tweets/{kept}")).status_code == 200
    assert (await user_json(starling, alice))["tweets_count"] == 1
    assert await user_tweet_ids(starling, alice) == [str(kept)]


# --- the graph -------------------------------------------------------------------------
async def test_following_or_unfollowing_yourself_is_rejected(starling: Harness) -> None:
    alice, bob = await starling.register(name()), await starling.register(name())
    await starling.follow(alice, bob)
    before = await snapshot(starling, alice, bob)
    for method in ("POST", "DELETE"):
        r = await starling.client.request(
            method, f"/api/starling/v1/users/{alice.id}/follow", headers=alice.headers
        )
        assert_error(r, 422, "cannot_follow_self")
    assert await snapshot(starling, alice, bob) == before
    me = await user_json(starling, alice)
    assert (me["followers_count"], me["following_count"]) == (0, 1)
    r = await starling.client.get(f"/api/starling/v1/users/{alice.id}/followers")
    assert r.json()["users"] == []


async def test_deleting_another_users_tweet_is_forbidden_and_the_tweet_stays(
    starling: Harness,
) -> None:
    alice, mallory = await starling.register(name()), await starling.register(name())
    await starling.follow(mallory, alice)
    tweet_id = await starling.post(alice, "mine, not yours")
    before = await snapshot(starling, alice, mallory)
    r = await starling.client.delete(f"/api/starling/v1/tweets/{tweet_id}", headers=mallory.headers)
    assert_error(r, 403, "forbidden")
    read = await starling.client.get(f"/api/starling/v1/tweets/{tweet_id}")
    assert read.status_code == 200
    assert read.json()["text"] == "mine, not yours"
    assert await snapshot(starling, alice, mallory) == before


# --- accounts --------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["same", "lower", "upper", "mixed"])
async def test_a_taken_username_is_409_in_any_case_and_the_owner_keeps_it(
    starling: Harness, variant: str
) -> None:
    username = "Taken" + name()
    owner = await starling.register(username)
    taken = {
        "same": username,
        "lower": username.lower(),
        "upper": username.upper(),
        "mixed": username.swapcase(),
    }[variant]
    r = await starling.client.post(
        "/api/starling/v1/users",
        json={"username": taken, "email": "thief@example.org", "password": "another secret"},
    )
    assert_error(r, 409, "username_taken")
    found = await starling.client.get(f"/api/starling/v1/users/by/username/{taken}")
    assert found.json()["id"] == str(owner.id)
    assert found.json()["username"] == username
    ok = await starling.client.post(
        "/api/starling/v1/auth/token", json={"username": username, "password": PASSWORD}
    )
    assert ok.status_code == 200
    thief = await starling.client.post(
        "/api/starling/v1/auth/token", json={"username": taken, "password": "another secret"}
    )
    assert_error(thief, 401, "unauthorized")


@HTTP_LAYER
@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("username", "", "invalid_username"),
        ("username", "x" * 16, "invalid_username"),
        ("username", "has space", "invalid_username"),
        ("username", "héllo", "invalid_username"),
        ("username", "dash-name", "invalid_username"),
        ("username", "emoji😀", "invalid_username"),
        ("username", "newline\n", "invalid_username"),
        ("email", "", "invalid_email"),
        ("email", "no-at-sign", "invalid_email"),
        ("email", "a@b", "invalid_email"),
        ("email", "a@@b.co", "invalid_email"),
        ("email", "a b@c.co", "invalid_email"),
        ("email", "x" * 250 + "@b.co", "invalid_email"),
        ("email", "a@b.co\n", "invalid_email"),
        ("password", "", "invalid_password"),
        ("password", "seven77", "invalid_password"),
        ("password", "x" * 257, "invalid_password"),
        ("display_name", "x" * 51, "invalid_display_name"),
    ],
)
async def test_registration_with_a_bad_field_is_422_and_creates_no_account(
    starling: Harness, field: str, value: str, code: str
) -> None:
    username = name()
    body = {"username": username, "email": f"{username}@example.org", "password": PASSWORD}
    body[field] = value
    r = await starling.client.post("/api/starling/v1/users", json=body)
    assert_error(r, 422, code)
    if body["username"]:
        path = f"/api/starling/v1/users/by/username/{quote(body['username'], safe='')}"
        lookup = await starling.client.get(path)
        assert_error(lookup, 404, "user_not_found")
    login = await starling.client.post(
        "/api/starling/v1/auth/token",
        json={"username": body["username"], "password": body["password"]},
    )
    assert_error(login, 401, "unauthorized")


@HTTP_LAYER
async def test_the_longest_valid_username_and_password_are_accepted(starling: Harness) -> None:
    username = f"L{next(_names):014d}"
    assert len(username) == 15
    r = await starling.client.post(
        "/api/starling/v1/users",
        json={"username": username, "email": "long@example.org", "password": "p" * 256},
    )
    assert r.status_code == 201, r.text
    login = await starling.client.post(
        "/api/starling/v1/auth/token", json={"username": username, "password": "p" * 256}
    )
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("owner", "wrong password"),
        ("owner", PASSWORD.upper()),
        ("owner", ""),
        ("nobody_at_all", PASSWORD),
        ("", ""),
    ],
)
async def test_wrong_credentials_are_401(starling: Harness, username: str, password: str) -> None:
    owner = await starling.register(name())
    actual = owner.username if username == "owner" else username
    r = await starling.client.post(
        "/api/starling/v1/auth/token", json={"username": actual, "password": password}
    )
    assert_error(r, 401, "unauthorized")


@pytest.mark.parametrize("password", ["", "anything at all", "$argon2id$v=19$m=8,t=1,p=1$"])
async def test_an_imported_user_without_password_cannot_log_in(
    starling: Harness, password: str
) -> None:
    username = name()
    imported = await starling.core.store.create_user(
        NewUser(
            id=_import_ids.next_id(),
            username=username,
            display_name="Imported",
            email=None,
            password_hash=None,
            created_at_ms=starling.clock.now_ms(),
        )
    )
    r = await starling.client.post(
        "/api/starling/v1/auth/token", json={"username": username, "password": password}
    )
    assert_error(r, 401, "unauthorized")
    # The account exists and is public; it just cannot log in.
    found = await starling.client.get(f"/api/starling/v1/users/{imported.id}")
    assert found.json()["username"] == username


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"bio": "x" * 161}, "invalid_bio"),
        ({"display_name": ""}, "invalid_display_name"),
        ({"display_name": "   "}, "invalid_display_name"),
        ({"display_name": "x" * 51}, "invalid_display_name"),
        ({"display_name": "fine", "bio": "x" * 161}, "invalid_bio"),
    ],
)
async def test_a_bad_profile_edit_is_422_and_changes_nothing(
    starling: Harness, body: dict[str, str], code: str
) -> None:
    alice = await starling.register(name())
    ok = await starling.client.patch(
        "/api/starling/v1/users/me",
        json={"display_name": "Alice", "bio": "hello"},
        headers=alice.headers,
    )
    assert ok.status_code == 200
    before = await snapshot(starling, alice)
    r = await starling.client.patch("/api/starling/v1/users/me", json=body, headers=alice.headers)
    assert_error(r, 422, code)
    assert await snapshot(starling, alice) == before


# --- paging parameters -----------------------------------------------------------------
def _list_paths(account: Account) -> list[str]:
    return [
        "/api/starling/v1/timeline/home",
        f"/api/starling/v1/users/{account.id}/tweets",
        f"/api/starling/v1/users/{account.id}/followers",
        f"/api/starling/v1/users/{account.id}/following",
    ]


@HTTP_LAYER
@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "", "1.5", "2e1", "1" * 5000])
async def test_a_limit_out_of_range_is_422(starling: Harness, limit: str) -> None:
    alice = await starling.register(name())
    for path in _list_paths(alice):
        r = await starling.client.get(path, params={"limit": limit}, headers=alice.headers)
        assert_error(r, 422)


@HTTP_LAYER
@pytest.mark.parametrize("limit", ["1", "200"])
async def test_limits_at_the_bounds_are_accepted(starling: Harness, limit: str) -> None:
    alice = await starling.register(name())
    for path in _list_paths(alice):
        r = await starling.client.get(path, params={"limit": limit}, headers=alice.headers)
        assert r.status_code == 200, (path, r.text)


@HTTP_LAYER
@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "%%%",
        "AAAA",  # valid base64, 3 bytes
        cursor_of(b"\x01" * 7),
        cursor_of(b"\x01" * 9),
        cursor_of(b"\x01" * 16),
        cursor_of(struct.pack(">q", 0)),
        cursor_of(struct.pack(">q", -5)),
        "A" * 10_000,
        "🙂",
    ],
    ids=[
        "bang",
        "percent",
        "3_bytes",
        "7_bytes",
        "9_bytes",
        "16_bytes",
        "zero",
        "negative",
        "huge",
        "emoji",
    ],
)
async def test_an_invalid_cursor_is_422(starling: Harness, cursor: str) -> None:
    alice = await starling.register(name())
    for path in _list_paths(alice):
        r = await starling.client.get(path, params={"cursor": cursor}, headers=alice.headers)
        assert_error(r, 422, "invalid_cursor")


async def test_a_cursor_the_service_issued_still_works(starling: Harness) -> None:
    alice = await starling.register(name())
    ids = [await starling.post(alice, f"t{i}") for i in range(3)]
    first = await starling.client.get(
        f"/api/starling/v1/users/{alice.id}/tweets", params={"limit": 2}, headers=alice.headers
    )
    page = first.json()
    assert [int(t["id"]) for t in page["tweets"]] == ids[:0:-1]
    nxt = await starling.client.get(
        f"/api/starling/v1/users/{alice.id}/tweets",
        params={"limit": 2, "cursor": page["next_cursor"]},
    )
    assert [int(t["id"]) for t in nxt.json()["tweets"]] == ids[:1]


# --- routing ---------------------------------------------------------------------------
@HTTP_LAYER
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("PUT", "/api/starling/v1/tweets/1", 405),
        ("PATCH", "/api/starling/v1/tweets/1", 405),
        # DELETE /users/me deletes the account now: PUT is the method it does not have.
        ("PUT", "/api/starling/v1/users/me", 405),
        ("POST", "/api/starling/v1/timeline/home", 405),
        ("POST", "/healthz", 405),
        ("GET", "/api/starling/v1/nothing", 404),
        ("GET", "/api/v2/tweets", 404),
        ("GET", "/nothing/at/all", 404),
        ("POST", "/api/starling/v1/tweets/1/unknown", 404),
    ],
)
async def test_unknown_routes_and_methods_answer_with_the_error_object(
    starling: Harness, method: str, path: str, status: int
) -> None:
    alice = await starling.register(name())
    r = await starling.client.request(method, path, headers=alice.headers)
    assert_error(r, status)
