"""Where the data files are, relative to the data directory, and the errors of a load.

The layout and the formats are those of ``shared/data/README.md``:

- ``soc-twitter-follows.edges.gz``: the NetworkRepository "soc-twitter-follows" graph
  (Rossi & Ahmed, AAAI 2015), one undirected edge ``u v`` per line.
- ``crisislex/CrisisLexT6/*.csv.gz`` (Olteanu et al., ICWSM 2014) and
  ``crisislex/CrisisLexT26/*.csv.gz`` (Olteanu et al., CSCW 2015): crisis tweets.
- ``twitter-airline-sentiment/Tweets.csv.gz``: Figure Eight's "Twitter US Airline
  Sentiment" tweets, with author screen names.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

EDGES_FILE = "soc-twitter-follows.edges.gz"
CRISISLEX_T6_DIR = "crisislex/CrisisLexT6"
CRISISLEX_T26_DIR = "crisislex/CrisisLexT26"
AIRLINE_FILE = "twitter-airline-sentiment/Tweets.csv.gz"
CSV_GLOB = "*.csv.gz"


class LoadError(Exception):
    """A data file cannot be loaded: missing, unreadable or not in the documented format.
    The message names the file."""


class DataFileMissing(LoadError):
    """A data file (or a directory's ``*.csv.gz`` files) the importer needs is not there."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(f"missing data file: {path} ({what}); see shared/data/README.md")
        self.path = path


class DataFiles(msgspec.Struct, frozen=True, kw_only=True):
    """Absolute paths of every file a load reads; CSV lists are sorted by file name, which
    fixes the order of tweets (and so the renumbering of duplicate ids)."""

    edges: Path
    crisislex_t6: list[Path]
    crisislex_t26: list[Path]
    airline: Path


def _csv_files(directory: Path, what: str) -> list[Path]:
    found = sorted(directory.glob(CSV_GLOB)) if directory.is_dir() else []
    if not found:
        raise DataFileMissing(directory / CSV_GLOB, what)
    return found


def locate(data_dir: Path) -> DataFiles:
    """Find every data file under ``data_dir`` before anything is written.

    Raises :class:`DataFileMissing` naming the first file (or glob) that is absent.
    """
    edges = data_dir / EDGES_FILE
    if not edges.is_file():
        raise DataFileMissing(edges, "the soc-twitter-follows graph")
    t6 = _csv_files(data_dir / CRISISLEX_T6_DIR, "CrisisLexT6 tweets")
    t26 = _csv_files(data_dir / CRISISLEX_T26_DIR, "CrisisLexT26 tweets")
    airline = data_dir / AIRLINE_FILE
    if not airline.is_file():
        raise DataFileMissing(airline, "Twitter US Airline Sentiment tweets")
    return DataFiles(edges=edges, crisislex_t6=t6, crisislex_t26=t26, airline=airline)
