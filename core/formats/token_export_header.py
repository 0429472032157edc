"""The header of a tokens export (core/formats/token_export.py, whose docstring gives the
layouts): made from a tokens file, and checked on reading, field by field; the side
information a frame carries, and the template motion rebuilt from it.

Every check raises LayoutError naming the file and the field (`parts.body.size`), or the line
of a JSONL file, so a user (or a language model's post-processing) knows what to fix.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LayoutError
from ..motion import Motion
from ..parts import CODED_PARTS, get_part
from ..skeleton import NUM_SMPLX_JOINTS, smplx_skeleton
from .tokens import TOKEN_KEYS, Codebook, TokensFile

FORMAT = "motion-tokens"
VERSION = 1
_CODEC_NAME = re.compile(r"^[a-z][a-z0-9]*-\d+$")
_FAMILY = re.compile(r"^[a-z][a-z0-9]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The two codebook sizes there are: one level of k codes, or Q levels of D codes each.
_SIZE_FIELDS = (("k",), ("D", "Q"))
_TIME_TOLERANCE_S = 1e-6


@dataclass(frozen=True)
class PartHeader:
    """A part's header entry, checked: codec name, the Codebook that made its tokens, rows of
    tokens per second, the tokens' shape ((T_p,) or (T_p, Q)) and codes per level."""

    codec: str
    codebook: Codebook
    token_fps: float
    shape: tuple[int, ...]

    @property
    def codes(self) -> int:
        """Codes per level: k, or D; tokens are in [0, codes)."""
        return self.codebook.size.get("k", self.codebook.size.get("D", 0))

    @property
    def levels(self) -> int:
        """Tokens per row: 1 for a (T_p,) part, Q for (T_p, Q)."""
        return self.shape[1] if len(self.shape) == 2 else 1

    def time_of(self, frame: int) -> float:
        return frame / self.token_fps


@dataclass(frozen=True)
class Carried:
    """The side information a frame carries, in this order: the axis-angle rotations (3 each)
    of `joints` (SMPL-X indices, the joints no exported part codes), the translation (3), the
    expression coefficients [first, stop) (those no part codes; None: no expressions); and,
    once per file, the body shape `betas` and `gender` (None where the file has none)."""

    joints: tuple[int, ...]
    expressions: tuple[int, int] | None
    betas: tuple[float, ...] | None
    gender: str | None

    @property
    def width(self) -> int:
        first, stop = self.expressions or (0, 0)
        return 3 * len(self.joints) + 3 + stop - first

    def as_json(self) -> dict:
        return {"joints": list(self.joints), "expressions": None if self.expressions is None else list(self.expressions),
                "width": self.width, "betas": None if self.betas is None else list(self.betas), "gender": self.gender}


@dataclass(frozen=True)
class Header:
    """A checked header: the motion's `source` name, fps and frame count, the parts in file
    order, the seam frames, and what a frame carries (None: tokens only)."""

    source: str
    fps: float
    num_frames: int
    parts: dict[str, PartHeader]
    seam_frames: tuple[int, ...]
    carried: Carried | None


# --- made from a tokens file ------------------------------------------------------------------


def carried_of(tokens_file: TokensFile) -> Carried:
    """What decoding keeps of the tokens file's motion: every joint no part codes, the
    translation, the expression coefficients past those the parts code, betas and gender."""
    coded = {j for part in tokens_file.tokens for j in get_part(part).joints}
    joints = tuple(j for j in range(NUM_SMPLX_JOINTS) if j not in coded)
    coded_expressions = max((get_part(part).expressions for part in tokens_file.tokens), default=0)
    template = tokens_file.template
    width = 0 if template.expressions is None else template.expressions.shape[1]
    expressions = (coded_expressions, width) if width > coded_expressions else None
    betas = None if template.betas is None else tuple(shortest_floats(template.betas))
    return Carried(joints, expressions, betas, template.gender)


def carried_frames(tokens_file: TokensFile, carried: Carried) -> np.ndarray:
    """(T, width) float32: each frame's side information (Carried's order)."""
    template = tokens_file.template
    columns = [template.axis_angle()[:, list(carried.joints)].reshape(template.num_frames, -1), template.trans]
    if carried.expressions is not None:
        columns.append(template.expressions[:, slice(*carried.expressions)])
    return np.concatenate(columns, axis=1).astype(np.float32)


