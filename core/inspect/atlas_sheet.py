"""The codebook atlas as a contact sheet: a PNG of stick figures, one cell per code.

Each code's features (K, F) (core.inspect.codebook) are posed on the SMPL-X skeleton
(core.skeleton.smplx_skeleton, forward kinematics with every joint outside the part at rest,
the root at the origin, no root orientation) and drawn as line segments, in metres, in the
skeleton's frame (Y up, the body facing +Z):
- body: joints 0-21 and the jaw (the head -> jaw stick shows the head's turn), a front view
  (x to the right: the body's left on the viewer's right, y up) and a side view (z to the
  right: the body faces right);
- hands: both wrists and their fingers, each relative to its wrist and set a little apart
  (the left hand on the right, as seen from the front), a view from above (x, z: fingers'
  spread) over a front view (x, y: their curl);
- face: a side view of the jaw's rotation as a chin lever (an illustrative point 6 cm below
  and 8 cm in front of the jaw joint, not an SMPL-X point; red, with the lever at rest in light
  grey and the skull as a circle), beside a bar per expression coefficient (one unit =
  CELL_BAR_M metres, positive up).
Left joints are blue, right ones red, the midline grey. Cells hold the code id and its share
of the usage (%) when usage is given; never-used codes have a red title. One page holds up to
PER_PAGE = 64 cells, 8 a row; a header line says the codec, part, level and usage figures.

matplotlib's Agg canvas draws it (no pyplot, no display, no global state): a figure of
CELL_INCHES per cell at DPI, its colours reduced to a palette, written atomically
(core.formats.atomic). Everything is vectorised over codes: one LineCollection per view
and page.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import rotations as rot
from ..formats.atomic import write_atomically
from ..kinematics import forward_kinematics_quats
from ..parts import get_part
from ..skeleton import SMPLX_JOINT_NAMES, smplx_skeleton

PER_PAGE = 64
COLUMNS = 8
CELL_INCHES = 1.55
DPI = 90
#: Colours of the PNG's palette.
PALETTE = 64
#: Metres per unit of an expression coefficient in the face's bars.
CELL_BAR_M = 0.04
_LEFT, _RIGHT, _MID, _UNUSED = "#1f5fbf", "#c0392b", "#555555", "#d62728"
_BODY = tuple(range(23))  # joints 0-21 and the jaw: the head -> jaw stick shows the head's turn
_HANDS = (20, 21) + tuple(range(25, 55))
_HAND_GAP_M = 0.03
_CHIN = np.array([0.0, -0.06, 0.08])  # the illustrative chin lever, from the jaw joint (metres)
_SKULL_M = 0.1
_VIEW_GAP_M = 0.06


def num_pages(num_codes: int, per_page: int = PER_PAGE) -> int:
    """Pages of `per_page` cells the codes fill (at least one)."""
    return max(1, -(-int(num_codes) // per_page))


def page_of(order: np.ndarray, page: int, per_page: int = PER_PAGE) -> np.ndarray:
    """The code ids on page `page` (0-based) of the display `order`; ValueError past the end."""
    if not 0 <= page < num_pages(len(order), per_page):
        raise ValueError(f"page {page} is not one of the {num_pages(len(order), per_page)} pages (0-based)")
    return np.asarray(order)[page * per_page:(page + 1) * per_page]


def posed_joints(features, part: str) -> np.ndarray:
    """(K, 55, 3) float64 world positions (metres) of every SMPL-X joint for (K, F) part
    features: the part's joints rotated, the rest at rest, the root at the origin."""
    spec = get_part(part)
    f = np.asarray(features, dtype=np.float64)
    J = len(spec.joints)
    sk = smplx_skeleton()
    quats = np.zeros((len(f), sk.num_joints, 4))
    quats[..., 0] = 1.0
    quats[:, list(spec.joints)] = rot.axis_angle_to_quat(f[:, :3 * J].reshape(len(f), J, 3))
    _, pos = forward_kinematics_quats(quats, sk.offsets, sk.parents, np.zeros((len(f), 3)))
    return pos


@dataclass(frozen=True)
class View:
    """One drawing in every cell: segments (K, S, 2, 2) (two 2-D ends each), a colour per
    segment (S,), a line width (points)."""

    segments: np.ndarray
    colours: tuple[str, ...]
    width: float = 1.2

    def extent(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) (2,) corners of the box holding every code's drawing."""
        pts = self.segments.reshape(-1, 2)
        return pts.min(axis=0), pts.max(axis=0)


def _side_colour(joint: int) -> str:
    name = SMPLX_JOINT_NAMES[joint]
    return _LEFT if name.startswith("left_") else _RIGHT if name.startswith("right_") else _MID


