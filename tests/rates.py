"""Request budgets of the test harnesses.

The suite registers many users, posts a lot and logs in a lot from one address: with
Mastodon's budgets (5 registrations per IP per 30 minutes) it would stop at the sixth
user. The harnesses keep rate limiting ON, so every API test runs through the limiter
and its headers, but with budgets no test reaches; the rate-limit tests ask for small
ones (``make_starling(rate_posts="2/hour")``).
"""

from __future__ import annotations

from starling.config import RATE_SETTINGS

GENEROUS_RATES: dict[str, str] = {name: "100000/1 hour" for name in RATE_SETTINGS}
"""Every budget at 100,000 an hour: never reached by a test, small enough that a
window's list (Redis) or deque (in process) stays short."""
