"""Likes and bookmarks (issue 4)."""

from __future__ import annotations

from litestar import Controller


class EngagementController(Controller):
    path = "/api/v1"
    tags = ["engagement"]
