"""Reading the three tweet CSV formats of ``docs/data.md`` into raw rows.

All are gzip'd UTF-8 CSV with a header and RFC-4180 quoting (texts may contain newlines):

- CrisisLexT6 (Olteanu et al., ICWSM 2014): ``tweet id, tweet, label``; ids wrapped in
  single quotes (``'262596552399396864'``).
- CrisisLexT26 (Olteanu et al., CSCW 2015): ``Tweet ID, Tweet Text, ...``; ids in double
  quotes, which the CSV parser removes.
- Twitter US Airline Sentiment (Figure Eight, Kaggle): ``tweet_id, ..., name, ..., text,
  ...``; ``name`` is the author's screen name.

Header names are compared after stripping white space, because the CrisisLex headers
put a space after each comma.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

import msgspec

from starling.loading.dataset import LoadError


class CsvFormat(msgspec.Struct, frozen=True, kw_only=True):
    """Which columns of a tweet CSV hold the id, the text and (optionally) the author."""

    name: str
    id_column: str
    text_column: str
    author_column: str | None = None


CRISISLEX_T6 = CsvFormat(name="CrisisLexT6", id_column="tweet id", text_column="tweet")
CRISISLEX_T26 = CsvFormat(name="CrisisLexT26", id_column="Tweet ID", text_column="Tweet Text")
AIRLINE_SENTIMENT = CsvFormat(
    name="twitter-airline-sentiment", id_column="tweet_id", text_column="text", author_column="name"
)


class RawTweet(msgspec.Struct, frozen=True):
    """One CSV record as found: ``tweet_id`` is None when the id is not a positive 63-bit
    integer; ``text`` is unprocessed (HTML entities still escaped); ``author`` is the
    screen name when the format has one."""

    tweet_id: int | None
    text: str
    author: str | None


def _parse_id(value: str) -> int | None:
    digits = value.strip().strip("'\"")
    if not digits.isascii() or not digits.isdigit():
        return None
    tweet_id = int(digits)
    return tweet_id if 0 < tweet_id < 1 << 63 else None


def _column(header: list[str], column: str, path: Path) -> int:
    try:
        return header.index(column)
    except ValueError:
        raise LoadError(f"{path}: no column {column!r} in header {header}") from None


def read_tweet_csv(path: Path, fmt: CsvFormat) -> Iterator[RawTweet]:
    """Yield the records of one gzip'd tweet CSV of format ``fmt``, in file order.

    Raises :class:`LoadError` naming ``path`` when the file is unreadable, not UTF-8,
    not CSV, or lacks one of the format's columns.
    """
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = [name.strip().lstrip("\ufeff") for name in next(reader, [])]
            id_col = _column(header, fmt.id_column, path)
            text_col = _column(header, fmt.text_column, path)
            author_col = _column(header, fmt.author_column, path) if fmt.author_column else None
            width = max(id_col, text_col, author_col or 0) + 1
            for record in reader:
                if not record:
                    continue
                if len(record) < width:
                    raise LoadError(f"{path}, line {reader.line_num}: too few columns")
                yield RawTweet(
                    _parse_id(record[id_col]),
                    record[text_col],
                    record[author_col] if author_col is not None else None,
                )
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error) as exc:
        raise LoadError(f"{path}: cannot read as {fmt.name} CSV: {exc}") from exc
