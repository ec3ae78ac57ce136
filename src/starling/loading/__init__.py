"""Bulk import of the real Twitter data set behind ``starling load``.

Modules: :mod:`.dataset` (file layout, errors), :mod:`.graph` (follower graph → users and
mutual follows), :mod:`.tweets_csv` (the three CSV formats), :mod:`.tweet_pool` (text
cleaning, unique ids), :mod:`.assign` (seeded authors), :mod:`.celebrities` (the overlay),
:mod:`.import_ids` (made-up snowflakes), :mod:`.progress` (Rich bars, lazily built rows),
:mod:`.report` (:class:`LoadReport`), :mod:`.run` (the phases, in order).
"""

from __future__ import annotations

from starling.loading.dataset import DataFileMissing, LoadError
from starling.loading.report import LoadReport
from starling.loading.run import load_dataset

__all__ = ["DataFileMissing", "LoadError", "LoadReport", "load_dataset"]
