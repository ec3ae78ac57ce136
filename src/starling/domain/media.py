"""Media attached to tweets: images only, their limits, and the errors of uploading and
attaching them.

The limits are Twitter's documented ones for images (API v1.1 ``media/upload``: images up
to 5 MB, at most 4 per tweet).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from starling.domain.errors import DomainError, InvalidInput, NotFound

MAX_MEDIA_BYTES = 5 * 1024 * 1024
"""Largest accepted upload, in bytes (Twitter's image limit, 5 MB)."""

MAX_MEDIA_PER_TWEET = 4
"""Most media one tweet may carry (Twitter's limit for images)."""

THUMBNAIL_PX = 150
"""Longest side of a thumbnail in pixels (Twitter's ``thumb`` size is 150x150)."""

ImageFormat = Literal["jpeg", "png", "gif", "webp"]
"""Formats accepted, by what the bytes are (Pillow's decoder), never by file name."""

CONTENT_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
}
"""The ``Content-Type`` each accepted format is served with."""


class Media(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One uploaded image. ``id`` is a snowflake; ``format`` is what Pillow found in the
    bytes; ``width``/``height`` in pixels; ``size_bytes`` of the original; the thumbnail
    (at most :data:`THUMBNAIL_PX` on its longest side) has ``thumb_width``/``thumb_height``
    and the same format. ``created_at_ms`` is Unix ms."""

    id: int
    owner_id: int
    format: ImageFormat
    width: int
    height: int
    size_bytes: int
    thumb_width: int
    thumb_height: int
    created_at_ms: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def key(self) -> str:
        """Where the original lives in the :class:`~starling.ports.MediaStore`."""
        return media_keys(self.id, self.format)[0]

    @property
    def thumb_key(self) -> str:
        """Where the thumbnail lives, beside the original."""
        return media_keys(self.id, self.format)[1]


def media_keys(media_id: int, format: str) -> tuple[str, str]:
    """The :class:`~starling.ports.MediaStore` keys of an upload: original, thumbnail."""
    return f"{media_id}.{format}", f"{media_id}.thumb.{format}"


class MediaTooLarge(DomainError):
    """HTTP 413."""

    code = "media_too_large"

    def __init__(self) -> None:
        super().__init__(f"Media must be at most {MAX_MEDIA_BYTES} bytes (5 MB).")


class ImageTooLarge(MediaTooLarge):
    """HTTP 413: the image's header says it has more pixels than the service decodes
    (a small file can describe a huge bitmap: a "decompression bomb")."""

    code = "image_too_large"

    def __init__(self, width: int, height: int, max_pixels: int) -> None:
        DomainError.__init__(
            self,
            f"The image is {width}x{height} pixels; at most {max_pixels:,} pixels are accepted.",
        )


class UnsupportedMedia(DomainError):
    """HTTP 415: the bytes are not an image of an accepted format."""

    code = "unsupported_media_type"

    def __init__(self) -> None:
        super().__init__("The file is not a JPEG, PNG, GIF or WebP image.")


class MediaNotFound(NotFound):
    code = "media_not_found"

    def __init__(self) -> None:
        super().__init__("No such media.")


class TooManyMedia(InvalidInput):
    code = "too_many_media"

    def __init__(self) -> None:
        super().__init__(f"A tweet can carry at most {MAX_MEDIA_PER_TWEET} media.")


class MediaNotOwned(InvalidInput):
    """Attaching someone else's upload (422; the media exists, but is not the poster's)."""

    code = "media_not_owned"

    def __init__(self) -> None:
        super().__init__("You can only attach media you uploaded.")
