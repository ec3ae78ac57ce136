"""Block, mute and notifications (issue 4)."""

from __future__ import annotations

from litestar import Controller


class ModerationController(Controller):
    path = "/api/v1"
    tags = ["moderation"]
