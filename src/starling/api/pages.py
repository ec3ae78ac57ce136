"""Tweet pages as JSON: annotate a page of views for the viewer and map it to API.md."""

from __future__ import annotations

from starling.api.params import encode_cursor
from starling.api.schemas import TweetsPage, tweet_out
from starling.bootstrap import App
from starling.services.timelines import TimelinePage


async def tweets_page(core: App, page: TimelinePage, *, viewer_id: int | None) -> TweetsPage:
    """The page's JSON, with counts and the viewer's flags added in two queries for the
    whole page (timelines and conversations hydrate tweets and authors only)."""
    views = await core.hydrator.annotate(page.items, viewer_id=viewer_id)
    return TweetsPage(
        [tweet_out(v, authenticated=viewer_id is not None) for v in views],
        encode_cursor(page.next_max_id),
        page.has_more,
    )
