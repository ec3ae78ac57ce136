"""``starling load`` as a command: where it looks for the data, and that absent data is
reported (with where the data sets come from) before any database is created."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_loading import write_dataset
from typer.testing import CliRunner, Result

from starling.cli import app
from starling.loading.dataset import DEFAULT_DATA_DIR, resolve_data_dir

SOURCES = (
    "NetworkRepository",
    "soc-twitter-follows.edges.gz",
    "queqoogithub/sna-twitter-follower-np",
    "CrisisLexT6",
    "CrisisLexT26",
    "sajao/CrisisLex",
    "Twitter US Airline Sentiment",
    "eidehua/Real-Time-SciVi",
    "twitter-airline-sentiment/Tweets.csv.gz",
    "docs/data.md",
)
"""What the message of a missing data set names: each data set, where it comes from, the
file layout expected and the page that documents it."""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory with no ``STARLING_DATA_DIR``; the database URL the
    command sets for itself is restored afterwards."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("STARLING_DATA_DIR", raising=False)
    monkeypatch.setenv("STARLING_DATABASE_URL", f"sqlite:///{work}/unused.db")
    return work


def load(*args: str) -> Result:
    return CliRunner().invoke(app, ["load", *args])


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_data_folder_is_the_option_then_the_environment_then_dot_data() -> None:
    assert resolve_data_dir(Path("given"), {"STARLING_DATA_DIR": "env"}) == Path("given")
    assert resolve_data_dir(None, {"STARLING_DATA_DIR": "env"}) == Path("env")
    assert resolve_data_dir(None, {"STARLING_DATA_DIR": "  "}) == DEFAULT_DATA_DIR
    assert resolve_data_dir(None, {}) == Path("data")


def test_load_without_data_exits_2_naming_the_sources_and_creates_no_database(
    workdir: Path,
) -> None:
    db = workdir / "db" / "starling.db"
    db.parent.mkdir()
    result = load("--database-url", f"sqlite:///{db}")
    assert result.exit_code == 2
    assert "no data folder at data" in result.output
    for name in SOURCES:
        assert name in result.output
    assert files_under(workdir) == []


def test_load_looks_in_starling_data_dir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARLING_DATA_DIR", str(workdir / "elsewhere"))
    result = load("--database-url", f"sqlite:///{workdir}/starling.db")
    assert result.exit_code == 2
    assert f"no data folder at {workdir / 'elsewhere'}" in result.output
    assert files_under(workdir) == []


def test_a_missing_data_file_is_named_before_any_database_exists(workdir: Path) -> None:
    data = write_dataset(workdir / "partial")
    (data / "twitter-airline-sentiment/Tweets.csv.gz").unlink()
    db = workdir / "starling.db"
    result = load("--data", str(data), "--database-url", f"sqlite:///{db}")
    assert result.exit_code == 2
    assert "missing data file" in result.output
    assert "Tweets.csv.gz" in result.output
    assert "eidehua/Real-Time-SciVi" in result.output
    assert not db.exists()


def test_load_reads_dot_data_by_default(workdir: Path) -> None:
    write_dataset(workdir / "data")
    db = workdir / "starling.db"
    result = load("--database-url", f"sqlite:///{db}")
    assert result.exit_code == 0, result.output
    assert "Loaded into" in result.output
    assert db.exists()


@pytest.mark.parametrize("command", ["load", "bench"])
def test_help_states_the_default_data_folder(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "STARLING_DATA_DIR" in result.output
    assert "./data" in result.output
