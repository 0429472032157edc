"""The one family of exceptions core raises.

Operators catch `MotionTokensError` and report its message; the command line prints it and
exits with status 2. Messages say what was wrong, with which file or object, and what to do.
"""

from __future__ import annotations

import logging
import os


class MotionTokensError(Exception):
    """Base class: anything a user can act on."""


class InputFileError(MotionTokensError):
    """A file we were asked to read is missing, unreadable, truncated or in the wrong layout."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class MissingFileError(InputFileError):
    """The file does not exist (or is not a file)."""


class CorruptFileError(InputFileError):
    """The file exists but cannot be parsed: truncated, not the format its name says, damaged."""


class LayoutError(InputFileError):
    """The file parses but its keys, shapes or structure are not the layout we read."""


class SkeletonError(MotionTokensError):
    """A skeleton or armature does not have what the motion needs (bones, joints, names)."""


class OptionError(MotionTokensError):
    """A numeric option (a frame rate, a frame number, a seed) is outside its range
    (core.limits); the message names the option."""


class OutputError(MotionTokensError):
    """A result cannot be written where the user asked (bad suffix, unwritable folder)."""


def require_file(path: str | os.PathLike) -> str:
    """Return `path` as a string, or raise `MissingFileError` naming it."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise MissingFileError(path, "no such file")
    if not os.path.isfile(path):
        raise MissingFileError(path, "is not a file")
    if os.path.getsize(path) == 0:
        raise CorruptFileError(path, "the file is empty")
    return path


class BundleError(InputFileError):
    """A model bundle's manifest or weights are missing, tampered with or inconsistent."""


def pass_on(notes: list[str], warnings: list[str] | None, log: logging.Logger, path, level: int = logging.INFO):
    """Hand `notes` (messages for the user, not errors) to the caller: appended to its
    `warnings` list when it gave one, else logged on `log` at `level` as "path: note"."""
    if warnings is not None:
        warnings.extend(notes)
        return
    for note in notes:
        log.log(level, "%s: %s", path, note)
