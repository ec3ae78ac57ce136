"""Replaying the real CrisisLexT26 tweets with their original timestamps surfaces each
crisis's own hashtags while it happens.

Reads ``/work/shared/data/crisislex/CrisisLexT26`` (or ``$STARLING_DATA_DIR``) when it
is there and skips otherwise: the data stay outside the repository. The synthetic
series of ``tests/contract/test_trend_counter.py`` is the required test of the same rule.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from starling.adapters.memory.trends import MemoryTrendCounter
from starling.domain.ids import timestamp_ms
from starling.domain.search import folded_hashtags
from starling.domain.trends import TrendConfig, rank
from starling.loading.tweets_csv import CRISISLEX_T26, read_tweet_csv

DATA = Path(os.environ.get("STARLING_DATA_DIR", "/work/shared/data")) / "crisislex/CrisisLexT26"
HOUR = 3_600_000


def _events() -> dict[str, list[tuple[int, list[str]]]]:
    events: dict[str, list[tuple[int, list[str]]]] = {}
    for path in sorted(DATA.glob("*.csv.gz")):
        rows = [
            (timestamp_ms(raw.tweet_id), folded_hashtags(raw.text))
            for raw in read_tweet_csv(path, CRISISLEX_T26)
            if raw.tweet_id is not None
        ]
        events[path.name.split("-tweets")[0]] = rows
    return events


@pytest.mark.skipif(not DATA.is_dir(), reason=f"real data not present at {DATA}")
async def test_each_crisis_trends_with_its_own_hashtags_during_its_busiest_hour() -> None:
    events = _events()
    assert len(events) == 26
    config = TrendConfig()
    # Checkpoints: the end of each event's busiest hour of hashtagged tweets, and the
    # event's own five commonest hashtags.
    checkpoints: dict[int, list[tuple[str, set[str]]]] = {}
    for name, rows in events.items():
        tagged = [(at, tags) for at, tags in rows if tags]
        if len(tagged) < 50:
            continue  # too few hashtags in the sample to trend at all
        busiest = Counter(at // HOUR for at, _ in tagged).most_common(1)[0][0]
        own = {tag for tag, _ in Counter(t for _, tags in tagged for t in tags).most_common(5)}
        checkpoints.setdefault((busiest + 1) * HOUR - 1, []).append((name, own))

    timeline = sorted((at, tags) for rows in events.values() for at, tags in rows if tags)
    counter = MemoryTrendCounter(config)
    pending = sorted(checkpoints)
    surfaced: dict[str, list[str]] = {}
    for i, (at, tags) in enumerate(timeline):
        while pending and pending[0] < at:
            now = pending.pop(0)
            trends = [t.tag for t in rank(await counter.top(now_ms=now, limit=200), config, 10)]
            for name, own in checkpoints[now]:
                surfaced[name] = [tag for tag in trends if tag in own]
        await counter.add(i, tags, at)
    for now in pending:
        trends = [t.tag for t in rank(await counter.top(now_ms=now, limit=200), config, 10)]
        for name, own in checkpoints[now]:
            surfaced[name] = [tag for tag in trends if tag in own]

    missed = sorted(name for name, tags in surfaced.items() if not tags)
    assert len(surfaced) >= 15, surfaced
    assert not missed, f"own hashtags not among the top 10 trends: {missed}; {surfaced}"