def shortest_floats(values) -> list:
    """`values` as float32, each written as the shortest decimal that reads back as the same
    float32 (nested lists of Python floats): the files stay small and round trips exact."""
    text = np.asarray(values, dtype=np.float32).astype(str)
    return np.vectorize(float, otypes=[object])(text).tolist() if text.size else text.tolist()


def header_of(tokens_file: TokensFile, with_side_information: bool = True) -> dict:
    """The export header (as JSON) of `tokens_file`. LayoutError naming it for a part without
    a codebook record (an older file: what made its tokens is unknown) or a motion whose
    frame rate is not its `token_fps`."""
    path, template = tokens_file.path, tokens_file.template
    if abs(template.fps - tokens_file.token_fps) > 1e-6:
        raise LayoutError(path, f"the motion is at {template.fps:g} fps (`mocap_frame_rate`) but the tokens at "
                          f"{tokens_file.token_fps:g} (`token_fps`)")
    parts = {}
    for part, tokens in tokens_file.tokens.items():
        book = tokens_file.codebooks.get(part)
        if book is None:
            raise LayoutError(path, f"records no codebook for `{TOKEN_KEYS[part]}` (written before tokens files named "
                              "their codebooks' sha256), so an export could not say what made them; re-encode the "
                              "source motion and export that")
        parts[part] = {"codec": tokens_file.codec_names[part], "sha256": book.sha256, "family": book.family,
                       "size": dict(book.size), "token_fps": tokens_file.fps_of(part), "shape": list(tokens.shape)}
    carried = carried_of(tokens_file).as_json() if with_side_information else None
    return {"format": FORMAT, "version": VERSION, "source": template.name, "fps": tokens_file.token_fps,
            "num_frames": template.num_frames, "parts": parts, "seam_frames": list(tokens_file.seam_frames),
            "carried": carried}


# --- checked on reading -----------------------------------------------------------------------


def parse_header(path: Path, header, where: str = "the header") -> Header:
    """The checked Header of the JSON object `header`; LayoutError naming `path`, `where` it
    is and the field at fault."""
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise LayoutError(path, f"missing header: {where} is not a tokens export header (an object with "
                          f"\"format\": \"{FORMAT}\", \"version\", \"fps\", \"num_frames\", \"parts\"); "
                          "make one with `motion-tokens tokens export TOKENS.npz --out OUT.json`")
    version = header.get("version")
    if version != VERSION:
        raise LayoutError(path, f"{where} says version {version!r} of the tokens export; this motion_tokens reads "
                          f"version {VERSION}: export the tokens file again")
    fps = positive_number(path, header.get("fps"), f"{where}'s `fps`")
    num_frames = integer(path, header.get("num_frames"), f"{where}'s `num_frames`", 1)
    source = header.get("source", "")
    if not isinstance(source, str):
        raise LayoutError(path, f"{where}'s `source` must be a string (the motion's name), got {source!r}")
    parts = header.get("parts")
    if not isinstance(parts, dict) or not parts:
        raise LayoutError(path, f"{where}'s `parts` must be an object with one entry per part ({', '.join(CODED_PARTS)})")
    checked = {require_part(path, part, f"{where}'s `parts`"): _part_header(path, entry, f"{where}'s `parts.{part}`",
                                                                            fps, num_frames)
               for part, entry in parts.items()}
    return Header(source, fps, num_frames, checked, _seams(path, header.get("seam_frames", []), where, num_frames),
                  _carried(path, header.get("carried"), f"{where}'s `carried`"))


def require_part(path: Path, part, where: str) -> str:
    if part not in CODED_PARTS:
        raise LayoutError(path, f"{where} names the unknown part {part!r}; the parts are {', '.join(CODED_PARTS)}")
    return part


