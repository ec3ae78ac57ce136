"""Schemathesis hooks of the OpenAPI conformance run (``SCHEMATHESIS_HOOKS=fuzz_hooks``).

Authenticated operations are exercised with a real bearer token: one account, registered
on first use, for every operation that leaves its token valid; a fresh account per test
case for the three that end a token or an account (logout, password change, account
deletion), so that the fuzzer cannot lock itself out half-way through the run.

The server's base URL comes from ``STARLING_FUZZ_URL`` (set by
``tests/integration/test_openapi_conformance.py``).
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from typing import Any

import httpx
import schemathesis

API = "/api/starling/v1"
PASSWORD = "correct horse battery"

ACCOUNT_ENDING = {
    ("POST", f"{API}/auth/logout"),
    ("POST", f"{API}/users/me/password"),
    ("DELETE", f"{API}/users/me"),
}
"""Operations after which the presented token (or its account) is gone."""

_lock = threading.Lock()
_shared: list[str] = []
_names = itertools.count(1)
_run = uuid.uuid4().hex[:6]


def register(base_url: str) -> str:
    """A new account's access token (the username is unique to this run)."""
    name = f"fz{_run}{next(_names)}"
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        created = client.post(
            f"{API}/users",
            json={"username": name, "email": f"{name}@example.org", "password": PASSWORD},
        )
        created.raise_for_status()
        token = client.post(f"{API}/auth/token", json={"username": name, "password": PASSWORD})
        token.raise_for_status()
        access_token: str = token.json()["access_token"]
        return access_token


def _base_url() -> str:
    return os.environ["STARLING_FUZZ_URL"]


@schemathesis.auth(refresh_interval=None)
class StarlingBearer:
    """A bearer token per test case: the shared account's, or a throwaway one's."""

    def get(self, case: Any, context: Any) -> str:
        if (case.method.upper(), case.operation.path) in ACCOUNT_ENDING:
            return register(_base_url())
        with _lock:
            if not _shared:
                _shared.append(register(_base_url()))
            return _shared[0]

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
