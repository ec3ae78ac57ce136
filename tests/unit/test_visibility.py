"""The visibility rule on its own (``starling.domain.visibility``): no app, no store."""

from __future__ import annotations

from dataclasses import dataclass, replace

from starling.domain.visibility import EVERYONE, Visibility

VIEWER, HIDDEN, BLOCKER, OTHER = 1, 2, 3, 4


@dataclass(frozen=True)
class View:
    """A tweet as shown, as small as the rule's protocol allows."""

    author_id: int
    retweeted: View | None = None
    quoted: View | None = None

    def with_nested(self, *, retweeted: View | None, quoted: View | None) -> View:
        return replace(self, retweeted=retweeted, quoted=quoted)


RULE = Visibility(VIEWER, frozenset({HIDDEN, BLOCKER}), frozenset({BLOCKER}))


def test_a_list_leaves_out_hidden_authors_and_retweets_of_them() -> None:
    assert RULE.shown(View(HIDDEN)) is None
    assert RULE.shown(View(OTHER, retweeted=View(HIDDEN))) is None
    plain = View(OTHER)
    assert RULE.shown(plain) is plain


def test_a_quote_of_a_hidden_author_stays_without_the_quoted_tweet() -> None:
    assert RULE.shown(View(OTHER, quoted=View(HIDDEN))) == View(OTHER)
    retweeted_quote = View(OTHER, retweeted=View(OTHER, quoted=View(BLOCKER)))
    assert RULE.shown(retweeted_quote) == View(OTHER, retweeted=View(OTHER))


def test_a_read_by_id_shows_a_muted_author_but_not_one_who_blocks_the_viewer() -> None:
    assert RULE.read_directly(View(HIDDEN)) == View(HIDDEN)
    assert RULE.read_directly(View(OTHER, retweeted=View(HIDDEN))) is not None
    assert RULE.read_directly(View(BLOCKER)) is None
    assert RULE.read_directly(View(OTHER, retweeted=View(BLOCKER))) is None
    # What the read names is shown; a quote inside it still follows the list rule.
    assert RULE.read_directly(View(HIDDEN, quoted=View(BLOCKER))) == View(HIDDEN)


def test_asking_for_an_author_by_name_shows_them_unless_they_block_the_viewer() -> None:
    named = RULE.asking_for([HIDDEN, BLOCKER])
    assert not named.hides(HIDDEN)
    assert named.hides(BLOCKER)
    assert named.is_blocked_by(BLOCKER)


def test_an_anonymous_viewer_sees_everything() -> None:
    view = View(HIDDEN, quoted=View(BLOCKER))
    assert EVERYONE.shown(view) is view
    assert EVERYONE.read_directly(view) is view