def _part_header(path: Path, entry, where: str, fps: float, num_frames: int) -> PartHeader:
    if not isinstance(entry, dict):
        raise LayoutError(path, f"{where} must be an object (codec, sha256, family, size, token_fps, shape)")
    codec, sha256, family, size = (entry.get(key) for key in ("codec", "sha256", "family", "size"))
    if not (isinstance(codec, str) and _CODEC_NAME.match(codec)):
        raise LayoutError(path, f"{where}.codec is {codec!r}, not a codec name like 'kmeans-6' or 'rqvae4-9'")
    if not (isinstance(sha256, str) and _SHA256.match(sha256)):
        raise LayoutError(path, f"{where}.sha256 is {sha256!r}, not a sha256 (64 lower-case hex digits)")
    if not (isinstance(family, str) and _FAMILY.match(family)):
        raise LayoutError(path, f"{where}.family is {family!r}, not a codec family like 'kmeans' or 'rqvae'")
    fields = next((f for f in _SIZE_FIELDS if isinstance(size, dict) and set(size) == set(f)), None)
    if fields is None:
        raise LayoutError(path, f"{where}.size is {size!r}; a codebook size is {{\"k\": K}} or {{\"D\": D, \"Q\": Q}}")
    size = {key: integer(path, size[key], f"{where}.size.{key}", 1) for key in fields}  # canonical order
    token_fps = positive_number(path, entry.get("token_fps"), f"{where}.token_fps")
    rows = math.ceil(num_frames * token_fps / fps - 1e-9)  # a codec of several frames per row: ceil(T / frames)
    expected = (rows,) if "k" in size else (rows, size["Q"])
    shape = entry.get("shape")
    if not (isinstance(shape, list) and tuple(shape) == expected):
        raise LayoutError(path, f"{where}.shape is {shape!r} but {num_frames} frames at {fps:g} fps coded at "
                          f"{token_fps:g} rows a second by a {' '.join(f'{k}={v}' for k, v in size.items())} codebook "
                          f"make tokens of shape {list(expected)}")
    return PartHeader(codec, Codebook(sha256, family, size), token_fps, expected)


def _seams(path: Path, seams, where: str, num_frames: int) -> tuple[int, ...]:
    if not isinstance(seams, list):
        raise LayoutError(path, f"{where}'s `seam_frames` must be a list of frame indices, got {seams!r}")
    frames = tuple(integer(path, s, f"{where}'s `seam_frames`", 0, num_frames - 1) for s in seams)
    if any(b <= a for a, b in zip(frames, frames[1:])):
        raise LayoutError(path, f"{where}'s `seam_frames` must increase, got {list(frames)[:8]}")
    return frames


def _carried(path: Path, carried, where: str) -> Carried | None:
    if carried is None:
        return None
    if not isinstance(carried, dict):
        raise LayoutError(path, f"{where} must be null (tokens only) or an object (joints, expressions, width, betas, gender)")
    joints = carried.get("joints")
    if not isinstance(joints, list):
        raise LayoutError(path, f"{where}.joints must be a list of SMPL-X joint indices, got {joints!r}")
    joints = tuple(integer(path, j, f"{where}.joints", 0, NUM_SMPLX_JOINTS - 1) for j in joints)
    if any(b <= a for a, b in zip(joints, joints[1:])):
        raise LayoutError(path, f"{where}.joints must increase, got {list(joints)}")
    expressions = carried.get("expressions")
    if expressions is not None:
        if not (isinstance(expressions, list) and len(expressions) == 2):
            raise LayoutError(path, f"{where}.expressions must be null or [first, stop], got {expressions!r}")
        first = integer(path, expressions[0], f"{where}.expressions", 0)
        expressions = (first, integer(path, expressions[1], f"{where}.expressions", first + 1))
    betas = carried.get("betas")
    if betas is not None:
        if not isinstance(betas, list):
            raise LayoutError(path, f"{where}.betas must be null or a list of numbers, got {type(betas).__name__}")
        betas = tuple(float(v) for v in float_array(path, betas, (len(betas),), f"{where}.betas"))
    gender = carried.get("gender")
    if gender is not None and not isinstance(gender, str):
        raise LayoutError(path, f"{where}.gender must be null or a string, got {gender!r}")
    spec = Carried(joints, expressions, betas, gender)
    if carried.get("width") != spec.width:
        raise LayoutError(path, f"{where}.width is {carried.get('width')!r} but {len(joints)} joints, the translation "
                          f"and expressions {expressions} make {spec.width} values a frame")
    return spec


