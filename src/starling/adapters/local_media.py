"""``MediaStore`` on a local directory: the embedded default (``STARLING_MEDIA_DIR``).

Files are written to a temporary name and renamed into place, so a reader never sees a
half-written image and a crash leaves no truncated file under a real key. File I/O runs
in a worker thread: an image of up to 5 MB would otherwise hold the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from pathlib import Path

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""Keys are file names in one directory: no separators, no leading dot (no traversal)."""


class LocalMediaStore:
    """Media bytes as files in ``directory`` (created on first write).

    Raises ``ValueError`` for a key that is not a plain file name.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"invalid media key {key!r}")
        return self.directory / key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self._path(key), data)

    def _put(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, True)
