"""The repository reads on its own: every relative link in its Markdown resolves to a
file inside it (anchors to a heading of the target), and no text points to documents
or a tracker that a clone does not have."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

MARKDOWN = sorted(
    [ROOT / "README.md", ROOT / "bench" / "README.md", *(ROOT / "docs").rglob("*.md")]
)
"""The documents whose links are checked."""

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)

OUTSIDE_REFERENCES = {
    "a tracker's issue number": re.compile(r"\bissues?[ -]#?\d+", re.IGNORECASE),
    "the sibling ../shared/ folder": re.compile(r"\.\./shared/"),
    "a design document outside the repository": re.compile(r"\b(?:DESIGN|STYLE|API)\.md\b"),
    "the README of the data folder": re.compile(r"\bshared/data/README\.md"),
}
"""Text that points out of the repository: the design now lives in docs/architecture.md,
the contract in docs/api.md, the reasons in docs/decisions/, the data in docs/data.md."""

SWEPT = sorted(
    [
        ROOT / "README.md",
        ROOT / "bench" / "README.md",
        *(ROOT / "docs").rglob("*.md"),
        *(ROOT / "src").rglob("*.py"),
        *(p for p in (ROOT / "tests").rglob("*.py") if p.name != Path(__file__).name),
    ]
)
"""Everything a reader of the repository reads: documents, code and tests (this file
spells the patterns out, so it is left out)."""


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and code spans, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def links(text: str) -> Iterator[str]:
    """Every link target of a Markdown ``text`` (inline and reference style)."""
    prose = _prose(text)
    for pattern in (_INLINE_LINK, _REFERENCE_LINK):
        for match in pattern.finditer(prose):
            yield match.group(1)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, code marks and punctuation dropped,
    spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The heading anchors of a Markdown file, duplicates numbered as GitHub does."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_documents_exist() -> None:
    for name in ("README.md", "docs/architecture.md", "docs/api.md", "docs/decisions/README.md"):
        assert (ROOT / name).is_file(), name


@pytest.mark.parametrize("document", MARKDOWN, ids=_name)
def test_every_relative_link_resolves_inside_the_repository(document: Path) -> None:
    broken: list[str] = []
    for target in links(document.read_text(encoding="utf-8")):
        if _SCHEME.match(target):
            continue  # http:, https:, mailto: and the like: outside by intent
        path_part, _, anchor = target.partition("#")
        resolved = (document.parent / path_part).resolve() if path_part else document
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{target} (outside the repository)")
        elif not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no such heading)")
    assert broken == []


@pytest.mark.parametrize("source", SWEPT, ids=_name)
def test_no_text_points_outside_the_repository(source: Path) -> None:
    found = [
        f"line {number}: {what}: {line.strip()}"
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1)
        for what, pattern in OUTSIDE_REFERENCES.items()
        if pattern.search(line)
    ]
    assert found == []


def test_the_link_reader_finds_links_and_skips_code() -> None:
    text = "See [a](a.md) and [b](b.md#part).\n`[c](c.md)`\n```\n[d](d.md)\n```\n[e]: e.md\n"
    assert list(links(text)) == ["a.md", "b.md#part", "e.md"]


def test_slugs_follow_github() -> None:
    assert slug("`starling bench`: the feed benchmark") == "starling-bench-the-feed-benchmark"
    assert slug("Measured ceilings on one machine") == "measured-ceilings-on-one-machine"
