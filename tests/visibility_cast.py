"""The cast of the visibility matrices (Starling's own surfaces in
``tests/api/test_visibility_matrix.py``, the Mastodon API's in
``tests/mastodon/test_mastodon_visibility.py``): a viewer ``V``, an author ``A`` whose
relationship to ``V`` varies, and a third user ``C`` whom nobody hides."""

from __future__ import annotations

from dataclasses import dataclass

from conftest import Account, Harness

VIEWER_BLOCKS = "viewer blocks author"
AUTHOR_BLOCKS = "author blocks viewer"
VIEWER_MUTES = "viewer mutes author"
RELATIONS = [VIEWER_BLOCKS, AUTHOR_BLOCKS, VIEWER_MUTES]


@dataclass
class Cast:
    """The viewer ``V``, the author ``A`` whose relation to ``V`` varies, and ``C``."""

    viewer: Account
    author: Account
    other: Account
    relation: str

    @property
    def blocked(self) -> bool:
        """Whether the author blocks the viewer (reads by name or id are then not found)."""
        return self.relation == AUTHOR_BLOCKS


async def relate(starling: Harness, cast: Cast) -> None:
    """Set the relationship, then let the workers catch up."""
    if cast.relation == VIEWER_BLOCKS:
        await starling.block(cast.viewer, cast.author)
    elif cast.relation == AUTHOR_BLOCKS:
        await starling.block(cast.author, cast.viewer)
    else:
        await starling.mute(cast.viewer, cast.author)
    await starling.drain()
