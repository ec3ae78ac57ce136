"""A tweet's text as a Mastodon status's ``content``: HTML.

Mastodon's ``content`` is sanitized HTML (docs.joinmastodon.org/spec/activitypub/#sanitization):
paragraphs in ``<p>``, line breaks as ``<br />``, mentions as
``<span class="h-card"><a href="..." class="u-url mention">@<span>name</span></a></span>``,
hashtags as ``<a href="..." class="mention hashtag" rel="tag">#<span>tag</span></a>``,
links as ``<a href="..." rel="nofollow noopener" target="_blank">``; everything else is
text, escaped. Mentions and hashtags are found by the same rules as Starling's own
(:mod:`starling.domain.text`), so a status links exactly what the tweet's ``mentions``
and ``hashtags`` list.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Final

from starling.domain.text import _is_tag_char

URL: Final = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
"""A link in a tweet's text: an http(s) URL up to white space or an HTML delimiter."""

_MENTION: Final = re.compile(r"(?<![\w@])[@＠]([A-Za-z0-9_]{1,15})(?![\w@])")
"""As :mod:`starling.domain.text`'s mention rule."""

_TRAILING: Final = ".,:;!?)]}'\""
"""Punctuation that ends a sentence rather than a URL (Twitter's linkifier drops it)."""


def _spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, kind)`` of the URLs, mentions and hashtags in ``text``, in order,
    not overlapping (a URL wins over what it contains)."""
    found: list[tuple[int, int, str]] = []
    for m in URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in _TRAILING:
            end -= 1
        found.append((m.start(), end, "url"))
    found.extend((m.start(), m.end(), "mention") for m in _MENTION.finditer(text))
    i, n = 0, len(text)
    while i < n:
        prev = text[i - 1] if i else ""
        if text[i] in "#＃" and not (prev and (_is_tag_char(prev) or prev in "&#＃")):
            j = i + 1
            while j < n and _is_tag_char(text[j]):
                j += 1
            if any(c.isalpha() for c in text[i + 1 : j]):
                found.append((i, j, "tag"))
            i = max(j, i + 1)
        else:
            i += 1
    found.sort(key=lambda s: (s[0], s[2] != "url"))
    kept: list[tuple[int, int, str]] = []
    for span in found:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def _line(
    text: str, *, mention_url: Callable[[str], str | None], tag_url: Callable[[str], str]
) -> str:
    out: list[str] = []
    last = 0
    for start, end, kind in _spans(text):
        out.append(html.escape(text[last:start], quote=False))
        piece = text[start:end]
        if kind == "url":
            href = html.escape(piece)
            out.append(
                f'<a href="{href}" rel="nofollow noopener" target="_blank">'
                f"{html.escape(piece, quote=False)}</a>"
            )
        elif kind == "mention":
            name = piece[1:]
            url = mention_url(name)
            if url is None:
                out.append(html.escape(piece, quote=False))
            else:
                out.append(
                    f'<span class="h-card"><a href="{html.escape(url)}" class="u-url mention">'
                    f"@<span>{html.escape(name, quote=False)}</span></a></span>"
                )
        else:
            tag = piece[1:]
            out.append(
                f'<a href="{html.escape(tag_url(tag))}" class="mention hashtag" rel="tag">'
                f"#<span>{html.escape(tag, quote=False)}</span></a>"
            )
        last = end
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


def to_html(text: str, *, mentioned: Mapping[str, str], tag_url: Callable[[str], str]) -> str:
    """``text`` as status HTML: paragraphs split at blank lines, ``<br />`` for single
    line breaks; ``mentioned`` maps lower-cased usernames to their profile URLs (a
    mention of nobody stays text); ``tag_url(tag)`` is a hashtag's link. An empty text
    (a retweet) is ``""``."""
    if not text:
        return ""

    def mention_url(name: str) -> str | None:
        return mentioned.get(name.lower())

    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(
        "<p>"
        + "<br />".join(
            _line(line, mention_url=mention_url, tag_url=tag_url) for line in p.split("\n")
        )
        + "</p>"
        for p in paragraphs
    )


def to_plain(html_text: str) -> str:
    """Text of a small HTML fragment (a profile note): tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))
