"""BVH motion files: read any hierarchy into a `Motion` (metres), write a standard BVH.

Reading follows the usual BVH semantics (those of Blender's importer):
- A joint's rotation channels are Euler angles in degrees applied in the order the channels
  are listed: `Zrotation Xrotation Yrotation` means R = Rz @ Rx @ Ry. Any order and any
  subset of the three axes is read; a missing axis is zero.
- Position channels replace the joint's OFFSET (for the root they are its world position).
  Non-root joints with position channels (every Bandai joint has six channels) get the
  first frame's channel values as their rest offset. Where those values move over time
  (Bandai's `Hips` under a static `joint_Root`), the movement is carried by the root
  translation when that is exact for the moving joint and everything below it (each of its
  ancestors has that one child, so only the ancestors themselves move with it); otherwise
  the first frame is used and a note says how far the joint moved. Notes (this one, the unit
  "auto" picked, lines after the declared frames) go to the caller's `warnings` list, or to
  the `logging` logger of this module when it passes none.
- End Sites are dropped (their OFFSET only gives a leaf bone's length).
- The file's axes are kept (Bandai, like SMPL-X, is Y up); lengths are converted to metres.
The MOTION block is parsed in one numpy call; per-line checks are vectorised too, so a
take of any length costs a few numpy passes.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from .. import rotations as rot
from ..errors import CorruptFileError, LayoutError, OutputError, pass_on, require_file
from ..kinematics import depth_first_order, forward_kinematics, joint_children, joint_depths, rest_positions
from ..motion import Motion, require_finite
from ..skeleton import Skeleton
from .atomic import write_atomically
from .bvh_hierarchy import Hierarchy, is_number, parse_hierarchy

log = logging.getLogger(__name__)

#: Metres per file unit for the `units` argument of read_bvh and write_bvh.
UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254}

#: units="auto": a rest skeleton spanning more than this many file units is in centimetres,
#: more than AUTO_MM_ABOVE in millimetres, else metres (people are 1-2 m tall).
AUTO_CM_ABOVE = 3.0
AUTO_MM_ABOVE = 300.0

_IS_SPACE = np.zeros(256, dtype=bool)  # byte value -> is it whitespace
_IS_SPACE[list(b" \t\n\r\x0b\x0c")] = True
_FRAMES = re.compile(rb"[ \t]*Frames:[ \t]*(\S*)[^\n]*(?:\n|\Z)", re.IGNORECASE)
_FRAME_TIME = re.compile(rb"[ \t]*Frame[ \t]+Time:[ \t]*(\S*)[^\n]*(?:\n|\Z)", re.IGNORECASE)
_BLANK_LINES = re.compile(rb"(?:[ \t\r]*\n)*")


def read_bvh(path: str | os.PathLike, units: str = "auto", warnings: list[str] | None = None) -> Motion:
    """The motion in a BVH file, in metres, on a Skeleton with the file's joint names.

    units: the file's length unit, "auto" (see AUTO_CM_ABOVE), "m", "cm", "mm" or "inch".
    warnings: a list the notes on reading are appended to (None: they are logged).
    Returns a Motion: rotations (T, J, 4) local quaternions, trans (T, 3) with the root's
    world position = skeleton.offsets[0] + trans, fps = 1 / Frame Time, named after the file.
    Raises MissingFileError, CorruptFileError (empty, truncated, bad numbers, unbalanced
    braces, no HIERARCHY or MOTION) or LayoutError (unknown channels, several roots,
    duplicate names, zero frames).
    """
    if units != "auto" and units not in UNIT_SCALES:
        raise ValueError(f"units must be 'auto' or one of {', '.join(UNIT_SCALES)}, got {units!r}")
    path = Path(require_file(path))
    raw = path.read_bytes()
    hierarchy, data_start, motion_line = parse_hierarchy(path, raw)
    frame_time, frames, data_start, data_line = _parse_frame_header(path, raw, data_start, motion_line)
    notes: list[str] = []
    values = _parse_frames(path, raw[data_start:], data_line, hierarchy.num_channels, frames, notes)
    motion = _motion_from_channels(path, hierarchy, values, frame_time, units, notes)
    pass_on(notes, warnings, log, path)
    return motion


def write_bvh(path: str | os.PathLike, motion: Motion, units: str = "cm", order: str = "ZXY") -> Path:
    """Write `motion` as a standard BVH, atomically; returns the path written.

    The root gets six channels (position, then rotation in `order`), every other joint three
    rotation channels in `order` (e.g. "ZXY": Zrotation Xrotation Yrotation, R = Rz @ Rx @ Ry).
    Leaves get an End Site half as long as their own bone (zero where that bone has no
    length). Lengths are written in `units` ("m", "cm", "mm", "inch"), angles in degrees.
    Joints are written depth first, so read_bvh returns them in that order, with the same
    names. Raises OutputError for an empty or non-finite motion (core.motion.require_finite),
    unusable joint names or an unwritable path.
    """
    if units not in UNIT_SCALES:
        raise ValueError(f"units must be one of {', '.join(UNIT_SCALES)}, got {units!r}")
    order = order.upper()
    if sorted(order) != ["X", "Y", "Z"]:
        raise ValueError(f"order must be a permutation of XYZ, got {order!r}")
    path = Path(path)
    sk = motion.skeleton
    if motion.num_frames == 0:
        raise OutputError(f"cannot write {path}: the motion {motion.name!r} has no frames")
    require_finite(motion, path)
    for name in sk.names:
        if not name or name != name.strip() or any(c in name for c in "{}\r\n"):
            raise OutputError(f"cannot write {path}: joint name {name!r} cannot be written in a BVH hierarchy")
    scale = 1.0 / UNIT_SCALES[units]
    dfs = depth_first_order(sk.parents)
    header = _hierarchy_text(sk, dfs, scale, order)

    euler = np.degrees(rot.matrix_to_euler(rot.quat_to_matrix(motion.rotations[:, dfs]), order))  # (T, J, 3)
    root_world = (sk.offsets[0] + motion.trans) * scale  # (T, 3)
    table = np.concatenate([root_world, euler.reshape(motion.num_frames, -1)], axis=1)
    table = np.where(np.abs(table) < 5e-7, 0.0, table)  # no "-0.000000"
    row = " ".join(["%.6f"] * table.shape[1]) + "\n"
    # One formatting call for the whole table: the row pattern repeated once per frame.
    body = (row * motion.num_frames) % tuple(table.ravel().tolist())
    text = f"{header}MOTION\nFrames: {motion.num_frames}\nFrame Time: {1.0 / motion.fps:.10g}\n{body}"
    return write_atomically(path, lambda f: f.write(text.encode("utf-8")))


# --- reading -------------------------------------------------------------------------------


def _parse_frame_header(path: Path, raw: bytes, pos: int, motion_line: int) -> tuple[float, int, int, int]:
    """(frame time, frame count, byte offset of the first frame line, its line number)."""
    line = motion_line + 1
    for name, pattern in (("Frames:", _FRAMES), ("Frame Time:", _FRAME_TIME)):
        blanks = _BLANK_LINES.match(raw, pos)
        line += raw.count(b"\n", pos, blanks.end())
        pos = blanks.end()
        m = pattern.match(raw, pos)
        if m is None:
            eol = raw.find(b"\n", pos)
            got = raw[pos : len(raw) if eol < 0 else eol].decode("utf-8", "replace").strip()
            if not got:
                raise CorruptFileError(path, f"truncated: the file ends at line {line}, before the '{name}' line")
            raise CorruptFileError(path, f"expected a '{name}' line at line {line} after MOTION, got {got[:40]!r}")
        value = m.group(1).decode("utf-8", "replace")
        if name == "Frames:":
            if not value.isdigit():
                raise CorruptFileError(path, f"bad frame count {value!r} at line {line}")
            frames = int(value)
            if frames == 0:
                raise LayoutError(path, f"the file declares zero frames (line {line}); there is no motion to read")
        else:
            if not is_number(value) or not (float(value) > 0 and np.isfinite(float(value))):
                raise CorruptFileError(
                    path, f"bad Frame Time {value!r} at line {line}; it must be a positive number of seconds"
                )
            frame_time = float(value)
        line += 1
        pos = m.end()
    return frame_time, frames, pos, line


def _parse_frames(
    path: Path, block: bytes, first_line: int, num_channels: int, frames: int, notes: list[str]
) -> np.ndarray:
    """(frames, num_channels) float64 from the frame lines; one numpy parse, vectorised checks.
    Lines after the declared frames are ignored, with a note in `notes`."""
    b = np.frombuffer(block, dtype=np.uint8)
    ws = _IS_SPACE[b]
    starts = ~ws & np.concatenate([[True], ws[:-1]])  # first character of each number
    newline_at = np.flatnonzero(b == 10)
    line_of = np.searchsorted(newline_at, np.flatnonzero(starts))  # line index (from 0) of each number
    per_line = np.bincount(line_of, minlength=len(newline_at) + 1)
    frame_lines = np.flatnonzero(per_line)  # line indices that hold numbers
    present = min(len(frame_lines), frames)
    wrong = np.flatnonzero(per_line[frame_lines[:present]] != num_channels)
    if wrong.size:
        k = int(wrong[0])
        n = int(per_line[frame_lines[k]])
        where = f"line {first_line + int(frame_lines[k])}"
        if k == len(frame_lines) - 1 and n < num_channels:
            raise CorruptFileError(
                path, f"truncated: frame {k + 1} of {frames} ({where}) has {n} of {num_channels} values"
            )
        raise CorruptFileError(
            path, f"{where} (frame {k + 1}) has {n} values; the CHANNELS declare {num_channels} per frame"
        )
    if len(frame_lines) < frames:
        last = f", the last at line {first_line + int(frame_lines[-1])}" if len(frame_lines) else ""
        raise CorruptFileError(
            path, f"truncated: 'Frames:' declares {frames} frames but {len(frame_lines)} are present{last}"
        )
    if len(frame_lines) > frames:
        notes.append(f"{len(frame_lines) - frames} lines after the {frames} declared frames were ignored")
    last_line = int(frame_lines[frames - 1])
    end = int(newline_at[last_line]) if last_line < len(newline_at) else len(block)
    tokens = block[:end].split()
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        k = next(k for k, t in enumerate(tokens) if not is_number(t))
        frame = k // num_channels
        raise CorruptFileError(
            path,
            f"bad number {tokens[k][:40].decode('utf-8', 'replace')!r} at line "
            f"{first_line + int(frame_lines[frame])} (frame {frame + 1}, value {k % num_channels + 1})",
        ) from None
    values = values.reshape(frames, num_channels)
    bad = ~np.isfinite(values)
    if bad.any():
        frame = int(np.flatnonzero(bad.any(axis=1))[0])
        raise CorruptFileError(
            path, f"{int(bad.sum())} NaN or infinite values, the first at line {first_line + int(frame_lines[frame])}"
        )
    return values


def _motion_from_channels(
    path: Path, h: Hierarchy, values: np.ndarray, frame_time: float, units: str, notes: list[str]
) -> Motion:
    """The Motion the channel table (T, C) describes; notes on what was approximated are
    appended to `notes`."""
    T, J = values.shape[0], len(h.names)
    pos_joint, pos_axis, pos_col, by_order = _channel_columns(h)
    quats = _local_rotations(values, by_order, J)
    # Local position of each joint in its parent's frame: the OFFSET, replaced by channels.
    local = np.broadcast_to(h.offsets, (T, J, 3)).copy()
    local[:, pos_joint, pos_axis] = values[:, pos_col]
    # Joints whose position channels change (by more than float noise in any unit).
    moving = [j for j in sorted(set(pos_joint)) if j > 0 and np.abs(local[:, j] - local[0, j]).max() > 1e-5]
    scale, unit_note = _unit_scale(units, local[0], h.parents, moving)
    if unit_note:
        notes.append(unit_note)
    local *= scale
    offsets = local[0].copy()
    offsets[0] = h.offsets[0] * scale  # the root's channels are its world position
    trans = local[:, 0] - offsets[0]
    if moving:
        trans = _carry_moving_joints(h, quats, offsets, trans, local, moving, notes)

    fps = 1.0 / frame_time
    if abs(fps - round(fps)) < 1e-4 * fps:  # "0.0333333" means 30 fps
        fps = float(round(fps))
    skeleton = Skeleton(h.names, h.parents, offsets)
    return Motion(skeleton, fps, rot.quat_normalize(quats), trans, name=path.stem)


def _channel_columns(h: Hierarchy):
    """Where each channel lives in the table: (position joints, their axes (0-2), their
    columns, rotation order -> [(joint, its three columns)]).

    A rotation order lists the file's axes first and appends missing ones, whose column is -1
    (the zero column `_local_rotations` adds)."""
    pos_joint, pos_axis, pos_col = [], [], []
    by_order: dict[str, list[tuple[int, list[int]]]] = {}
    col = 0
    for j, chans in enumerate(h.channels):
        order, cols = "", []
        for kind, axis in chans:
            if kind == "position":
                pos_joint.append(j), pos_axis.append("XYZ".index(axis)), pos_col.append(col)
            else:
                order, cols = order + axis, cols + [col]
            col += 1
        if order:
            missing = "".join(a for a in "XYZ" if a not in order)
            by_order.setdefault(order + missing, []).append((j, cols + [-1] * len(missing)))
    return pos_joint, pos_axis, pos_col, by_order


def _local_rotations(values: np.ndarray, by_order, J: int) -> np.ndarray:
    """(T, J, 4) local quaternions from the Euler channels (identity for joints without any)."""
    T = values.shape[0]
    quats = np.zeros((T, J, 4))
    quats[..., 0] = 1.0
    with_zero = np.concatenate([values, np.zeros((T, 1))], axis=1)
    for order, items in by_order.items():  # one vectorised conversion per rotation order
        joints = [j for j, _ in items]
        angles = np.radians(with_zero[:, np.array([c for _, c in items])])  # (T, Jg, 3)
        quats[:, joints] = rot.matrix_to_quat(rot.euler_to_matrix(angles, order))
    return quats


def _carry_moving_joints(h: Hierarchy, quats, offsets, trans, local, moving: list[int], notes: list[str]):
    """(T, 3) root translation carrying the movement of each `moving` joint where that is
    exact (every ancestor has that one child); a note in `notes` for each moving joint."""
    glob, _ = forward_kinematics(quats, offsets, h.parents, offsets[0] + trans)
    children = joint_children(h.parents)
    for j in moving:
        ancestors = [h.parents[j]]
        while h.parents[ancestors[-1]] >= 0:
            ancestors.append(h.parents[ancestors[-1]])
        shift = local[:, j] - local[0, j]  # (T, 3) in the parent's frame
        reach = float(np.linalg.norm(shift, axis=1).max())
        names = ", ".join(repr(h.names[a]) for a in ancestors)
        if all(len(children[a]) == 1 for a in ancestors):
            trans = trans + np.einsum("tij,tj->ti", glob[:, h.parents[j]], shift)
            notes.append(
                f"joint {h.names[j]!r} moves (up to {reach:.3f} m from its first-frame offset); the "
                f"movement is carried by the root translation, exact for it and its children; "
                f"its ancestors ({names}) now move with it"
            )
        else:
            notes.append(
                f"joint {h.names[j]!r} moves (up to {reach:.3f} m) through its position channels; "
                "its first-frame offset is used, so it and its children are approximate"
            )
    return trans


def _unit_scale(units: str, offsets: np.ndarray, parents, moving: list[int]) -> tuple[float, str]:
    """(metres per file unit, a note saying what "auto" picked or "").

    The size is the largest distance between two joints of the rest skeleton, leaving out
    the root's placement and the offsets of `moving` joints (Bandai's Hips: the first frame's
    place on the floor, which can be metres from the origin, is no part of the body's size).
    """
    if units != "auto":
        return UNIT_SCALES[units], ""
    relative = offsets.copy()
    relative[[0] + moving] = 0.0
    p = rest_positions(relative, parents)
    span = float(np.linalg.norm(p[:, None] - p[None], axis=-1).max())
    picked = "m" if span <= AUTO_CM_ABOVE else "cm" if span <= AUTO_MM_ABOVE else "mm"
    return UNIT_SCALES[picked], f"units: the rest skeleton spans {span:.4g} units, read as {picked}"


# --- writing -------------------------------------------------------------------------------


def _hierarchy_text(sk: Skeleton, dfs: list[int], scale: float, order: str) -> str:
    rotation = " ".join(f"{a}rotation" for a in order)
    depth = joint_depths(sk.parents)
    children = joint_children(sk.parents)
    lines = ["HIERARCHY"]
    open_depth: list[int] = []  # depths of the blocks still open, innermost last

    def close_to(d: int):
        while open_depth and open_depth[-1] >= d:
            lines.append("  " * open_depth.pop() + "}")

    def xyz(v) -> str:
        return " ".join(f"{x:.6f}" for x in np.where(np.abs(v) < 5e-7, 0.0, v))

    for j in dfs:
        d = int(depth[j])
        close_to(d)
        pad = "  " * d
        if j == 0:
            lines += [f"ROOT {sk.names[0]}", "{", f"  OFFSET {xyz(sk.offsets[0] * scale)}",
                      f"  CHANNELS 6 Xposition Yposition Zposition {rotation}"]
        else:
            lines += [f"{pad}JOINT {sk.names[j]}", pad + "{", f"{pad}  OFFSET {xyz(sk.offsets[j] * scale)}",
                      f"{pad}  CHANNELS 3 {rotation}"]
        open_depth.append(d)
        if not children[j]:  # a leaf: an End Site half as long as its own bone
            tip = np.zeros(3) if j == 0 else 0.5 * sk.offsets[j] * scale
            lines += [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {xyz(tip)}", f"{pad}  }}"]
    close_to(0)
    return "\n".join(lines) + "\n"
