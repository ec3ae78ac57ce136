"""Where the data directory is, where the data files are in it, and the errors of a load.

The layout and the formats are described in ``docs/data.md``:

- ``soc-twitter-follows.edges.gz``: the NetworkRepository "soc-twitter-follows" graph
  (Rossi & Ahmed, AAAI 2015), one undirected edge ``u v`` per line.
- ``crisislex/CrisisLexT6/*.csv.gz`` (Olteanu et al., ICWSM 2014) and
  ``crisislex/CrisisLexT26/*.csv.gz`` (Olteanu et al., CSCW 2015): crisis tweets.
- ``twitter-airline-sentiment/Tweets.csv.gz``: Figure Eight's "Twitter US Airline
  Sentiment" tweets, with author screen names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

DATA_DIR_ENV = "STARLING_DATA_DIR"
"""Environment variable naming the data directory when ``--data`` is not given."""

DEFAULT_DATA_DIR = Path("data")
"""The data directory when neither ``--data`` nor ``$STARLING_DATA_DIR`` names one:
``./data``, relative to the working directory (ignored by git)."""

DATA_SOURCES = """\
starling load reads three public data sets, laid out in the data folder as follows
(docs/data.md has the details, counts and licences):

  soc-twitter-follows.edges.gz
    NetworkRepository "soc-twitter-follows" follower graph (Rossi & Ahmed, AAAI 2015,
    networkrepository.com), from soc-twitter-follows.zip: the data lines "u v" of
    soc-twitter-follows.mtx, its 2 MatrixMarket header lines removed, gzipped. A copy is
    in the GitHub repository queqoogithub/sna-twitter-follower-np
    (commit c615e5a531bf0c9aca5e59bcaa3539d6766ad8b4).
  crisislex/CrisisLexT6/<event>-ontopic_offtopic.csv.gz   (6 files)
  crisislex/CrisisLexT26/<event>-tweets_labeled.csv.gz    (26 files)
    CrisisLexT6 (Olteanu et al., ICWSM 2014) and CrisisLexT26 (Olteanu et al., CSCW 2015),
    crisislex.org; GitHub repository sajao/CrisisLex, files
    data/CrisisLexT6/<event>/<event>-ontopic_offtopic.csv and
    data/CrisisLexT26/<event>/<event>-tweets_labeled.csv, each gzipped.
  twitter-airline-sentiment/Tweets.csv.gz
    Twitter US Airline Sentiment (Figure Eight, "Data for Everyone", on Kaggle); GitHub
    repository eidehua/Real-Time-SciVi, file twitter-airline-sentiment/Tweets.csv, gzipped.

Point --data (or STARLING_DATA_DIR) at the folder, or put it at ./data."""
"""What ``starling load`` and ``starling bench`` print when the data is absent: the
expected layout and where each data set comes from."""


def resolve_data_dir(given: Path | None, environ: Mapping[str, str] = os.environ) -> Path:
    """The data directory: ``given`` (``--data``), else ``$STARLING_DATA_DIR`` when set
    and not blank, else :data:`DEFAULT_DATA_DIR` (``./data``). Checks nothing."""
    if given is not None:
        return given
    from_env = environ.get(DATA_DIR_ENV, "").strip()
    return Path(from_env) if from_env else DEFAULT_DATA_DIR


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
        super().__init__(f"missing data file: {path} ({what}); see docs/data.md")
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
