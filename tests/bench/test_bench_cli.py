"""`starling bench`: help and refused options (the run itself is a program, not a test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from starling.cli import app


def test_help_names_every_option() -> None:
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0
    for option in ("--config", "--duration", "--rate", "--strategy", "--out", "--data"):
        assert option in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "cluster"], "--config must be one of"),
        (["--strategy", "broadcast"], "--strategy must be"),
        (["--duration", "0"], "must be positive"),
    ],
)
def test_bad_options_exit_2_with_a_reason(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "--data", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_missing_data_folder_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no data folder" in result.output


def test_report_from_an_unreadable_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "results.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(app, ["bench", "--report-from", str(bad)])
    assert result.exit_code == 2
    assert "cannot read" in result.output
