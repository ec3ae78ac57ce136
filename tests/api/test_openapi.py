"""The OpenAPI document says what the API answers (the full check against the running
server is tests/integration/test_openapi_conformance.py), and OPTIONS lists every
method of a resource."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import Harness
from starling.api import patterns
from starling.api.openapi import CODES
from starling.api.params import encode_cursor
from starling.domain.text import is_blank

API = "/api/starling/v1"
METHODS = ("get", "post", "put", "patch", "delete")


async def _document(starling: Harness) -> dict[str, Any]:
    r = await starling.client.get("/openapi.json")
    assert r.status_code == 200, r.text
    document: dict[str, Any] = r.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        if path.startswith(API + "/")
        for method, operation in item.items()
        if method in METHODS
    ]


def _codes(response: dict[str, Any]) -> list[str]:
    schema = response["content"]["application/json"]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Error"}
    codes: list[str] = schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
    return codes


@pytest.mark.embedded_only("reads the app's document, the same on both configurations")
async def test_every_error_answer_is_the_error_object_with_its_codes(starling: Harness) -> None:
    document = await _document(starling)
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"]["required"] == ["code", "message"]
    for method, path, operation in _operations(document):
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        assert errors, (method, path)
        for status, response in errors.items():
            codes = _codes(response)
            assert codes, (method, path, status)
            assert all(CODES[code] == int(status) for code in codes), (method, path, status)
        # Every route of the API is rate limited: a 429 with Retry-After.
        assert "rate_limited" in _codes(errors["429"]), (method, path)
        assert errors["429"]["headers"]["Retry-After"]["required"] is True


@pytest.mark.embedded_only("reads the app's document, the same on both configurations")
async def test_tokens_ids_limits_and_cursors_are_documented_as_parsed(starling: Harness) -> None:
    document = await _document(starling)
    operations = {(m, p): op for m, p, op in _operations(document)}

    home = operations["GET", f"{API}/timeline/home"]
    assert home["security"] == [{"bearerAuth": []}]
    assert "unauthorized" in _codes(home["responses"]["401"])
    assert home["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
    params = {p["name"]: p for p in home["parameters"]}
    assert params["limit"]["schema"]["oneOf"] == [{"type": "integer", "minimum": 1, "maximum": 200}]
    assert params["cursor"]["schema"]["oneOf"][0]["pattern"] == patterns.CURSOR
    assert "invalid_limit" in _codes(home["responses"]["422"])

    trends = {p["name"]: p for p in operations["GET", f"{API}/trends"]["parameters"]}
    assert trends["limit"]["schema"]["oneOf"] == [{"type": "integer", "minimum": 1, "maximum": 50}]

    read = operations["GET", f"{API}/tweets/{{tweet_id}}"]
    assert read["security"] == [{}, {"bearerAuth": []}]  # anonymous, or a token that verifies
    (tweet_id,) = read["parameters"]
    assert tweet_id["schema"]["pattern"] == patterns.ID
    assert _codes(read["responses"]["404"]) == ["tweet_not_found"]

    upload = operations["POST", f"{API}/media"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert set(upload["responses"]) >= {"201", "400", "401", "413", "415", "422", "429"}

    register = document["components"]["schemas"]["CreateUser"]
    assert register["additionalProperties"] is False
    assert register["properties"]["username"]["pattern"] == patterns.USERNAME


def test_the_id_pattern_is_exactly_the_signed_64_bit_decimal_strings() -> None:
    pattern = re.compile(patterns.ID)
    rng = random.Random(7)
    edges = ["0", "0" * 19, str(2**63 - 1), str(2**63), "9" * 19, "1" * 20, "", "-1", "+1"]
    samples = edges + [str(rng.randrange(10**19)).zfill(rng.randint(1, 19)) for _ in range(5000)]
    for raw in samples:
        expected = 0 < len(raw) <= 19 and raw.isdigit() and int(raw) <= 2**63 - 1
        assert bool(pattern.fullmatch(raw)) == expected, raw


def test_the_cursor_pattern_takes_every_issued_cursor_and_nothing_else() -> None:
    pattern = re.compile(patterns.CURSOR)
    rng = random.Random(7)
    for max_id in [1, 2**63 - 1, *(rng.randrange(1, 2**63) for _ in range(5000))]:
        cursor = encode_cursor(max_id)
        assert cursor is not None
        assert pattern.fullmatch(cursor), cursor
    for garbage in ["AAAAAAAAMDk=", "AAAAAAAAMD", "gAAAAAAAAAA", "AAAAAAAAAAB"]:
        assert not pattern.fullmatch(garbage), garbage


def test_the_tweet_text_pattern_is_the_blank_rule() -> None:
    pattern = re.compile(patterns.TWEET_TEXT)
    for point in patterns.INVISIBLE_PLANES:
        if 0xD800 <= point <= 0xDFFF or point == 0:
            continue
        assert (pattern.fullmatch(chr(point)) is None) == is_blank(chr(point)), hex(point)


def test_the_whitespace_class_is_pythons() -> None:
    pattern = re.compile(f"[{patterns.WHITESPACE}]")
    for point in range(0x110000):
        assert bool(pattern.fullmatch(chr(point))) == chr(point).isspace(), hex(point)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (f"{API}/tweets/1", "DELETE, GET, OPTIONS"),
        (f"{API}/users/me", "DELETE, GET, OPTIONS, PATCH"),
        (f"{API}/users/1/follow", "DELETE, OPTIONS, POST"),
        (f"{API}/tweets/1/bookmark", "DELETE, OPTIONS, POST"),
    ],
)
async def test_options_lists_every_method_of_the_resource(
    starling: Harness, path: str, allowed: str
) -> None:
    r = await starling.client.options(path)
    assert r.status_code == 204
    assert r.headers["allow"] == allowed
    # The same list as a 405 names.
    refused = await starling.client.put(path)
    assert refused.status_code == 405
    assert sorted(refused.headers["allow"].split(", ")) == allowed.split(", ")


def test_the_codes_table_is_the_contracts() -> None:
    contract = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    table = contract[contract.index("## Error codes") :]
    documented: dict[str, int] = {}
    for status, codes in re.findall(r"^\| (\d{3}) \| (.+) \|$", table, re.MULTILINE):
        for code in re.findall(r"`([a-z_]+)`", codes):
            documented[code] = int(status)
    assert documented == CODES
