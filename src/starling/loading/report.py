"""What a load did: counts in the data set and rows actually inserted."""

from __future__ import annotations

import msgspec


class LoadReport(msgspec.Struct, kw_only=True):
    """Outcome of :func:`starling.loading.load_dataset`.

    ``*_total`` count what the data set holds, ``*_inserted`` the rows that were new (0
    on a repeated load). On a first load a shortfall means rows the store refused, e.g. a
    graph user whose username a registered account already has, with its follows and
    tweets. Data-set fields exclude the overlay; ``overlay_*`` fields count it, and
    ``celebrities`` lists ``(username, followers)`` of its accounts (empty without
    ``celebrities=True``). ``seconds``: wall time of the whole load.
    """

    users_inserted: int = 0
    users_total: int = 0
    follows_inserted: int = 0
    follows_total: int = 0
    tweets_inserted: int = 0
    tweets_indexed: int = 0
    tweets_total: int = 0
    tweets_rows: int = 0
    tweets_skipped: int = 0
    tweets_renumbered: int = 0
    overlay_users_inserted: int = 0
    overlay_follows_inserted: int = 0
    overlay_tweets_inserted: int = 0
    celebrities: list[tuple[str, int]] = msgspec.field(default_factory=list)
    seconds: float = 0.0

    def summary_lines(self) -> list[str]:
        """Human-readable lines for the CLI, one per kind of row."""
        lines = [
            f"users:   {self.users_inserted:,} inserted of {self.users_total:,}",
            f"follows: {self.follows_inserted:,} inserted of {self.follows_total:,}",
            f"tweets:  {self.tweets_inserted:,} inserted of {self.tweets_total:,}"
            f" ({self.tweets_rows:,} CSV rows, {self.tweets_skipped:,} skipped,"
            f" {self.tweets_renumbered:,} duplicate ids renumbered)",
        ]
        if self.celebrities:
            accounts = ", ".join(f"{name} ({n:,} followers)" for name, n in self.celebrities)
            lines.append(
                f"overlay: {accounts}; inserted {self.overlay_users_inserted} users,"
                f" {self.overlay_follows_inserted:,} follows,"
                f" {self.overlay_tweets_inserted} tweets"
            )
        lines.append(f"time:    {self.seconds:.1f} s")
        return lines
