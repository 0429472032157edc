"""The HIERARCHY block of a BVH file: joint names, parents, offsets and channels.

Tokens are read with their line numbers so every refusal names the line. End Sites are
checked and dropped (their OFFSET only gives a leaf bone's length).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, LayoutError

#: channel name (lower case) -> (kind "position" or "rotation", axis "X", "Y" or "Z")
CHANNELS = {f"{a}{kind}".lower(): (kind, a) for a in "XYZ" for kind in ("position", "rotation")}
_MOTION = re.compile(rb"^[ \t]*MOTION[ \t\r]*$", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class Hierarchy:
    """The HIERARCHY block: joints in file order (End Sites left out), lengths in file units."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray  # (J, 3) OFFSET values
    channels: tuple[tuple[tuple[str, str], ...], ...]  # per joint: (kind, axis) in file order

    @property
    def num_channels(self) -> int:
        return sum(len(c) for c in self.channels)


def parse_hierarchy(path: Path, raw: bytes) -> tuple[Hierarchy, int, int]:
    """(hierarchy, byte offset just after the MOTION line, the MOTION line's number)."""
    start = raw.lstrip(b"\xef\xbb\xbf \t\r\n")  # a UTF-8 byte order mark, blank lines
    if start[:9].upper() != b"HIERARCHY":
        line = raw[: len(raw) - len(start)].count(b"\n") + 1
        first = start[:40].split(b"\n")[0].decode("utf-8", errors="replace").strip()
        raise CorruptFileError(path, f"not a BVH file: line {line} starts with {first!r}, expected HIERARCHY")
    m = _MOTION.search(raw)
    head = (raw if m is None else raw[: m.start()]).decode("utf-8", errors="replace").lstrip("\ufeff")
    tokens = [(tok, n) for n, line in enumerate(head.splitlines(), 1) for tok in line.split()]
    if m is None:
        raise CorruptFileError(path, "no MOTION section: the file ends inside or after the HIERARCHY (truncated?)")
    motion_line = head.count("\n") + 1
    end = raw.find(b"\n", m.end())
    data_start = len(raw) if end < 0 else end + 1
    return _Parser(path, tokens).run(motion_line), data_start, motion_line


