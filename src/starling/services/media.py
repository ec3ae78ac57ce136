"""Media: upload (validated by content with Pillow), serve, and check for attaching.

An upload is accepted when Pillow recognises its bytes as a JPEG, PNG, GIF or WebP image
of at most ``max_pixels`` pixels (from its header) and can decode it, whatever the file
name or declared content type say. The original bytes are stored as uploaded; a
thumbnail (longest side :data:`THUMBNAIL_PX`) is made with ``Image.draft`` and
``Image.thumbnail`` and stored beside it, in the same format. At most ``decoders``
images are decoded at once.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import io
import sys
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from PIL import Image, UnidentifiedImageError

from starling.domain.ids import SnowflakeGenerator
from starling.domain.media import (
    MAX_MEDIA_BYTES,
    MAX_MEDIA_PER_TWEET,
    THUMBNAIL_PX,
    ImageFormat,
    ImageTooLarge,
    Media,
    MediaNotFound,
    MediaNotOwned,
    MediaTooLarge,
    TooManyMedia,
    UnsupportedMedia,
)
from starling.ports import Clock, MediaRows, MediaStore

MAX_SIDE_PX: Final = 8_192
"""Largest accepted width or height in pixels (Twitter's limit for images)."""

DEFAULT_MAX_PIXELS: Final = 40_000_000
"""Largest accepted image in pixels unless configured (``STARLING_MEDIA_MAX_PIXELS``):
the guard against decompression bombs, e.g. an 8192x8192 PNG of 261 KB, which decodes
to 200-270 MB and once took a worker to +770 MB per upload. Read from the header, so
such a file is refused before it is decoded."""

_FORMATS: Final[dict[str, ImageFormat]] = {
    "JPEG": "jpeg",
    "PNG": "png",
    "GIF": "gif",
    "WEBP": "webp",
}
"""Pillow's format names of the accepted formats (``Image.format`` after ``open``)."""


class ImageInfo:
    """What :func:`inspect_image` found: format, size in pixels, and the thumbnail."""

    __slots__ = ("format", "height", "thumb_bytes", "thumb_height", "thumb_width", "width")

    def __init__(
        self,
        *,
        format: ImageFormat,
        width: int,
        height: int,
        thumb_bytes: bytes,
        thumb_width: int,
        thumb_height: int,
    ) -> None:
        self.format = format
        self.width = width
        self.height = height
        self.thumb_bytes = thumb_bytes
        self.thumb_width = thumb_width
        self.thumb_height = thumb_height


def inspect_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Decode ``data`` as an image and make its thumbnail (CPU-bound: call it off the
    event loop). Raises :class:`UnsupportedMedia` for bytes that are not a complete
    JPEG/PNG/GIF/WebP image, :class:`ImageTooLarge` for more than ``max_pixels`` pixels
    or :data:`MAX_SIDE_PX` a side, both read from the header before anything is decoded.

    Memory: a JPEG is decoded straight at the smallest DCT scale (1/2 to 1/8) that still
    covers the thumbnail (``Image.draft``), so its full bitmap never exists. Other
    formats cannot decode at a reduced scale, so their bitmap (at most ``max_pixels``) is
    decoded once, reduced in place by an integer factor (``Image.reduce``, inside
    ``Image.thumbnail``) and released; nothing copies it.
    """
    try:
        with warnings.catch_warnings():
            # Pillow warns (DecompressionBombWarning) before it refuses; the pixel limit
            # below refuses far earlier, so the warning adds nothing.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = _FORMATS.get(probe.format or "")
                if fmt is None:
                    raise UnsupportedMedia()
                width, height = probe.size
                if width * height > max_pixels or max(width, height) > MAX_SIDE_PX:
                    raise ImageTooLarge(width, height, max_pixels)
                pillow_format = probe.format
                probe.verify()  # checksums and structure, without decoding pixels
            # verify() leaves the image unusable: open a fresh one for the thumbnail.
            with Image.open(io.BytesIO(data)) as image:
                image.draft(image.mode, (THUMBNAIL_PX, THUMBNAIL_PX))
                image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), reducing_gap=2.0)
                out = io.BytesIO()
                image.save(out, format=pillow_format)
                thumb_width, thumb_height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports truncated or corrupt data as OSError/SyntaxError/ValueError.
        raise UnsupportedMedia() from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(width, height, max_pixels) from exc
    return ImageInfo(
        format=fmt,
        width=width,
        height=height,
        thumb_bytes=out.getvalue(),
        thumb_width=thumb_width,
        thumb_height=thumb_height,
    )


async def attachable_media(
    store: MediaRows, *, owner_id: int, media_ids: Sequence[int]
) -> list[Media]:
    """The media of ``media_ids`` without repeats, in order, once checked for a tweet by
    ``owner_id``.

    Raises :class:`TooManyMedia` (more than :data:`MAX_MEDIA_PER_TWEET`),
    :class:`MediaNotFound` (an unknown id), :class:`MediaNotOwned` (another user's)."""
    wanted = list(dict.fromkeys(media_ids))
    if len(wanted) > MAX_MEDIA_PER_TWEET:
        raise TooManyMedia()
    if not wanted:
        return []
    found = await store.get_media(wanted)
    for media_id in wanted:
        item = found.get(media_id)
        if item is None:
            raise MediaNotFound()
        if item.owner_id != owner_id:
            raise MediaNotOwned()
    return [found[media_id] for media_id in wanted]


def _release_freed_memory() -> None:
    """Hand memory freed by a decode back to the operating system (glibc ``malloc_trim``;
    a no-op elsewhere). Pillow allocates a bitmap in 16 MB blocks; once glibc has freed
    one mmapped block it raises its mmap threshold and serves the next ones from the
    heap, where freed memory stays with the process: 12 uploads once left a worker 2.8 GB
    larger for good. Trimming costs about a millisecond per decode."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _load_malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc (e.g. musl): nothing to trim
    return trim


_malloc_trim = _load_malloc_trim()


class MediaService:
    """Uploads and reads of media through the :class:`MediaStore` port."""

    def __init__(
        self,
        *,
        store: MediaRows,
        media_store: MediaStore,
        ids: SnowflakeGenerator,
        clock: Clock,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        decoders: int = 1,
    ) -> None:
        self._store = store
        self._media_store = media_store
        self._ids = ids
        self._clock = clock
        self._max_pixels = max_pixels
        # Decoding is CPU-bound and holds a bitmap: more at once than cores only adds
        # memory. Uploads beyond wait here holding their bytes (5 MB at most each). Own
        # threads, not the loop's default executor: glibc gives each thread a malloc
        # arena that keeps what a decode freed, so every extra thread that ever decoded
        # would keep a bitmap's worth (seen: 804 MB after 12 uploads of 36 MP on 6
        # threads).
        self._decoding = asyncio.Semaphore(decoders)
        self._decoders = ThreadPoolExecutor(max_workers=decoders, thread_name_prefix="decode")

    def close(self) -> None:
        """Let the decoding threads end."""
        self._decoders.shutdown(wait=False, cancel_futures=True)

    async def upload(self, *, owner_id: int, data: bytes) -> Media:
        """Validate and store an image uploaded by ``owner_id``; returns its metadata.

        Raises :class:`MediaTooLarge` (over :data:`MAX_MEDIA_BYTES` bytes),
        :class:`ImageTooLarge` (over the pixel limit or :data:`MAX_SIDE_PX` a side) and
        :class:`UnsupportedMedia` (not an image). The files are written before the row,
        so a row always has its files."""
        if len(data) > MAX_MEDIA_BYTES:
            raise MediaTooLarge()
        async with self._decoding:
            loop = asyncio.get_running_loop()
            info = await loop.run_in_executor(self._decoders, self._inspect, data)
        item = Media(
            id=self._ids.next_id(),
            owner_id=owner_id,
            format=info.format,
            width=info.width,
            height=info.height,
            size_bytes=len(data),
            thumb_width=info.thumb_width,
            thumb_height=info.thumb_height,
            created_at_ms=self._clock.now_ms(),
        )
        await self._media_store.put(item.key, data)
        await self._media_store.put(item.thumb_key, info.thumb_bytes)
        await self._store.add_media(item)
        return item

    def _inspect(self, data: bytes) -> ImageInfo:
        try:
            return inspect_image(data, max_pixels=self._max_pixels)
        finally:
            _release_freed_memory()

    async def get(self, *, media_id: int) -> Media:
        """Raises :class:`MediaNotFound`."""
        item = (await self._store.get_media([media_id])).get(media_id)
        if item is None:
            raise MediaNotFound()
        return item

    async def content(self, item: Media, *, thumbnail: bool = False) -> bytes:
        """The bytes of the original (or its thumbnail). Raises :class:`MediaNotFound`
        when the files are gone (removed by an operator)."""
        data = await self._media_store.get(item.thumb_key if thumbnail else item.key)
        if data is None:
            raise MediaNotFound()
        return data
