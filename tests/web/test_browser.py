"""The web app in a real browser: two people, live updates, plain forms, escaping, CSRF."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from browsing import PASSWORD, Server, live, log_in, sign_up
from PIL import Image
from playwright.sync_api import Browser, Page, expect

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 375, "height": 812}


def _png(folder: Path) -> Path:
    """A small real image to attach."""
    path = folder / "sunrise.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (240, 140, 40)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


def _tweet(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("article.tweet", has_text=text)


def _shoot(page: Page, folder: Path, name: str) -> None:
    for label, size in (("1280", WIDE), ("375", NARROW)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(WIDE)


def test_two_people_follow_post_live_engage_search_block_and_log_out(
    server: Server, browser: Browser, screenshots: Path
) -> None:
    base = server.base
    alice_context = browser.new_context(viewport=WIDE)
    bob_context = browser.new_context(viewport=WIDE)
    alice, bob = alice_context.new_page(), bob_context.new_page()
    sign_up(alice, base, "alice")
    sign_up(bob, base, "bob")

    # Bob follows Alice from her profile.
    bob.goto(f"{base}/@alice")
    expect(bob.get_by_role("heading", name="Alice")).to_be_visible()
    bob.get_by_role("button", name="Follow", exact=True).click()
    expect(bob.get_by_role("button", name="Unfollow", exact=True)).to_be_visible()

    # Bob reads his home timeline, live.
    bob.get_by_role("navigation").get_by_role("link", name="Home").click()
    live(bob)
    bob.evaluate("window.stillTheSamePage = true")

    # Alice is told of the new follower, and reads it.
    alice.get_by_role("navigation").get_by_role("link", name="Notifications").click()
    expect(alice.get_by_text("Bob followed you")).to_be_visible()
    alice.get_by_role("button", name="Mark all as read").click()
    expect(alice.locator("#unread-badge")).to_be_hidden()

    # Alice posts a tweet with an image.
    alice.get_by_role("navigation").get_by_role("link", name="Home").click()
    text = "First light over the harbour #sunrise"
    alice.get_by_label("What's happening?").fill(text)
    expect(alice.locator("output")).to_have_text(str(280 - len(text)))
    alice.locator("input[name=images]").set_input_files(str(_png(server.folder)))
    expect(alice.get_by_role("img", name="Preview of image 1")).to_be_visible()
    alice.get_by_role("button", name="Tweet", exact=True).click()
    posted = _tweet(alice, text)
    expect(posted).to_be_visible()
    expect(posted.get_by_role("img", name="Image 1 of the tweet")).to_be_visible()
    live(alice)

    # Bob sees it announced and shows it without reloading.
    announce = bob.get_by_role("button", name="1 new tweet")
    expect(announce).to_be_visible()
    announce.click()
    seen = _tweet(bob, text)
    expect(seen).to_be_visible()
    hashtag = seen.get_by_role("link", name="#sunrise")
    expect(hashtag).to_have_attribute("href", "/search?q=%23sunrise")
    expect(announce).to_be_hidden()
    assert bob.evaluate("window.stillTheSamePage") is True

    # Bob likes it in place; Alice's badge goes up live.
    seen.get_by_role("button", name="Like", exact=True).click()
    expect(seen.get_by_role("button", name="Unlike", exact=True)).to_be_visible()
    expect(seen.locator(".count[title=Likes]")).to_have_text("1")
    assert bob.evaluate("window.stillTheSamePage") is True
    badge = alice.locator("#unread-badge")
    expect(badge).to_have_text("1")

    # Bob replies from the tweet's page.
    seen.get_by_role("link", name="Reply").click()
    bob.get_by_label("Reply to @alice").fill("Beautiful, @alice!")
    bob.get_by_role("button", name="Reply", exact=True).click()
    expect(_tweet(bob, "Beautiful, @alice!")).to_be_visible()
    expect(badge).to_have_text("2")

    # Alice's notifications list the like and the reply.
    alice.get_by_role("navigation").get_by_role("link", name="Notifications").click()
    expect(alice.get_by_text("Bob liked your tweet")).to_be_visible()
    expect(alice.get_by_text("Bob replied to your tweet")).to_be_visible()
    _shoot(alice, screenshots, "notifications")
    alice.get_by_role("button", name="Mark all as read").click()
    expect(alice.locator("#unread-badge")).to_be_hidden()

    # Screenshots: home, a tweet with its thread, a profile.
    alice.get_by_role("navigation").get_by_role("link", name="Home").click()
    expect(_tweet(alice, text)).to_be_visible()
    _shoot(alice, screenshots, "home")
    _tweet(alice, text).get_by_role("link", name="Reply").click()
    expect(_tweet(alice, "Beautiful, @alice!")).to_be_visible()
    _shoot(alice, screenshots, "tweet")
    alice.get_by_role("navigation").get_by_role("link", name="Profile").click()
    expect(alice.get_by_role("heading", name="Alice")).to_be_visible()
    _shoot(alice, screenshots, "profile")

    # Search finds the tweet by a word and by its hashtag.
    alice.get_by_role("navigation").get_by_role("link", name="Search").click()
    alice.get_by_label("Search query").fill("harbour")
    alice.get_by_role("button", name="Search").click()
    expect(_tweet(alice, text)).to_be_visible()
    alice.get_by_label("Search query").fill("#sunrise")
    alice.get_by_role("button", name="Search").click()
    expect(_tweet(alice, text)).to_be_visible()
    expect(alice.get_by_role("link", name="#sunrise").first).to_be_visible()

    # Bob blocks Alice: her tweets leave his home timeline.
    bob.goto(f"{base}/@alice")
    bob.get_by_role("button", name="Block", exact=True).click()
    expect(bob.get_by_role("button", name="Unblock", exact=True)).to_be_visible()
    bob.get_by_role("navigation").get_by_role("link", name="Home").click()
    expect(bob.get_by_role("heading", name="Home")).to_be_visible()
    expect(_tweet(bob, text)).to_have_count(0)

    # Both log out; the sessions' tokens are revoked, not only forgotten.
    for page, context in ((alice, alice_context), (bob, bob_context)):
        (session,) = [c["value"] for c in context.cookies() if c["name"] == "starling_session"]
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()
        refused = httpx.get(
            f"{base}/api/starling/v1/users/me", headers={"Authorization": f"Bearer {session}"}
        )
        assert refused.status_code == 401
        replayed = httpx.get(f"{base}/", cookies={"starling_session": session})
        assert "Welcome to Starling" in replayed.text
    alice_context.close()
    bob_context.close()


def _register(base: str, username: str) -> None:
    response = httpx.post(
        f"{base}/api/starling/v1/users",
        json={"username": username, "email": f"{username}@example.org", "password": PASSWORD},
    )
    assert response.status_code == 201, response.text


def test_without_javascript_plain_forms_log_in_post_like_and_follow(
    server: Server, browser: Browser
) -> None:
    base = server.base
    _register(base, "carol")
    _register(base, "dave")
    context = browser.new_context(viewport=NARROW, java_script_enabled=False)
    page = context.new_page()
    log_in(page, base, "carol")

    page.get_by_label("What's happening?").fill("Posted with plain HTML forms")
    page.get_by_role("button", name="Tweet", exact=True).click()
    posted = _tweet(page, "Posted with plain HTML forms")
    expect(posted).to_be_visible()

    posted.get_by_role("button", name="Like", exact=True).click()
    expect(posted.get_by_role("button", name="Unlike", exact=True)).to_be_visible()
    expect(posted.locator(".count[title=Likes]")).to_have_text("1")

    page.goto(f"{base}/@dave")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.get_by_role("button", name="Unfollow", exact=True)).to_be_visible()
    page.get_by_role("link", name="Followers").click()
    expect(page.get_by_role("link", name="carol")).to_be_visible()

    # Load more without script is a link to the next page.
    page.get_by_role("navigation").get_by_role("link", name="Profile").click()
    expect(_tweet(page, "Posted with plain HTML forms")).to_be_visible()
    context.close()


def test_markup_in_a_tweet_is_text_and_a_post_without_the_csrf_token_is_refused(
    server: Server, browser: Browser
) -> None:
    base = server.base
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    sign_up(page, base, "mallory")
    hostile = '<script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2">'
    page.get_by_label("What's happening?").fill(hostile)
    page.get_by_role("button", name="Tweet", exact=True).click()
    shown = _tweet(page, "<script>window.pwned = 1</script>")
    expect(shown).to_be_visible()
    expect(shown.locator("p.text")).to_have_text(hostile)
    expect(shown.locator("img[src=x]")).to_have_count(0)
    expect(shown.locator("script")).to_have_count(0)
    page.reload()
    expect(_tweet(page, "<script>")).to_be_visible()
    assert page.evaluate("window.pwned") is None

    # Same cookies, no token: refused, and nothing posted.
    refused = context.request.post(
        f"{base}/compose", form={"text": "forged"}, max_redirects=0, fail_on_status_code=False
    )
    assert refused.status == 403
    like = context.request.post(
        f"{base}/tweets/1/like", form={}, max_redirects=0, fail_on_status_code=False
    )
    assert like.status == 403
    page.goto(f"{base}/@mallory")
    expect(_tweet(page, "forged")).to_have_count(0)

    # The page's own token is accepted (as a header, the way its script sends it).
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    accepted = context.request.post(
        f"{base}/compose",
        form={"text": "sent with the token"},
        headers={"X-CSRF-Token": token},
        max_redirects=0,
        fail_on_status_code=False,
    )
    assert accepted.status == 303
    assert accepted.headers["content-security-policy"].startswith("default-src 'self'")
    context.close()