def _bones_view(pos: np.ndarray, joints, axes: tuple[int, int], signs=(1.0, 1.0), width: float = 1.2) -> View:
    """The bones (joint, parent) of `joints` whose parent is among them, projected on `axes`."""
    sk = smplx_skeleton()
    kept = set(joints)
    bones = [(j, sk.parents[j]) for j in joints if sk.parents[j] in kept]
    child, parent = (np.array(x) for x in zip(*bones))
    xy = pos[..., list(axes)] * np.asarray(signs)
    return View(np.stack([xy[:, parent], xy[:, child]], axis=2), tuple(_side_colour(j) for j in child), width)


def _hands_positions(pos: np.ndarray) -> np.ndarray:
    """(K, 55, 3) with each hand's joints taken relative to its wrist and the wrists set
    _HAND_GAP_M either side of the origin (left at +x)."""
    out = pos.copy()
    for wrist, joints, x in ((20, range(25, 40), _HAND_GAP_M), (21, range(40, 55), -_HAND_GAP_M)):
        idx = [wrist, *joints]
        out[:, idx] = pos[:, idx] - pos[:, [wrist]] + np.array([x, 0.0, 0.0])
    return out


def _face_views(pos: np.ndarray, features: np.ndarray, part_spec) -> list[list[View]]:
    """A side view of the jaw (the skull as a circle, the chin lever at rest in light grey and
    as posed in red) beside the expression bars (a zero line, then a bar per coefficient)."""
    jaw = pos[:, 22, [2, 1]]  # side view: (z, y)
    # The jaw's parent (the head) is at rest: the jaw's world rotation is its local one.
    jaw_q = rot.axis_angle_to_quat(np.asarray(features[:, :3], dtype=np.float64))
    posed = jaw + rot.quat_apply(jaw_q, _CHIN)[:, [2, 1]]
    angle = np.linspace(0.0, 2.0 * np.pi, 25)
    ring = np.stack([np.cos(angle), np.sin(angle)], axis=1) * _SKULL_M + np.array([-0.04, 0.06])
    skull = np.stack([ring[:-1], ring[1:]], axis=1)[None] + jaw[:, None, None, :]  # (K, 24, 2, 2)
    rest = np.stack([jaw, jaw + _CHIN[[2, 1]]], axis=1)[:, None]
    lever = np.stack([jaw, posed], axis=1)[:, None]
    side = View(np.concatenate([skull, rest, lever], axis=1), ("#999999",) * 24 + ("#bbbbbb", _RIGHT), 1.4)
    E = part_spec.expressions
    if not E:
        return [[side]]
    x = np.broadcast_to(np.arange(E) * 0.014, (len(features), E))
    heights = np.asarray(features[:, -E:], dtype=np.float64) * CELL_BAR_M
    bars = np.stack([np.stack([x, np.zeros_like(x)], -1), np.stack([x, heights], -1)], axis=2)  # (K, E, 2, 2)
    zero = np.broadcast_to(np.array([[[-0.01, 0.0], [x[0, -1] + 0.01, 0.0]]]), (len(features), 1, 2, 2))
    return [[side, View(np.concatenate([zero, bars], axis=1), ("#bbbbbb",) + (_MID,) * E, 2.4)]]


def part_views(features, part: str) -> list[list[View]]:
    """The rows of views a cell holds for `part` (module docstring), from (K, F) features."""
    f = np.asarray(features, dtype=np.float64)
    spec = get_part(part)
    pos = posed_joints(f, part)
    if part == "hands":
        hands = _hands_positions(pos)
        return [[_bones_view(hands, _HANDS, (0, 2), (1.0, 1.0), 1.0)], [_bones_view(hands, _HANDS, (0, 1), width=1.0)]]
    if part == "face":
        return _face_views(pos, f, spec)
    joints = _BODY if part == "body" else tuple(range(55))
    return [[_bones_view(pos, joints, (0, 1)), _bones_view(pos, joints, (2, 1))]]


def _layout(rows: list[list[View]]) -> tuple[list[list[np.ndarray]], float, float]:
    """Per view the (2,) shift that puts it in the cell (rows top to bottom, views left to
    right, _VIEW_GAP_M apart), and the cell's width and height (metres)."""
    shifts, widths, y = [], [], 0.0
    for row in rows:
        extents = [v.extent() for v in row]
        height = max(hi[1] - lo[1] for lo, hi in extents)
        x, row_shifts = 0.0, []
        for lo, hi in extents:
            row_shifts.append(np.array([x - lo[0], y - hi[1]]))
            x += hi[0] - lo[0] + _VIEW_GAP_M
        shifts.append(row_shifts)
        widths.append(x - _VIEW_GAP_M)
        y -= height + _VIEW_GAP_M
    return shifts, max(widths), -y - _VIEW_GAP_M


