"""Top costs of a py-spy profile (``py-spy record --format raw``: collapsed stacks).

Each line of the raw format is ``frame;frame;...;frame COUNT``, outermost frame first,
a frame being ``function (file:line)``. Self share: samples whose innermost frame is the
function; inclusive share: samples with the function anywhere on the stack. Idle
samples (the event loop waiting in ``select``/``epoll``) are dropped so shares are of
busy time.
"""

from __future__ import annotations

import re
from collections import Counter

import msgspec

_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_ENTRY_POINTS = ("(starling/__main__.py)", "(starling/cli.py)")
"""Frames on every stack of a server process: they say nothing about costs."""
_IDLE = ("select (selectors.py", "poll (selectors.py", "_run_once (asyncio", "wait (threading.py")


class ProfileLine(msgspec.Struct, frozen=True, kw_only=True):
    """One function's share of busy samples (0..1)."""

    function: str
    self_share: float
    inclusive_share: float


def _function(frame: str) -> str:
    """``name (path/to/file.py:12)`` → ``name (file.py)``: lines merged per function."""
    match = re.match(r"^(?P<name>.*?) \((?P<file>[^:)]*)(?::\d+)?\)$", frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/src/", "python3.11/", "python3.12/", "python3.13/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['name']} ({path})"


def _count(text: str) -> tuple[Counter[str], Counter[str], int]:
    """(self samples, inclusive samples) per function, and busy samples in all."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    busy = 0
    for raw in text.splitlines():
        match = _LINE.match(raw.strip())
        if match is None:
            continue
        # --subprocesses puts a "process PID:CMD" frame first; alone, it is a thread
        # outside Python (granian's runtime): not Python's busy time.
        frames = [f for f in match["stack"].split(";") if f and not f.startswith("process ")]
        if not frames or frames[-1].strip().startswith(_IDLE):
            continue
        count = int(match["count"])
        busy += count
        own[_function(frames[-1])] += count
        for function in {_function(f) for f in frames}:
            anywhere[function] += count
    return own, anywhere, busy


def summarize_collapsed(text: str, *, top: int = 15) -> list[ProfileLine]:
    """The ``top`` functions by self share of busy samples in a collapsed-stack text."""
    own, anywhere, busy = _count(text)
    if busy == 0:
        return []
    return [
        ProfileLine(
            function=function,
            self_share=round(count / busy, 4),
            inclusive_share=round(anywhere[function] / busy, 4),
        )
        for function, count in own.most_common(top)
    ]


def top_inclusive(text: str, *, contains: str = "starling/", top: int = 15) -> list[ProfileLine]:
    """The ``top`` functions whose frame mentions ``contains`` (default: Starling's own
    modules) by inclusive share: where the application's time goes, callees included."""
    own, anywhere, busy = _count(text)
    if busy == 0:
        return []
    ours = Counter(
        {f: c for f, c in anywhere.items() if contains in f and not f.endswith(_ENTRY_POINTS)}
    )
    return [
        ProfileLine(
            function=function,
            self_share=round(own[function] / busy, 4),
            inclusive_share=round(count / busy, 4),
        )
        for function, count in ours.most_common(top)
    ]
