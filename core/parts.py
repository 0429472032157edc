"""The one registry of body parts: what each codec and generator token stream codes.

A part is a set of SMPL-X joints whose local rotations (axis-angle, 3 values per joint) are
coded together, plus optionally the first expression coefficients (the face, added with the
speech generator). Everything that depends on the part reads it from here: feature width,
the points its error is measured on (and the frame they are measured in), mirroring, the
figure the evaluation leads with. Nothing else in the code branches on a part's name.

- `body`: joints 1-21 (hips to wrists). Error points: the 21 joints plus the jaw (22) and the
  two middle-finger bases (28, 43), which only the head and wrist rotations move, so those
  rotations count; relative to the pelvis.
- `hands`: joints 25-54 (left hand, then right: index, middle, pinky, ring, thumb, three
  joints each). Error points: the 20 finger joints the hand pose moves (second and third
  segments) and 10 fingertips, each beyond its third segment by that segment's own rest
  offset (SMPL-X has no fingertip joints); relative to each hand's wrist.
- `face`: the jaw (22) plus the first FACE_EXPRESSIONS = 16 FLAME expression coefficients.
  Error point: a jaw tip, the point beyond the jaw by the jaw's own rest offset (7.9 cm from
  the jaw joint, rigid with it: SMPL-X has no chin joint, and this point moves with the jaw's
  rotation by a chin-like lever arm and not at all with the expressions), relative to the head;
  the expression coefficients are judged by their RMSE beside it (training/fitted.py). Not
  mirrored in training: FLAME expressions are not left/right symmetric coefficients.
  Why 16: measured on the BEAT2 take (1,906 frames), the coefficients' variance does not fall
  with their index (std 0.15-0.65 in the first 16 and about 0.48 beyond; the first 16 hold 7.8%
  of the summed variance, and 95% needs 96 of the 100), and every coefficient is smooth (lag-1
  autocorrelation 0.91-0.98), so the variance of the coefficients cannot choose N. FLAME's
  expression basis is PCA-ordered with each coefficient a unit of that component's standard
  deviation, so the geometric motion a coefficient makes falls with its index (the basis, not
  shipped here, would measure it on vertices). 16, the top of the 10-16 a 6-12 bit codec can
  hold, keeps the components that move the face most; the first 16 include those that follow
  the jaw (correlation with jaw opening up to |0.65|).

- `whole` (not offered in the panel: the speech ablation's "one shared codebook for all parts"):
  the body, jaw and both hands and the 16 expression coefficients coded as one vector, so one
  codebook spends its codes on whole-body poses; error points those of the three parts, all
  relative to the pelvis (the wrists and head are the part's own joints).

The root orientation and translation are never coded (carried through as side information),
so a codec's bits per frame count the pose only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .skeleton import BODY_JOINTS, HAND_JOINTS, SMPLX_JOINT_NAMES

_LEFT_WRIST, _RIGHT_WRIST = 20, 21
_HEAD, _JAW = 15, 22
#: Expression coefficients the face part codes (see the module docstring for why 16).
FACE_EXPRESSIONS = 16
_FIRST_RIGHT_FINGER = HAND_JOINTS[0] + len(HAND_JOINTS) // 2


@dataclass(frozen=True)
class Part:
    """One coded part.

    name: the registry key ('body', 'hands', 'face'); label: for the user ('Body').
    joints: SMPL-X joint indices whose rotations are coded, in feature order (column 3*i + c
        is coordinate c of joints[i]).
    expressions: how many leading expression coefficients follow the rotations (0: none).
    points: joints whose positions the part's error counts (`core.codecs.features.part_positions`).
    tips_from: joints beyond which a tip point is placed by the joint's own rest offset
        (rows after `points`).
    point_origins: per error point (points, then tips), the joint whose position it is taken
        relative to.
    mirrored_in_training: train on the part's left/right mirror image too (more data where a
        dataset is small; the hands).
    headline, headline_label: the evaluation figure (a `SplitFigures` attribute) the part is
        judged by, and its words.
    offered: listed for the user (panel, commands, reports); False for the ablation's part.
    """

    name: str
    label: str
    joints: tuple[int, ...]
    points: tuple[int, ...]
    tips_from: tuple[int, ...]
    point_origins: tuple[int, ...]
    headline: str
    headline_label: str
    mirrored_in_training: bool = False
    expressions: int = 0
    description: str = ""
    offered: bool = True

    @property
    def num_features(self) -> int:
        """Feature width: 3 axis-angle values per joint, then the expression coefficients."""
        return 3 * len(self.joints) + self.expressions

    @property
    def num_points(self) -> int:
        return len(self.points) + len(self.tips_from)

    @cached_property
    def mirror_joint_order(self) -> np.ndarray:
        """(J_part,) for each of the part's joints, the position in `joints` of its mirror
        image (left_* <-> right_*; a joint on the midline is its own)."""
        names = [SMPLX_JOINT_NAMES[j] for j in self.joints]
        swapped = [_swap_side(n) for n in names]
        try:
            return np.array([names.index(n) for n in swapped], dtype=np.int64)
        except ValueError:
            raise ValueError(f"part {self.name!r} holds a joint without its mirror image") from None


def _swap_side(name: str) -> str:
    for a, b in (("left_", "right_"), ("right_", "left_")):
        if name.startswith(a):
            return b + name[len(a):]
    return name


def _hand_origin(joint: int) -> int:
    return _LEFT_WRIST if joint < _FIRST_RIGHT_FINGER else _RIGHT_WRIST


_BODY_POINTS = tuple(BODY_JOINTS) + (22, 28, 43)
_FINGERTIP_PARENTS = tuple(j for j in HAND_JOINTS if (j - HAND_JOINTS[0]) % 3 == 2)
_HAND_POINTS = tuple(j for j in HAND_JOINTS if (j - HAND_JOINTS[0]) % 3 != 0)

PART_REGISTRY: dict[str, Part] = {
    "body": Part(
        name="body", label="Body", joints=tuple(BODY_JOINTS),
        points=_BODY_POINTS, tips_from=(), point_origins=(0,) * len(_BODY_POINTS),
        headline="rmse_cm", headline_label="full-pose RMSE",
        description="joints 1-21 (hips to wrists)",
    ),
    "hands": Part(
        name="hands", label="Hands", joints=tuple(HAND_JOINTS),
        points=_HAND_POINTS, tips_from=_FINGERTIP_PARENTS,
        point_origins=tuple(_hand_origin(j) for j in _HAND_POINTS + _FINGERTIP_PARENTS),
        headline="kabsch_hands_cm", headline_label="Kabsch RMSE of the hands",
        mirrored_in_training=True,
        description="joints 25-54 (both hands, 15 finger joints each)",
    ),
    "face": Part(
        name="face", label="Face", joints=(_JAW,),
        points=(), tips_from=(_JAW,), point_origins=(_HEAD,),
        headline="expression_rmse", headline_label="expression RMSE (the first FLAME coefficients)",
        expressions=FACE_EXPRESSIONS,
        description=f"the jaw (joint 22) and the first {FACE_EXPRESSIONS} FLAME expression coefficients",
    ),
    "whole": Part(
        name="whole", label="Whole body", joints=tuple(BODY_JOINTS) + (_JAW,) + tuple(HAND_JOINTS),
        points=_BODY_POINTS + _HAND_POINTS, tips_from=_FINGERTIP_PARENTS + (_JAW,),
        point_origins=(0,) * (len(_BODY_POINTS) + len(_HAND_POINTS) + len(_FINGERTIP_PARENTS) + 1),
        headline="rmse_cm", headline_label="full-pose RMSE", expressions=FACE_EXPRESSIONS, offered=False,
        description="body, jaw, both hands and the first 16 expression coefficients as one vector (the speech "
                    "ablation's shared codebook)",
    ),
}
#: The part names offered to the user, in the order they are coded and listed.
PARTS: tuple[str, ...] = tuple(name for name, part in PART_REGISTRY.items() if part.offered)
#: Every part a codec bundle may code: PARTS and the ablation's `whole`.
CODED_PARTS: tuple[str, ...] = tuple(PART_REGISTRY)


def get_part(name: str) -> Part:
    """The registered part `name`; ValueError naming the parts for another name."""
    try:
        return PART_REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown body part {name!r}; the coded parts are {', '.join(CODED_PARTS)}") from None
