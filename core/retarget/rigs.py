"""Rig layouts: the skeletons animators use, their bone maps from SMPL-X, and telling them apart.

A rig layout is a bone map from SMPL-X onto a rig (rig bone -> SMPL-X joint, see
`bone_maps`) and, where known, the rig's rest skeleton, from which an armature of that
layout can be built. Shipped layouts (`SHIPPED_RIGS`):

- `smplx`: the SMPL-X skeleton itself (core/retarget/maps/smplx.json, `smplx_skeleton()`);
- `metahuman`: MetaHuman / UE5 body bone names, A-pose (core/retarget/maps/metahuman.json,
  core/retarget/data/metahuman_rest.json);
- `mixamo`: Mixamo's `mixamorig:` bones, T-pose (core/retarget/maps/mixamo.json,
  core/retarget/data/mixamo_rest.json);
- `rigify`: Rigify's deform bones `DEF-...`, T-pose (core/retarget/maps/rigify.json,
  core/retarget/data/rigify_rest.json).

The rest files are made by tools/make_rig_layouts.py from the SMPL-X rest table (each says
how in its "how" field).

A user's map file (JSON) has the rig map schema of core/retarget/maps/metahuman.json:

    {"name": "my_rig",
     "source": "smplx",                      (optional in a user's file: it is a rig map)
     "description": "...",                   (optional)
     "pairs": {"Hips": "pelvis", "Spine": "spine1",
               "Chest": {"joint": "spine3", "fraction": 1.0}, ...},
     "skeleton": {"joints": [                (optional: lets --rig build the armature)
         {"name": "Hips", "parent": null, "head": [0.0, 0.94, 0.0]},
         {"name": "Spine", "parent": "Hips", "head": [0.0, 1.05, 0.0], "tail": [...]}, ...]}}

`pairs` goes rig bone -> SMPL-X joint (the 55 names of core.skeleton.SMPLX_JOINT_NAMES); a
joint may drive several bones; "fraction" (0, 1] takes part of the joint's rotation (chains of
different lengths). In "skeleton", joints are listed parents first, the first is the only root,
heads are rest positions in metres in SMPL-X axes (Y up, the character facing +Z, its left at
+X); "tail" (optional) fixes a bone's tail instead of the usual rule. Rig bones not in `pairs`
are left alone.

Bone names are matched to an armature's exactly, or else after the last ':' (an FBX namespace:
`mixamorig:Hips`, `mixamorig1:Hips` and `Hips` are one bone).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import LayoutError, MissingFileError, SkeletonError
from ..skeleton import (
    BODY_JOINTS,
    SMPLX_JOINT_NAMES,
    Skeleton,
    offsets_from_positions,
    smplx_skeleton,
)
from .bone_maps import (
    SMPLX_SOURCE,
    BoneMap,
    bone_map_from_dict,
    bone_map_path,
    load_bone_map,
    read_json_object,
)

DATA_DIR = Path(__file__).resolve().parent / "data"

#: The shipped rig layouts, by name.
SHIPPED_RIGS = ("smplx", "metahuman", "mixamo", "rigify")

#: A layout fits an armature when at least this fraction of its body bones (those following
#: SMPL-X joints 0-21) are among the armature's bones.
MIN_COVERAGE = 0.5

_BODY_NAMES = frozenset(SMPLX_JOINT_NAMES[j] for j in (0, *BODY_JOINTS))


class RigDetectionError(SkeletonError):
    """Auto-detection could not decide: no shipped layout fits, or several do.

    candidates: (layout name, coverage) of every shipped layout, best first.
    """

    def __init__(self, message: str, candidates: list[tuple[str, float]]):
        super().__init__(message)
        self.candidates = candidates


@dataclass(frozen=True)
class RigLayout:
    """A rig: its bone map from SMPL-X and, when known, its rest skeleton.

    bone_map: rig bone -> SMPL-X joint (a rig map; the identity map for `smplx`).
    skeleton: the rest skeleton an armature of this layout is built from (SMPL-X axes,
        metres), or None for a user's map without a "skeleton" block.
    tails: rig bone -> rest tail (SMPL-X axes) where the layout fixes it.
    """

    name: str
    bone_map: BoneMap
    skeleton: Skeleton | None
    tails: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    description: str = ""
    path: str = ""


@dataclass(frozen=True)
class BoneMatch:
    """A layout matched against an armature's bone names.

    bone_map: the layout's map with targets renamed to the armature's names and restricted
        to the bones it has.
    missing: the layout's bones the armature lacks (their SMPL-X joints drive nothing).
    coverage: the fraction of the layout's body bones (following SMPL-X joints 0-21) present.
    """

    layout: RigLayout
    bone_map: BoneMap
    missing: list[str]
    coverage: float


def bare_name(name: str) -> str:
    """A bone name without its FBX namespace: the part after the last ':'."""
    return name.rsplit(":", 1)[-1]


def skeleton_from_joints(joints, path: str | os.PathLike) -> tuple[Skeleton, dict[str, tuple[float, float, float]]]:
    """(Skeleton, tails) from a "joints" list [{"name", "parent", "head", "tail"?}, ...].

    Raises LayoutError naming `path` for anything malformed: a joint without a name, a
    repeated name, a parent not listed before its child, a second root, a head or tail that is
    not three finite numbers.
    """
    if not isinstance(joints, list) or not joints:
        raise LayoutError(path, 'the skeleton needs a non-empty "joints" list: [{"name", "parent", "head"}, ...]')
    names, parents, heads, tails = [], [], [], {}
    index: dict[str, int] = {}
    for k, joint in enumerate(joints):
        name = joint.get("name") if isinstance(joint, dict) else None
        if not isinstance(name, str) or not name:
            raise LayoutError(path, f"skeleton joint {k} needs a non-empty \"name\", got {joint!r}")
        if name in index:
            raise LayoutError(path, f"skeleton joint {name!r} is listed twice")
        parent = joint.get("parent")
        if k == 0:
            if parent is not None:
                raise LayoutError(path, f"the first skeleton joint {name!r} must be the root (\"parent\": null)")
            parents.append(-1)
        elif parent is None:
            raise LayoutError(path, f"skeleton joint {name!r} has no parent: only the first joint is the root")
        elif parent not in index:
            raise LayoutError(path, f"skeleton joint {name!r}: its parent {parent!r} must be listed before it")
        else:
            parents.append(index[parent])
        heads.append(_point(joint.get("head"), path, f"the head of {name!r}"))
        if joint.get("tail") is not None:
            tails[name] = tuple(_point(joint["tail"], path, f"the tail of {name!r}"))
        index[name] = k
        names.append(name)
    skeleton = Skeleton(tuple(names), tuple(parents), offsets_from_positions(np.array(heads), parents))
    return skeleton, tails


def _point(value, path, what: str) -> list[float]:
    ok = (isinstance(value, list) and len(value) == 3
          and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in value))
    if not ok:
        raise LayoutError(path, f"{what} must be three numbers [x, y, z] in metres, got {value!r}")
    return [float(x) for x in value]


def rig_layout(name_or_path: str | os.PathLike) -> RigLayout:
    """A shipped layout by name (`SHIPPED_RIGS`) or a user's map file by path (.json).

    Raises MissingFileError for an unknown name or a missing file; CorruptFileError or
    LayoutError, naming the file, for a malformed one.
    """
    text = os.fspath(name_or_path)
    if text == "smplx":
        return RigLayout("smplx", load_bone_map("smplx"), smplx_skeleton(),
                         description="the SMPL-X skeleton (approximate neutral rest joints)",
                         path=load_bone_map("smplx").path)
    if text in SHIPPED_RIGS:
        bone_map = load_bone_map(text)
        rest_path = DATA_DIR / f"{text}_rest.json"
        rest = read_json_object(rest_path, 'a rig rest layout: {"joints": [...]}')
        skeleton, tails = skeleton_from_joints(rest.get("joints"), rest_path)
        return RigLayout(text, bone_map, skeleton, tails, str(rest.get("description", "")), bone_map.path)
    if not (text.endswith(".json") or os.sep in text or "/" in text or os.path.exists(text)):
        raise MissingFileError(
            text,
            f"no rig layout named {text!r}; shipped layouts: {', '.join(SHIPPED_RIGS)}, or give a map file (.json)",
        )
    return load_rig_map(text)


def load_rig_map(path: str | os.PathLike) -> RigLayout:
    """A user's rig map file (see the module docstring) as a RigLayout.

    "source" defaults to "smplx" here. Raises MissingFileError, CorruptFileError or
    LayoutError naming the file.
    """
    path = bone_map_path(path)
    data = read_json_object(path, 'a rig map: {"name": ..., "pairs": {"rig bone": "SMPL-X joint"}}')
    data.setdefault("source", SMPLX_SOURCE)
    if data["source"] != SMPLX_SOURCE:
        raise LayoutError(path, f'a rig map\'s "source" must be "{SMPLX_SOURCE}", got {data["source"]!r}')
    bone_map = bone_map_from_dict(data, path)
    skeleton, tails = None, {}
    block = data.get("skeleton")
    if block is not None:
        if not isinstance(block, dict):
            raise LayoutError(path, '"skeleton" must be an object: {"joints": [...]}')
        skeleton, tails = skeleton_from_joints(block.get("joints"), path)
        unknown = [b for b in bone_map.target_joints if b not in skeleton.names]
        if unknown:
            raise LayoutError(path, f"the map's bones are not in its \"skeleton\": {', '.join(unknown)}")
    return RigLayout(bone_map.name, bone_map, skeleton, tails, bone_map.description, str(path))


def match_bones(layout: RigLayout, names) -> BoneMatch:
    """Match `layout`'s bones to an armature's bone `names` (exactly, else after the last ':').

    An armature whose bare names repeat (two namespaces) matches those bones only exactly.
    """
    names = list(names)
    present = set(names)
    by_bare: dict[str, list[str]] = {}
    for n in names:
        by_bare.setdefault(bare_name(n), []).append(n)
    rename, missing = {}, []
    for bone in layout.bone_map.target_joints:
        if bone in present:
            rename[bone] = bone
            continue
        same = by_bare.get(bare_name(bone), [])
        if len(same) == 1:
            rename[bone] = same[0]
        else:
            missing.append(bone)
    body = [b for b, j in layout.bone_map.pairs.items() if j in _BODY_NAMES]
    coverage = sum(b in rename for b in body) / len(body) if body else 0.0
    bone_map = layout.bone_map.restricted(rename).renamed(rename)
    return BoneMatch(layout, bone_map, missing, coverage)


def detect_rig(names) -> RigLayout:
    """The shipped layout an armature with bone `names` has.

    A layout fits when at least MIN_COVERAGE of its body bones are present (fingers, eyes and
    end bones may be missing). Raises RigDetectionError when none fits (unknown names) or
    several do (ambiguous), saying which layouts came closest and what to do.
    """
    names = list(names)
    matches = sorted((match_bones(rig_layout(n), names) for n in SHIPPED_RIGS), key=lambda m: -m.coverage)
    candidates = [(m.layout.name, m.coverage) for m in matches]
    fitting = [m for m in matches if m.coverage >= MIN_COVERAGE]
    if len(fitting) == 1:
        return fitting[0].layout
    choose = (
        "choose the layout (smplx, metahuman, mixamo, rigify) or give a bone map file "
        '(JSON: {"name": ..., "pairs": {"your bone": "SMPL-X joint", ...}})'
    )
    if fitting:
        fits = ", ".join(f"{m.layout.name} ({_body_count(m)})" for m in fitting)
        raise RigDetectionError(f"cannot tell which rig this is: its bones fit several layouts: {fits}; {choose}",
                                candidates)
    best = matches[0]
    if best.coverage == 0:
        raise RigDetectionError(
            f"cannot tell which rig this is: none of its {len(names)} bones is a body bone of a shipped layout; "
            f"{choose}",
            candidates,
        )
    lacks = [b for b, j in best.layout.bone_map.pairs.items() if j in _BODY_NAMES and b in best.missing]
    shown = ", ".join(lacks[:8]) + (f" and {len(lacks) - 8} more" if len(lacks) > 8 else "")
    raise RigDetectionError(
        f"cannot tell which rig this is: no shipped layout has half its body bones among these {len(names)} bones; "
        f"the closest, {best.layout.name}, has {_body_count(best)} (lacks {shown}); {choose}",
        candidates,
    )


def _body_count(match: BoneMatch) -> str:
    body = [b for b, j in match.layout.bone_map.pairs.items() if j in _BODY_NAMES]
    return f"{round(match.coverage * len(body))} of {len(body)} body bones"
