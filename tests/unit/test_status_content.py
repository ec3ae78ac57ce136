"""A tweet's text as a Mastodon status's HTML content (mastodon.content)."""

from __future__ import annotations

from starling.mastodon.content import to_html


def tag_url(tag: str) -> str:
    return f"https://s.example/tags/{tag}"


def test_text_is_escaped_and_split_into_paragraphs_and_lines() -> None:
    html = to_html("a <script>&\n\nb\nc", mentioned={}, tag_url=tag_url)
    assert html == "<p>a &lt;script&gt;&amp;</p><p>b<br />c</p>"


def test_mentions_of_known_users_hashtags_and_urls_are_links() -> None:
    html = to_html(
        "@Ada #Tea https://x.example/p?q=1&r=2, @ghost",
        mentioned={"ada": "https://s.example/@Ada"},
        tag_url=tag_url,
    )
    assert html == (
        '<p><span class="h-card"><a href="https://s.example/@Ada" class="u-url mention">'
        "@<span>Ada</span></a></span> "
        '<a href="https://s.example/tags/Tea" class="mention hashtag" rel="tag">'
        "#<span>Tea</span></a> "
        '<a href="https://x.example/p?q=1&amp;r=2" rel="nofollow noopener" target="_blank">'
        "https://x.example/p?q=1&amp;r=2</a>, @ghost</p>"
    )


def test_a_hashtag_inside_a_url_is_part_of_the_url() -> None:
    html = to_html("see https://x.example/#frag", mentioned={}, tag_url=tag_url)
    assert 'class="mention hashtag"' not in html
    assert to_html("", mentioned={}, tag_url=tag_url) == ""
