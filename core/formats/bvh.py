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
The MOTION block is parsed in one pass (`bvh_frames`), so a take of any length costs a few
numpy passes.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .. import rotations as rot
from ..errors import OutputError, pass_on, require_file
from ..kinematics import depth_first_order, joint_children, joint_depths, rest_positions
from ..motion import Motion, require_finite
from ..skeleton import Skeleton
from .atomic import write_atomically
from .bvh_frames import parse_frame_header, parse_frames
from .bvh_hierarchy import Hierarchy, parse_hierarchy

log = logging.getLogger(__name__)

#: Metres per file unit for the `units` argument of read_bvh and write_bvh.
UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254}

#: units="auto": a rest skeleton spanning more than this many file units is in centimetres,
#: more than AUTO_MM_ABOVE in millimetres, else metres (people are 1-2 m tall).
AUTO_CM_ABOVE = 3.0
AUTO_MM_ABOVE = 300.0
#: Frames converted at once: the temporaries of one block stay a few MB, so a long take
#: does not page in fresh memory for each of them.
_FRAME_BLOCK = 2048

def bvh_joint_names(path: str | os.PathLike) -> tuple[str, ...]:
    """The joint names of a BVH file's hierarchy (End Sites left out), without reading its frames;
    errors as read_bvh's."""
    path = Path(require_file(path))
    hierarchy, _, _ = parse_hierarchy(path, path.read_bytes())
    return tuple(hierarchy.names)


def read_bvh(path: str | os.PathLike, units: str | float = "auto", warnings: list[str] | None = None) -> Motion:
    """The motion in a BVH file, in metres, on a Skeleton with the file's joint names.

    units: the file's length unit, "auto" (see AUTO_CM_ABOVE), "m", "cm", "mm" or "inch", or a
    number: metres per file unit (a hand-only bone map's `metres_per_unit`).
    warnings: a list the notes on reading are appended to (None: they are logged).
    Returns a Motion: rotations (T, J, 4) local quaternions, trans (T, 3) with the root's
    world position = skeleton.offsets[0] + trans, fps = 1 / Frame Time, named after the file.
    Raises MissingFileError, CorruptFileError (empty, truncated, bad numbers, unbalanced
    braces, no HIERARCHY or MOTION) or LayoutError (unknown channels, several roots,
    duplicate names, zero frames).
    """
    numeric = isinstance(units, (int, float)) and not isinstance(units, bool)
    if numeric and not 0.0 < units < float("inf"):
        raise ValueError(f"units as metres per file unit must be positive, got {units!r}")
    if not numeric and units != "auto" and units not in UNIT_SCALES:
        raise ValueError(f"units must be 'auto', one of {', '.join(UNIT_SCALES)} or metres per unit, got {units!r}")
    path = Path(require_file(path))
    raw = path.read_bytes()
    hierarchy, data_start, motion_line = parse_hierarchy(path, raw)
    frame_time, frames, data_start, data_line = parse_frame_header(path, raw, data_start, motion_line)
    notes: list[str] = []
    values = parse_frames(path, raw, data_start, data_line, hierarchy.num_channels, frames, notes)
    del raw  # 1 byte per byte of the file; the values are all that is needed from here
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
    return Motion(skeleton, fps, quats, trans, name=path.stem)  # unit, w >= 0 (euler_to_quat)


def _channel_columns(h: Hierarchy):
    """Where each channel lives in the table: (position joints, their axes (0-2), their
    columns, rotation order -> [(joint, its three columns)]).

    A rotation order lists the file's axes first and appends missing ones, whose column is -1
    (an angle `_local_rotations` sets to zero)."""
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
    for order, items in by_order.items():  # one vectorised conversion per rotation order
        joints = [j for j, _ in items]
        cols = np.array([c for _, c in items])  # (Jg, 3), -1 for a missing axis
        for start in range(0, T, _FRAME_BLOCK):
            block = slice(start, start + _FRAME_BLOCK)
            angles = np.radians(values[block][:, np.maximum(cols, 0)])  # (B, Jg, 3)
            angles[:, cols < 0] = 0.0
            quats[block, joints] = rot.euler_to_quat(angles, order)
    return quats


def _carry_moving_joints(h: Hierarchy, quats, offsets, trans, local, moving: list[int], notes: list[str]):
    """(T, 3) root translation carrying the movement of each `moving` joint where that is
    exact (every ancestor has that one child); a note in `notes` for each moving joint."""
    children = joint_children(h.parents)
    for j in moving:
        ancestors = [h.parents[j]]
        while h.parents[ancestors[-1]] >= 0:
            ancestors.append(h.parents[ancestors[-1]])
        shift = local[:, j] - local[0, j]  # (T, 3) in the parent's frame
        reach = float(np.linalg.norm(shift, axis=1).max())
        names = ", ".join(repr(h.names[a]) for a in ancestors)
        if all(len(children[a]) == 1 for a in ancestors):
            parent_glob = quats[:, ancestors[-1]]  # the parent's world rotation, top down the chain
            for a in ancestors[-2::-1]:
                parent_glob = rot.quat_multiply(parent_glob, quats[:, a])
            trans = trans + rot.quat_apply(parent_glob, shift)
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
    if not isinstance(units, str):
        return float(units), ""
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
