"""Media: upload (multipart), and the original and thumbnail with cache headers."""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from starling.api.deps import Core, ViewerId
from starling.api.errors import ApiError, error_response
from starling.api.openapi import IMAGE_UPLOAD, MediaId, raises, string_schema
from starling.api.params import parse_id
from starling.api.schemas import ErrorOut, MediaOut, media_out
from starling.bootstrap import App
from starling.domain.media import MAX_MEDIA_BYTES, MediaNotFound, MediaTooLarge

MULTIPART_OVERHEAD: Final = 64 * 1024
"""Bytes of a request beyond the file itself that an upload may use (boundaries, part
headers, a few small fields)."""

CACHE_CONTROL: Final = "public, max-age=31536000, immutable"
"""Media never change under an id: cache for a year, never revalidate (RFC 8246)."""

IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        description="ETags of the copies the client holds.",
        schema_extra=string_schema(),
    ),
]


IMAGE_DOC: Final = {
    200: ResponseSpec(
        data_container=bytes,
        media_type="image/*",
        description="The image (JPEG, PNG, GIF or WebP)",
        generate_examples=False,
    ),
    304: ResponseSpec(
        data_container=None,
        description="Not modified: the client's copy (If-None-Match) is current",
        generate_examples=False,
    ),
}
IMAGE_HEADERS: Final = {
    "Cache-Control": f"`{CACHE_CONTROL}`: an image never changes under its id.",
    "ETag": "The version of the image (original or thumbnail).",
}


def _too_large(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorOut]:
    return error_response(413, MediaTooLarge.code, MediaTooLarge().message)


class MediaController(Controller):
    path = "/api/starling/v1/media"
    tags = ["media"]

    @post(
        "/",
        status_code=201,
        summary="Upload an image (multipart field `file`)",
        # Litestar counts the body while it streams in and stops at this size: an
        # oversized upload is refused without being read, let alone buffered, in full.
        request_max_body_size=MAX_MEDIA_BYTES + MULTIPART_OVERHEAD,
        exception_handlers={RequestEntityTooLarge: _too_large},
        opt=raises(
            "malformed_multipart",
            "media_too_large",
            "image_too_large",
            "unsupported_media_type",
            "file_missing",
            request_body=IMAGE_UPLOAD,
        ),
    )
    async def upload(
        self, request: Request[Any, Any, Any], core: Core, viewer_id: ViewerId
    ) -> MediaOut:
        try:
            form = await request.form()
        except RequestEntityTooLarge:
            raise
        except ClientException as exc:
            raise ApiError(
                400, "malformed_multipart", "The body is not valid multipart/form-data."
            ) from exc
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422, "file_missing", "Send the image as the multipart/form-data field `file`."
            )
        try:
            # Parts larger than 1 MiB are spooled to a temporary file by Litestar.
            data = await upload.read(MAX_MEDIA_BYTES + 1)
        finally:
            await upload.close()
        item = await core.media.upload(owner_id=viewer_id, data=data)
        return media_out(item)

    @get(
        "/{media_id:str}",
        summary="An uploaded image",
        responses=IMAGE_DOC,
        opt=raises(headers={200: IMAGE_HEADERS, 304: IMAGE_HEADERS}),
    )
    async def original(
        self, media_id: MediaId, core: Core, if_none_match: IfNoneMatch = None
    ) -> Response[bytes]:
        return await _serve(if_none_match, core, media_id, thumbnail=False)

    @get(
        "/{media_id:str}/thumb",
        summary="The thumbnail of an uploaded image",
        responses=IMAGE_DOC,
        opt=raises(headers={200: IMAGE_HEADERS, 304: IMAGE_HEADERS}),
    )
    async def thumbnail(
        self, media_id: MediaId, core: Core, if_none_match: IfNoneMatch = None
    ) -> Response[bytes]:
        return await _serve(if_none_match, core, media_id, thumbnail=True)


async def _serve(
    if_none_match: str | None, core: App, raw_id: str, *, thumbnail: bool
) -> Response[bytes]:
    """The bytes with immutable cache headers; 304 when the client holds them (ETag)."""
    item = await core.media.get(media_id=parse_id(raw_id, MediaNotFound))
    etag = f'"{item.id}{"-thumb" if thumbnail else ""}"'
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if etag in _etags(if_none_match):
        return Response(b"", status_code=304, headers=headers)
    data = await core.media.content(item, thumbnail=thumbnail)
    return Response(data, media_type=item.content_type, headers=headers)


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
