"""THE rule of who may see what: one pure value, :class:`Visibility`, that every read
applies (home, user timelines, a tweet by id, search, replies, context, bookmarks,
notifications, the live stream). Transport-free: the read pipeline
(:mod:`starling.services.read_pipeline`) loads a viewer's relations and asks this module.

The rule, for a viewer and a tweet as shown (with its retweeted original and its quoted
tweet nested):

- an author is **hidden** from the viewer when either blocks the other or the viewer
  mutes the author; an anonymous viewer has nothing hidden;
- in a list (a timeline, search results, replies, ancestors, bookmarks, notifications,
  the stream) a tweet by a hidden author is left out, and so is a retweet whose
  original's author is hidden; a quote of a hidden author's tweet stays, with the quoted
  tweet left out (Twitter shows "This post is unavailable");
- what the viewer asks for by name is shown although they mute or block its author: a
  tweet by id (with the original, when it is a retweet) and a user's own timeline; but
  to a viewer an author **blocks**, that author's tweets do not exist (a tweet by id, or
  a retweet of one, is not found; the author's timeline is forbidden). Quotes inside
  what is asked for still follow the list rule.

Later rules (suspended accounts, protected accounts) are more fields of
:class:`Visibility` and more lines in :meth:`Visibility.hides`; no surface changes.
(Mastodon keeps the same decision in one place, ``FeedManager#filter_from_home?`` and
``StatusFilter``.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, Self, TypeVar

_NO_ONE: frozenset[int] = frozenset()


class Shown(Protocol):
    """What the rule needs of a tweet as shown (``TweetView`` in the services): its
    author, the retweeted original and the quoted tweet, and a copy with those two
    replaced."""

    @property
    def author_id(self) -> int: ...

    @property
    def retweeted(self) -> Self | None: ...

    @property
    def quoted(self) -> Self | None: ...

    def with_nested(self, *, retweeted: Self | None, quoted: Self | None) -> Self:
        """This tweet with ``retweeted`` and ``quoted`` in place of its own."""
        ...


V = TypeVar("V", bound=Shown)


@dataclass(frozen=True, slots=True)
class Visibility:
    """One viewer's relations as the rule needs them (see the module docstring).

    ``viewer_id``: None for an anonymous read. ``hidden``: authors blocked by or blocking
    the viewer, or muted by them. ``blockers``: authors who block the viewer, as far as
    the read asked (the pipeline looks up only the authors a read names: a tweet asked
    for by id, a user's timeline); a subset of ``hidden``."""

    viewer_id: int | None = None
    hidden: frozenset[int] = _NO_ONE
    blockers: frozenset[int] = field(default=_NO_ONE)

    def hides(self, author_id: int) -> bool:
        """Whether ``author_id``'s tweets, retweets and actions are left out of lists."""
        return author_id in self.hidden

    def is_blocked_by(self, author_id: int) -> bool:
        """Whether ``author_id`` blocks the viewer (asked for by the read, see above)."""
        return author_id in self.blockers

    def shown(self, view: V) -> V | None:
        """``view`` as the viewer sees it in a list: None when it is hidden (its author or
        its retweeted original's author is hidden), else ``view`` with quoted tweets of
        hidden authors left out (at any depth)."""
        if not self.hidden:
            return view
        return self._shown(view)

    def _shown(self, view: V) -> V | None:
        if view.author_id in self.hidden:
            return None
        retweeted, quoted = view.retweeted, view.quoted
        shown_retweeted = shown_quoted = None
        if retweeted is not None:
            shown_retweeted = self._shown(retweeted)
            if shown_retweeted is None:
                return None
        if quoted is not None:
            shown_quoted = self._shown(quoted)
        if shown_retweeted is retweeted and shown_quoted is quoted:
            return view
        return view.with_nested(retweeted=shown_retweeted, quoted=shown_quoted)

    def readable_directly(self, view: Shown) -> bool:
        """Whether the viewer may read ``view`` by its id: not when its author, or the
        author of the original it retweets, blocks the viewer."""
        if not self.blockers:
            return True
        return view.author_id not in self.blockers and (
            view.retweeted is None or view.retweeted.author_id not in self.blockers
        )

    def read_directly(self, view: V) -> V | None:
        """``view`` as the viewer sees it when asking for it by id: None (not found) when
        :meth:`readable_directly` says no, else ``view`` shown even if its author (or the
        retweeted original's) is muted or blocked by the viewer, with quotes of hidden
        authors left out."""
        if not self.readable_directly(view):
            return None
        named = [view.author_id]
        if view.retweeted is not None:
            named.append(view.retweeted.author_id)
        return self.asking_for(named).shown(view)

    def asking_for(self, author_ids: Iterable[int]) -> Visibility:
        """The rule for a read that names ``author_ids`` (a user's timeline, a tweet by
        id): those authors are shown although the viewer mutes or blocks them. An author
        blocking the viewer stays hidden (the read refuses them before it lists)."""
        named = frozenset(author_ids) & self.hidden
        if not named:
            return self
        kept = named - self.blockers
        return Visibility(self.viewer_id, self.hidden - kept, self.blockers)


EVERYONE = Visibility()
"""An anonymous viewer's relations: nothing hidden."""
