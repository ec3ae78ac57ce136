"""OpenAPI descriptions of the Mastodon routes' answers: each route answers bytes it
encoded itself, so its documented shapes are declared here (the entities' Structs) along
with the error object every failure answers, ``{"error": str}``."""

from __future__ import annotations

from typing import Any, Final

from litestar.openapi.datastructures import ResponseSpec

from starling.mastodon import entities as e

_REASONS: Final = {
    400: "Bad request",
    401: "Missing, invalid, expired or revoked access token",
    403: "The token lacks the scope this route needs, or the action is not allowed",
    404: "Record not found",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    503: "Unavailable",
}


def doc(shape: Any, *, status: int = 200, description: str = "OK") -> dict[int, ResponseSpec]:
    """``responses=`` entry for an answer of ``shape``."""
    return {
        status: ResponseSpec(data_container=shape, description=description, generate_examples=False)
    }


def errors_doc(*statuses: int) -> dict[int, ResponseSpec]:
    """The error answers of a route: ``{"error": "..."}`` with these statuses."""
    return {s: doc(e.Error, status=s, description=_REASONS.get(s, "Error"))[s] for s in statuses}


APP_DOC: Final = doc(e.Application, description="The application and its credentials")
TOKEN_DOC: Final = doc(e.Token, description="An access token")
EMPTY_DOC: Final = doc(dict[str, Any], description="An empty object")
ACCOUNT_DOC: Final = doc(e.Account, description="An Account")
ACCOUNTS_DOC: Final = doc(list[e.Account], description="Accounts")
STATUS_DOC: Final = doc(e.Status, description="A Status")
STATUSES_DOC: Final = doc(list[e.Status], description="Statuses, newest first")
RELATIONSHIP_DOC: Final = doc(e.Relationship, description="A Relationship")
RELATIONSHIPS_DOC: Final = doc(list[e.Relationship], description="Relationships")
NOTIFICATION_DOC: Final = doc(e.Notification, description="A Notification")
NOTIFICATIONS_DOC: Final = doc(list[e.Notification], description="Notifications, newest first")
CONTEXT_DOC: Final = doc(e.Context, description="Ancestors and descendants")
SEARCH_DOC: Final = doc(e.Search, description="Search results")
MEDIA_DOC: Final = doc(e.MediaAttachment, description="A MediaAttachment")
TAGS_DOC: Final = doc(list[e.Tag], description="Tags")
INSTANCE_DOC: Final = doc(dict[str, Any], description="The Instance entity")
PREFERENCES_DOC: Final = doc(e.Preferences, description="Preferences")
