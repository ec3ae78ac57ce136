"""Progress of a load: one Rich bar per phase, and rows that report as they are consumed."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar, overload

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

CHUNK_ROWS = 20_000
"""Rows built at a time while the store consumes a phase: keeps memory flat and moves
the progress bar about 70 times over the 1.4M follows."""

T = TypeVar("T")


class Phase:
    """One progress bar of a load phase, or nothing when no ``Progress`` was given."""

    def __init__(self, progress: Progress | None, description: str, total: int) -> None:
        self._progress = progress
        self._task: TaskID | None = (
            progress.add_task(description, total=total) if progress is not None else None
        )

    def advance(self, steps: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, steps)

    def restart(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=0)

    def finish(self) -> None:
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, completed=task.total)


class LazyRows(Sequence[T]):
    """A read-only sequence of ``length`` rows made ``CHUNK_ROWS`` at a time by
    ``make(start, stop)`` while it is iterated, advancing ``phase`` as they are consumed.

    Hands a whole phase to one ``BulkStore`` call (one transaction, which SQLite needs
    for speed: see ``adapters/sqlite/bulk.py``) without building every row up front,
    while the progress bar still moves.
    """

    def __init__(self, length: int, make: Callable[[int, int], list[T]], phase: Phase) -> None:
        self._length = length
        self._make = make
        self._phase = phase

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            positions = range(self._length)[index]
            if positions.step == 1:
                return self._make(positions.start, positions.stop)
            return [self._make(i, i + 1)[0] for i in positions]
        position = range(self._length)[index]
        return self._make(position, position + 1)[0]

    def __iter__(self) -> Iterator[T]:
        self._phase.restart()
        for start in range(0, self._length, CHUNK_ROWS):
            chunk = self._make(start, min(start + CHUNK_ROWS, self._length))
            yield from chunk
            self._phase.advance(len(chunk))