@dataclass
class _Parser:
    """Walks the HIERARCHY tokens (the first, HIERARCHY itself, skipped), one keyword a step."""

    path: Path
    tokens: list[tuple[str, int]]  # (token, line number)
    names: list[str] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    offsets: list[list[float] | None] = field(default_factory=list)
    channels: list[tuple[tuple[str, str], ...]] = field(default_factory=list)
    stack: list[tuple[int, int]] = field(default_factory=list)  # open blocks: (joint, -1 an End Site; line)

    def run(self, motion_line: int) -> Hierarchy:
        steps = {"ROOT": self._joint, "JOINT": self._joint, "END": self._end_site, "OFFSET": self._offset,
                 "CHANNELS": self._channels, "}": self._close}
        i = 1
        while i < len(self.tokens):
            tok, line = self.tokens[i]
            step = steps.get(tok.upper())
            if step is None:
                raise CorruptFileError(self.path, f"unexpected {tok[:40]!r} at line {line} in the HIERARCHY")
            i = step(i)
        return self._finish(motion_line)

    def _in_joint(self) -> bool:
        return bool(self.stack) and self.stack[-1][0] >= 0

    def _joint(self, i: int) -> int:
        tok, line = self.tokens[i]
        key = tok.upper()
        if key == "ROOT" and self.names:
            raise LayoutError(self.path, f"a second ROOT at line {line}: only files with one skeleton are read")
        if key == "JOINT" and not self._in_joint():
            raise CorruptFileError(self.path, f"JOINT at line {line} is outside any joint's braces")
        if key == "ROOT" and self.stack:
            raise CorruptFileError(self.path, f"ROOT at line {line} is inside another block")
        j = i + 1
        while j < len(self.tokens) and self.tokens[j][1] == line and self.tokens[j][0] != "{":
            j += 1
        name = " ".join(t for t, _ in self.tokens[i + 1 : j])
        if not name:
            raise CorruptFileError(self.path, f"{tok} at line {line} has no name")
        if name in self.names:
            raise LayoutError(
                self.path, f"joint name {name!r} is used twice (line {line}); joint names must be unique"
            )
        self.names.append(name)
        self.parents.append(self.stack[-1][0] if self.stack else -1)
        self.offsets.append(None)
        self.channels.append(())
        j = self._open_brace(j, f"{tok} {name}")
        self.stack.append((len(self.names) - 1, line))
        return j

    def _end_site(self, i: int) -> int:
        line = self.tokens[i][1]
        if i + 1 >= len(self.tokens) or self.tokens[i + 1][0].upper() != "SITE":
            raise CorruptFileError(self.path, f"'End' at line {line} is not followed by 'Site'")
        if not self._in_joint():
            raise CorruptFileError(self.path, f"End Site at line {line} is outside any joint's braces")
        i = self._open_brace(i + 2, "End Site")
        self.stack.append((-1, line))
        return i

    def _offset(self, i: int) -> int:
        line = self.tokens[i][1]
        if not self.stack:
            raise CorruptFileError(self.path, f"OFFSET at line {line} is outside any joint's braces")
        numbers = self._numbers(i + 1, 3, "OFFSET", line)
        if self.stack[-1][0] >= 0:  # an End Site's offset is dropped
            self.offsets[self.stack[-1][0]] = numbers
        return i + 4

    def _channels(self, i: int) -> int:
        line = self.tokens[i][1]
        if not self._in_joint():
            raise CorruptFileError(self.path, f"CHANNELS at line {line} is not inside a joint")
        joint = self.stack[-1][0]
        count = self.tokens[i + 1][0] if i + 1 < len(self.tokens) else ""
        if not count.isdigit():
            raise CorruptFileError(
                self.path, f"CHANNELS at line {line} must be followed by a channel count, got {count!r}"
            )
        n = int(count)
        found = self.tokens[i + 2 : i + 2 + n]
        if len(found) < n:
            raise CorruptFileError(self.path, f"CHANNELS at line {line} declares {n} channels but the hierarchy ends")
        parsed = []
        for t, ln in found:
            if t.lower() not in CHANNELS:
                raise LayoutError(
                    self.path,
                    f"unknown channel {t!r} for joint {self.names[joint]!r} at line {ln}; channels are "
                    "Xposition Yposition Zposition Xrotation Yrotation Zrotation",
                )
            parsed.append(CHANNELS[t.lower()])
        if len(set(parsed)) != len(parsed):
            raise LayoutError(self.path, f"joint {self.names[joint]!r} lists a channel twice at line {line}")
        self.channels[joint] = tuple(parsed)
        return i + 2 + n

    def _close(self, i: int) -> int:
        if not self.stack:
            raise CorruptFileError(self.path, f"unbalanced braces: '}}' at line {self.tokens[i][1]} closes nothing")
        self.stack.pop()
        return i + 1

    def _finish(self, motion_line: int) -> Hierarchy:
        if self.stack:
            joint, line = self.stack[-1]
            what = "an End Site" if joint < 0 else f"joint {self.names[joint]!r}"
            raise CorruptFileError(
                self.path,
                f"unbalanced braces: the block of {what} (line {line}) is not closed before MOTION (line {motion_line})",
            )
        if not self.names:
            raise CorruptFileError(self.path, "the HIERARCHY has no ROOT joint")
        missing = [n for n, o in zip(self.names, self.offsets) if o is None]
        if missing:
            raise LayoutError(self.path, f"joint {missing[0]!r} has no OFFSET")
        hierarchy = Hierarchy(tuple(self.names), tuple(self.parents), np.array(self.offsets, dtype=np.float64),
                              tuple(self.channels))
        if hierarchy.num_channels == 0:
            raise LayoutError(self.path, "no joint has CHANNELS, so there is no motion to read")
        return hierarchy

    def _open_brace(self, i: int, what: str) -> int:
        tokens = self.tokens
        if i >= len(tokens) or tokens[i][0] != "{":
            got = f"{tokens[i][0][:40]!r} at line {tokens[i][1]}" if i < len(tokens) else "the end of the hierarchy"
            raise CorruptFileError(self.path, f"{what} must be followed by '{{', got {got}")
        return i + 1

    def _numbers(self, i: int, n: int, what: str, line: int) -> list[float]:
        found = self.tokens[i : i + n]
        if len(found) < n:
            raise CorruptFileError(self.path, f"{what} at line {line} needs {n} numbers, the hierarchy ends first")
        try:
            return [float(t) for t, _ in found]
        except ValueError:
            bad = next((t, ln) for t, ln in found if not is_number(t))
            raise CorruptFileError(self.path, f"bad number {bad[0][:40]!r} in {what} at line {bad[1]}") from None


def is_number(text) -> bool:
    """True when float() reads `text` (str or bytes)."""
    try:
        float(text)
        return True
    except ValueError:
        return False
