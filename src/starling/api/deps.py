"""Dependency markers of the routes (Litestar's explicit ``NamedDependency``)."""

from __future__ import annotations

from litestar.di import NamedDependency

from starling.bootstrap import App

Core = NamedDependency[App]
"""The running Starling process (services, adapters, metrics)."""
ViewerId = NamedDependency[int]
"""The authenticated user's id; the request is a 401 without a valid token."""
MaybeViewerId = NamedDependency[int | None]
"""The authenticated user's id, or None for an anonymous request."""