def positive_number(path: Path, value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise LayoutError(path, f"{what} is {value!r}; it must be a positive number")
    return float(value)


def integer(path: Path, value, what: str, low: int = 0, high: int | None = None) -> int:
    """`value` when it is an integer in [low, high]; LayoutError naming `what` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        within = f"[{low}, {high}]" if high is not None else f"{low} or more"
        raise LayoutError(path, f"{what} holds {value!r}; it must be an integer, {within}")
    return value


def float_array(path: Path, values, shape: tuple[int, ...], what: str) -> np.ndarray:
    """`values` (nested lists of numbers) as a float32 array of `shape`; LayoutError naming
    `what` for ragged lists, another shape, values that are not numbers or not finite."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError):
        raise LayoutError(path, f"{what} must be lists of numbers of shape {list(shape)} (ragged or not numbers)") from None
    if array.shape != shape:
        raise LayoutError(path, f"{what} have shape {list(array.shape)}, expected {list(shape)}")
    if not np.isfinite(array).all():
        raise LayoutError(path, f"{what} hold NaN or infinite values")
    return array.astype(np.float32)


def check_token_range(path: Path, tokens: np.ndarray, part: str, entry: PartHeader, where: str) -> None:
    """LayoutError naming the first token outside [0, codes) of the codebook the part records."""
    bad = np.argwhere((tokens < 0) | (tokens >= entry.codes))
    if len(bad):
        index = tuple(int(i) for i in bad[0])
        level = f", level {index[1]}" if len(index) > 1 else ""
        raise LayoutError(path, f"{where}: the {part} token of row {index[0]}{level} is {int(tokens[index])}, outside "
                          f"[0, {entry.codes}) of the {entry.codebook.layout} codebook the header records")


def token_array(path: Path, values, part: str, entry: PartHeader, where: str) -> np.ndarray:
    """The part's tokens from JSON lists, int32, checked against its header entry (shape,
    integers, range); LayoutError naming `where` otherwise."""
    try:
        tokens = np.asarray(values)
    except (ValueError, TypeError):
        tokens = None
    if tokens is None or tokens.shape != entry.shape:
        shown = "ragged lists" if tokens is None else f"shape {list(tokens.shape)}"
        raise LayoutError(path, f"{where}: the {part} tokens have {shown} but `parts.{part}.shape` is {list(entry.shape)}")
    if tokens.dtype.kind not in "iu":
        raise LayoutError(path, f"{where}: the {part} tokens hold non-integer values ({tokens.dtype}); tokens are integers")
    check_token_range(path, tokens, part, entry, where)
    return tokens.astype(np.int32)


def tokens_file_of(path: Path, header: Header, tokens: dict[str, np.ndarray], frames: np.ndarray | None) -> TokensFile:
    """The in-memory tokens file an export holds: its tokens and records, the template motion
    rebuilt from the carried `frames` ((T, width)), or a neutral one without them."""
    parts = header.parts
    fps = header.fps
    return TokensFile(path, tokens, {p: e.codec for p, e in parts.items()}, fps, _template(header, frames),
                      {p: e.codebook for p, e in parts.items()},
                      {p: e.token_fps for p, e in parts.items() if abs(e.token_fps - fps) > 1e-9}, header.seam_frames)


def _template(header: Header, frames: np.ndarray | None) -> Motion:
    """The motion decoding keeps what it does not code from: the carried side information
    (the coded joints and expressions are left at zero: decoding replaces them), or, without
    it, every joint at rest, the root at the origin, no expressions, betas or gender."""
    T, carried = header.num_frames, header.carried
    axis_angle, trans, expressions = np.zeros((T, NUM_SMPLX_JOINTS, 3)), np.zeros((T, 3)), None
    if carried is not None and frames is not None:
        frames = frames.astype(np.float64)
        J = len(carried.joints)
        axis_angle[:, list(carried.joints)] = frames[:, :3 * J].reshape(T, J, 3)
        trans = frames[:, 3 * J:3 * J + 3]
        if carried.expressions is not None:
            first, stop = carried.expressions
            expressions = np.zeros((T, stop))
            expressions[:, first:] = frames[:, 3 * J + 3:]
        betas = None if carried.betas is None else np.asarray(carried.betas, dtype=np.float32)
        return Motion.from_axis_angle(smplx_skeleton(), header.fps, axis_angle, trans, expressions=expressions,
                                      betas=betas, name=header.source, gender=carried.gender)
    return Motion.from_axis_angle(smplx_skeleton(), header.fps, axis_angle, trans, name=header.source)


def time_problem(time, entry_time: float) -> bool:
    """Whether a record's `time` is not its frame's time (frame / rate)."""
    return isinstance(time, bool) or not isinstance(time, (int, float)) or abs(time - entry_time) > _TIME_TOLERANCE_S
