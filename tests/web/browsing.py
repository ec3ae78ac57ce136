"""Helpers of the browser tests: the server handle and what people do in a browser."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

PASSWORD = "correct horse battery"


@dataclass
class Server:
    """A running ``starling serve``: its base URL and its data folder."""

    base: str
    folder: Path


def sign_up(page: Page, base: str, username: str) -> None:
    """Register through the sign-up form (logged in afterwards)."""
    page.goto(f"{base}/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.org")
    page.get_by_label("Display name").fill(username.capitalize())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()


def log_in(page: Page, base: str, username: str) -> None:
    """Log in through the login form."""
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()


def live(page: Page) -> None:
    """Wait until the page's live stream is connected (the server subscribed it)."""
    expect(page.locator("body")).to_have_attribute("data-live-state", "open")
