"""The errors a user can fix. Each message says what is wrong, where, and how to fix it."""

from __future__ import annotations


class CopcodeError(Exception):
    """A problem in the user's project, input or command; its text is shown as it is."""

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        self.what, self.where, self.fix = what, where, fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        return f"{text}\n  How to fix: {self.fix}" if self.fix else text


class ProjectError(CopcodeError):
    """The project folder, its settings or its participants file."""


class TranscriptError(CopcodeError):
    """A transcript that cannot be read or has no speaker turns."""


class UnreadableFile(TranscriptError):
    """A transcript file that cannot be read at all: skipped with a warning unless --strict."""


def counted(n: int, noun: str) -> str:
    """"1 tag", "7,758 tags": a count and its noun, for messages."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


class CodebookError(CopcodeError):
    """A codebook that is not valid; `problems` lists every one of them."""

    def __init__(self, path: str, problems: list[str]):
        self.problems = problems
        super().__init__(
            f"the codebook is not valid ({counted(len(problems), 'problem')}):\n" + "\n".join(f"  {p}" for p in problems),
            where=path,
            fix="correct the lines named above; `copcode codebook check` checks again.",
        )


class StoreError(CopcodeError):
    """The project's store cannot be opened, read or written. None of its kinds advises
    moving the store away: the team's decisions live in it."""


class StoreLocked(StoreError):
    """Another program holds the store's lock longer than copcode waits."""


class StoreFull(StoreError):
    """The disk (or the store's size limit) is full: the change was not written."""


class StoreDamaged(StoreError):
    """The file is not a SQLite database, or some of its pages are damaged."""


class StoreReadOnly(StoreError):
    """A command that writes met a store or folder it may not write."""


class StoreTooNew(StoreError):
    """The store was written by a newer copcode, with a schema this one does not know."""


class LookupFailed(CopcodeError):
    """A theme, code, segment or participant that does not exist."""


class NotCodedYet(CopcodeError):
    """A command that needs `copcode code` to have run first."""
