"""toot (an unmodified Mastodon command-line client) against a live Starling: its
commands as a subprocess, and its terminal UI under tmux showing the home timeline.

toot takes a non-https instance when it is given as a full ``http://`` URL (it adds
``https://`` only to a bare domain), and keys the saved login by the instance's ``uri``
(``host:port`` here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mastodon_live import LiveServer, User, live_fixture  # noqa: F401

TOOT = str(Path(sys.executable).with_name("toot"))
UI_TIMEOUT_S = 30.0


class Toot:
    """toot run as a subprocess with its own configuration folder."""

    def __init__(self, live: LiveServer, home: Path) -> None:
        self.live = live
        self.env = {**os.environ, "XDG_CONFIG_HOME": str(home), "COLUMNS": "120"}

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [TOOT, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert done.returncode == 0, f"toot {args}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def login(self, user: User) -> None:
        out = self("login_cli", "-i", self.live.base_url, "-e", user.email, "-p", user.password)
        assert "Successfully logged in" in out


def _status_ids(text: str) -> list[str]:
    return re.findall(r"ID (\d+)", text)


def test_toot_commands(live: LiveServer, tmp_path: Path) -> None:
    ana, ben = live.register("ta"), live.register("tb")
    a, b = Toot(live, tmp_path / "a"), Toot(live, tmp_path / "b")
    a.login(ana)
    b.login(ben)

    whoami = a("whoami")
    assert f"@{ana.username}" in whoami
    assert f"ID: {ana.id}" in whoami

    posted = a("post", "hello from toot #tootday")
    first = posted.strip().rsplit("/", 1)[1]
    assert re.fullmatch(r"\d+", first)

    assert "You are now following" in b("follow", ana.username)
    reply = b("post", "--reply-to", first, f"@{ana.username} welcome")
    assert "Toot posted" in reply
    assert "Status reblogged" in b("reblog", first)
    assert "Status favourited" in b("favourite", first)
    live.drain()

    timeline = b("timeline", "--once")
    assert "hello from toot #tootday" in timeline
    assert first in _status_ids(timeline)

    notifications = a("notifications")
    assert f"@{ben.username}" in notifications
    for line in ("favourited your status", "boosted your status", "now follows you"):
        assert line in notifications
    assert "welcome" in notifications

    found = b("search", ana.username)
    assert f"@{ana.username}" in found
    found = b("search", "tootday")
    assert "#tootday" in found
    assert first in found


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_toot_tui_shows_the_home_timeline(live: LiveServer, tmp_path: Path) -> None:
    ana = live.register("tu")
    toot = Toot(live, tmp_path / "tui")
    toot.login(ana)
    toot("post", "a tweet the terminal UI shows")
    live.drain()
    session = f"starling-tui-{os.getpid()}-{ana.username}"
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "140",
            "-y",
            "40",
            f"XDG_CONFIG_HOME={tmp_path / 'tui'} {TOOT} tui",
        ],
        check=True,
    )
    try:
        text = "a tweet the terminal UI shows"
        screen = _wait_for_screen(session, lambda s: "Enter to continue" in s or text in s)
        if text not in screen:  # toot 0.52's deprecation notice comes first
            subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        screen = _wait_for_screen(session, lambda s: text in s)
        assert f"{ana.username}@{live.host}" in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def _wait_for_screen(session: str, ready: Callable[[str], bool]) -> str:
    """The tmux pane's text once ``ready(text)`` holds (a UI draws when it draws: the
    pane is read until then, within :data:`UI_TIMEOUT_S`)."""
    deadline = time.monotonic() + UI_TIMEOUT_S
    screen = ""
    while time.monotonic() < deadline:
        screen = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if ready(screen):
            return screen
        time.sleep(0.2)  # polling another program's screen
    raise AssertionError(f"the terminal never showed what was expected:\n{screen}")
