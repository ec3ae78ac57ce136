"""Domain errors. Each carries a stable snake_case ``code``; the API maps them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use case raises on purpose; ``code`` is snake_case."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    """The request is well-formed but breaks a rule (HTTP 422)."""

    code = "invalid_input"


class TextEmpty(InvalidInput):
    code = "text_empty"

    def __init__(self) -> None:
        super().__init__("Tweet text is empty.")


class TextTooLong(InvalidInput):
    code = "text_too_long"

    def __init__(self, length: int) -> None:
        super().__init__(f"Tweet text has {length} characters; the limit is 280.")


class CannotFollowSelf(InvalidInput):
    code = "cannot_follow_self"

    def __init__(self) -> None:
        super().__init__("You cannot follow yourself.")


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"

    def __init__(self) -> None:
        super().__init__("The cursor is not one this service issued.")


class NotFound(DomainError):
    """A named resource does not exist (HTTP 404)."""

    code = "not_found"


class UserNotFound(NotFound):
    code = "user_not_found"

    def __init__(self) -> None:
        super().__init__("No such user.")


class TweetNotFound(NotFound):
    code = "tweet_not_found"

    def __init__(self) -> None:
        super().__init__("No such tweet.")


class Conflict(DomainError):
    """The request collides with stored state (HTTP 409)."""

    code = "conflict"


class UsernameTaken(Conflict):
    code = "username_taken"

    def __init__(self) -> None:
        super().__init__("That username is taken.")


class Forbidden(DomainError):
    """The caller may not do this to this resource (HTTP 403)."""

    code = "forbidden"


class Unauthorized(DomainError):
    """No valid credentials (HTTP 401)."""

    code = "unauthorized"


class EmailTaken(Conflict):
    code = "email_taken"

    def __init__(self) -> None:
        super().__init__("That e-mail address is already in use.")


class RetryLater(DomainError):
    """A refusal that says when to come back: ``retry_after_s`` (whole seconds, >= 1) is
    sent as the ``Retry-After`` header."""

    code = "retry_later"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = max(1, retry_after_s)


class TooManyAttempts(RetryLater):
    """Too many tries for one account right now (HTTP 429): repeated wrong passwords
    (the back-off), or another login for the same account still being checked."""

    code = "too_many_attempts"


class Busy(RetryLater):
    """The server is at capacity for this kind of work (HTTP 503); nothing was done."""

    code = "busy"
