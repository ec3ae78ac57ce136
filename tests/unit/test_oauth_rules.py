"""OAuth rules of the Mastodon-compatible API: scopes and PKCE (domain.oauth)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from starling.domain.errors import InvalidInput
from starling.domain.oauth import grants, parse_scopes, pkce_matches, within


def test_a_top_level_scope_grants_its_granular_scopes() -> None:
    assert grants(["read"], "read:statuses")
    assert grants(["write"], "write:media")
    assert not grants(["read"], "write:statuses")
    assert not grants(["read:accounts"], "read:statuses")
    assert grants(["write:statuses"], "write:statuses")


def test_follow_grants_the_follow_block_and_mute_scopes_only() -> None:
    for scope in ("read:follows", "write:follows", "write:blocks", "read:mutes"):
        assert grants(["follow"], scope)
    assert not grants(["follow"], "read:statuses")


def test_scopes_parse_in_order_without_repeats_and_refuse_unknown_ones() -> None:
    assert parse_scopes("read write read") == ("read", "write")
    assert parse_scopes("read+write:statuses") == ("read", "write:statuses")
    assert parse_scopes("") == ("read",)
    with pytest.raises(InvalidInput):
        parse_scopes("read admin:read")
    assert within(("read:statuses", "write:media"), ("read", "write"))
    assert not within(("read", "write"), ("read",))


def test_pkce_s256_and_plain() -> None:
    verifier = "x" * 43
    s256 = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert pkce_matches(verifier, s256.decode(), "S256")
    assert not pkce_matches("y" * 43, s256.decode(), "S256")
    assert not pkce_matches(None, s256.decode(), "S256")
    assert pkce_matches(verifier, verifier, "plain")
    assert pkce_matches(None, None, None)  # no challenge, no verifier needed
