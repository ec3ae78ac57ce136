"""Tweet text rules: NFC, the 280 code point limit, #hashtags and @mentions."""

from __future__ import annotations

import unicodedata

import pytest

from starling.domain.errors import TextEmpty, TextTooLong
from starling.domain.text import (
    MAX_TWEET_LENGTH,
    USERNAME_PATTERN,
    hashtags,
    mentions,
    normalize_tweet_text,
)

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧: 5 code points, 1 glyph


@pytest.mark.parametrize(
    "text",
    [
        "x" * 280,
        "😀" * 280,  # astral code points count once each (not as UTF-16 pairs)
        "e\u0301" * 280,  # 560 code points, 280 after NFC (é)
        "\u1100\u1161" * 280,  # Hangul jamo: compose to 가 under NFC
        FAMILY * 56,  # 280 code points of ZWJ sequences
        "q\u0301" * 140,  # no precomposed form: 2 code points each after NFC too
        "ñ" * 100 + "😀" * 100 + "a" * 80,
    ],
)
def test_text_of_280_code_points_after_nfc_is_accepted(text: str) -> None:
    normalized = normalize_tweet_text(text)
    assert normalized == unicodedata.normalize("NFC", text)
    assert len(normalized) == MAX_TWEET_LENGTH == 280


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("x" * 281, 281),
        ("😀" * 281, 281),
        ("q\u0301" * 141, 282),
        (FAMILY * 56 + "!", 281),
        ("e\u0301" * 281, 281),
    ],
)
def test_text_over_280_code_points_after_nfc_is_too_long(text: str, length: int) -> None:
    with pytest.raises(TextTooLong) as raised:
        normalize_tweet_text(text)
    assert raised.value.code == "text_too_long"
    assert str(length) in raised.value.message


def test_decomposed_text_is_stored_composed() -> None:
    assert normalize_tweet_text("Cafe\u0301 cre\u0300me") == "Café crème"
    # 141 decomposed é are 282 code points before NFC but 141 after: accepted.
    assert normalize_tweet_text("e\u0301" * 141) == "é" * 141


@pytest.mark.parametrize("text", ["", " ", "\n\t  \r\n", "\u3000", "\u00a0\u2003"])
def test_empty_or_white_space_text_is_rejected(text: str) -> None:
    with pytest.raises(TextEmpty) as raised:
        normalize_tweet_text(text)
    assert raised.value.code == "text_empty"


def test_text_keeps_its_surrounding_white_space_and_content() -> None:
    assert normalize_tweet_text(" hi ") == " hi "
    assert normalize_tweet_text(".") == "."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#terremoto en #Guatemala", ["terremoto", "Guatemala"]),
        ("Vimos un #ñandú", ["ñandú"]),
        ("#Straße #naïve #café", ["Straße", "naïve", "café"]),
        ("#日本語 と ＃東京", ["日本語", "東京"]),
        ("#مرحبا", ["مرحبا"]),
        ("#한국어", ["한국어"]),
        ("Sandy in #2012Sandy", ["2012Sandy"]),
        ("#hello_world!", ["hello_world"]),
        ("end of sentence #tag.", ["tag"]),
    ],
)
def test_unicode_hashtags_are_extracted_without_the_hash(text: str, expected: list[str]) -> None:
    assert hashtags(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Devanagari and Thai words contain combining vowel signs and viramas (Unicode
        # category M); Twitter's hashtag rule includes \p{M}, so the whole word is the tag.
        ("#हिन्दी दिवस", ["हिन्दी"]),
        ("#สวัสดี ครับ", ["สวัสดี"]),
    ],
)
def test_hashtags_keep_their_combining_marks(text: str, expected: list[str]) -> None:
    assert hashtags(normalize_tweet_text(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Floods of #2013",  # digits only: not a hashtag, as on Twitter
        "#_",
        "a#b",  # glued to a word
        "it&#39;s",  # an HTML entity
        "## double",
        "# spaced",
    ],
)
def test_non_hashtags_are_ignored(text: str) -> None:
    assert hashtags(text) == []


def test_hashtags_are_deduplicated_case_insensitively_keeping_first_spelling() -> None:
    assert hashtags("#Sandy #sandy #SANDY #NYC #sandy #nyc") == ["Sandy", "NYC"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@jack hi", ["jack"]),
        ("RT @user_1: look", ["user_1"]),
        ("(@paren) and .@dot", ["paren", "dot"]),
        ("@a23456789012345 fifteen", ["a23456789012345"]),
        ("＠fullwidth", ["fullwidth"]),
        ("@one @two @three", ["one", "two", "three"]),
    ],
)
def test_mentions_are_extracted_without_the_at(text: str, expected: list[str]) -> None:
    assert mentions(text) == expected
    assert all(USERNAME_PATTERN.match(m) for m in expected)


@pytest.mark.parametrize(
    "text",
    [
        "@a234567890123456 is sixteen characters",
        "mail foo@example.com or bar_baz@example.org",
        "@bar@baz",
        "@ alone",
        "@ñandu",
    ],
)
def test_non_mentions_are_ignored(text: str) -> None:
    assert mentions(text) == []


def test_mentions_are_deduplicated_case_insensitively_keeping_first_spelling() -> None:
    assert mentions("@Jack @jack @JACK @ev") == ["Jack", "ev"]


@pytest.mark.parametrize("username", ["a", "A_b_9", "x" * 15, "_"])
def test_usernames_of_1_to_15_ascii_word_characters_are_valid(username: str) -> None:
    assert USERNAME_PATTERN.match(username)


@pytest.mark.parametrize("username", ["", "x" * 16, "has space", "héllo", "dash-name", "a\n"])
def test_other_usernames_are_invalid(username: str) -> None:
    assert not USERNAME_PATTERN.match(username)