def write_atlas_sheet(path: str | os.PathLike, features, part: str, codes, header: str,
                      shares=None, unused=None) -> Path:
    """Write a contact sheet of `codes` to the PNG `path`; the path.

    features: (N, F) features of the codes drawn, in cell order; codes: (N,) their ids;
    header: the line(s) above the cells; shares: (N,) usage % of each, or None (no usage shown);
    unused: (N,) bool, codes never used (red titles), or None. OutputError when it cannot be
    written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    codes = np.asarray(codes)
    rows = part_views(features, part)
    shifts, cell_w, cell_h = _layout(rows)
    pad = 0.1 * max(cell_w, cell_h)
    title = 1.6 * pad  # room above each drawing for its title
    step_x, step_y = cell_w + 2 * pad, cell_h + title + 2 * pad
    n = len(codes)
    cols = min(COLUMNS, n)
    nrows = -(-n // cols)
    origin = np.stack([np.arange(n) % cols * step_x, -(np.arange(n) // cols) * step_y], axis=1)  # (N, 2) tops
    width_in = CELL_INCHES * cols
    # a 7.5 pt monospace character is 0.6 x 7.5 pt wide: a sheet of few codes is narrower than its header
    chars = max(20, int(width_in * 72 / (0.6 * 7.5)) - 2)
    header = "\n".join(textwrap.fill(line, chars, subsequent_indent="  ") for line in header.split("\n"))
    header_in = 0.16 * (header.count("\n") + 1) + 0.12
    grid_h_in = width_in * nrows * step_y / (cols * step_x)
    fig = Figure(figsize=(width_in, grid_h_in + header_in), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, grid_h_in / (grid_h_in + header_in)))
    ax.set_axis_off()
    ax.add_collection(LineCollection(_frames(origin, cell_w, cell_h, pad, title), colors="#dddddd", linewidths=0.8))
    for row, row_shifts in zip(rows, shifts):
        for view, shift in zip(row, row_shifts):
            segs = view.segments + (origin + shift)[:, None, None, :]
            ax.add_collection(LineCollection(segs.reshape(-1, 2, 2), colors=list(view.colours) * n,
                                             linewidths=view.width, capstyle="round"))
    for i, code in enumerate(codes):
        never = unused is not None and bool(unused[i])
        label = f"{code}" if shares is None else (f"{code}  unused" if never else f"{code}  {shares[i]:.1f}%")
        ax.text(origin[i, 0] + cell_w / 2, origin[i, 1] + 0.45 * pad, label, ha="center", va="bottom", fontsize=7,
                color=_UNUSED if never else "black", fontweight="bold" if never else "normal")
    ax.set_xlim(-pad, cols * step_x - pad)
    ax.set_ylim(-(nrows - 1) * step_y - cell_h - pad, title + pad)
    ax.set_aspect("equal", adjustable="box")
    fig.text(0.01, 1.0 - 0.06 / (grid_h_in + header_in), header, ha="left", va="top", fontsize=7.5, family="monospace")
    return _save(canvas, Path(path))


def _frames(origin: np.ndarray, cell_w: float, cell_h: float, pad: float, title: float) -> np.ndarray:
    """(4 N, 2, 2) the edges of a light box around each cell (its title inside), so each title
    reads with its own drawing."""
    lo = origin + np.array([-0.8 * pad, -cell_h - 0.8 * pad])
    hi = origin + np.array([cell_w + 0.8 * pad, title + 0.2 * pad])
    corners = np.stack([lo, np.stack([hi[:, 0], lo[:, 1]], 1), hi, np.stack([lo[:, 0], hi[:, 1]], 1)], axis=1)
    return np.stack([corners, np.roll(corners, -1, axis=1)], axis=2).reshape(-1, 2, 2)


def _save(canvas, path: Path) -> Path:
    """The canvas as a PNG at `path`: drawn, reduced to a palette of PALETTE colours (line art
    with antialiased edges: a third of the bytes of full colour, no visible change), written
    atomically (core.formats.atomic: no half-written PNG, the usual permissions)."""
    from PIL import Image

    canvas.draw()
    rgb = np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])
    image = Image.fromarray(rgb).quantize(colors=PALETTE, method=Image.Quantize.MEDIANCUT)
    return write_atomically(path, lambda f: image.save(f, format="PNG", optimize=True))
