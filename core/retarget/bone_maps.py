"""Bone maps: which joint of one skeleton each joint of another follows, read from JSON.

Shipped maps live in `core/retarget/maps/*.json`:

    {"name": "bandai", "description": "...", "pairs": {"pelvis": "Hips", ...},
     "source_reference_pose": {"about": "...", "rotations": {"Spine": [w, x, y, z], ...}}}

    {"name": "metahuman", "source": "smplx", "description": "...",
     "pairs": {"pelvis": "pelvis", "spine_01": {"joint": "spine1", "fraction": 0.6}, ...}}

`pairs` always goes target joint -> source joint: the bone that moves -> the joint it follows.
Without "source" the map is onto SMPL-X: every target is an SMPL-X joint and each source joint
is used once (`smplx.json`, the identity map, reads a BVH whose joints carry SMPL-X names).
With "source": "smplx" it is a rig map: every source is an SMPL-X joint, the targets are the
rig's bone names, and several rig bones may follow one SMPL-X joint (Rigify's twist segments,
MetaHuman's metacarpals following the wrist). A source may be written as {"joint": name,
"fraction": f} with 0 < f <= 1: the target then takes only that fraction of the source
joint's local rotation (see "Chains of different lengths" in `alignment`). A target joint
that is not in the map keeps the identity local rotation (its rest pose relative to its
parent). The optional reference pose gives local rotations (relative to the source's rest;
joints not listed: identity) of a natural pose of the source (see "The reference pose" in
`alignment` for why a source may need one).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import (
    CorruptFileError,
    LayoutError,
    MissingFileError,
    SkeletonError,
    require_file,
)
from ..skeleton import SMPLX_JOINT_NAMES

MAPS_DIR = Path(__file__).resolve().parent / "maps"

#: The value of a map's "source" field that makes it a rig map (SMPL-X joints as sources).
SMPLX_SOURCE = "smplx"


@dataclass(frozen=True)
class BoneMap:
    """Target joint -> source joint pairs, with where they came from.

    reference: local rotations (w, x, y, z) of a natural pose of the source, per source
    joint (unlisted: identity); empty means the source's rest is natural enough.
    fractions: target joint -> the fraction (0, 1] of its source joint's local rotation it
    takes (unlisted: 1); see "Chains of different lengths" in `alignment`.
    source: "smplx" for a rig map (sources are SMPL-X joints, targets a rig's bones), "" for a
    map onto SMPL-X (targets are SMPL-X joints).
    sides_by_name, metres_per_unit: a hand-only map's "hand" block (`hands`): file-name token ->
    "left"/"right" (the pairs are written for the left hand), and the source's length unit in
    metres (0: the reader's own). Empty / 0 for other maps.
    """

    name: str
    pairs: dict[str, str]
    description: str = ""
    path: str = ""
    reference: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    fractions: dict[str, float] = field(default_factory=dict)
    source: str = ""
    sides_by_name: dict[str, str] = field(default_factory=dict)
    metres_per_unit: float = 0.0

    @property
    def is_hand_only(self) -> bool:
        """True for a map of a hand without a body (targets one wrist and its fingers)."""
        return bool(self.sides_by_name)

    @property
    def source_joints(self) -> tuple[str, ...]:
        """The source joint of each pair (a joint followed by several targets repeats)."""
        return tuple(self.pairs.values())

    @property
    def target_joints(self) -> tuple[str, ...]:
        return tuple(self.pairs.keys())

    @property
    def is_rig_map(self) -> bool:
        """True for a map from SMPL-X onto a rig (sources are SMPL-X joints)."""
        return self.source == SMPLX_SOURCE

    def fraction(self, target: str) -> float:
        return self.fractions.get(target, 1.0)

    def restricted(self, targets) -> "BoneMap":
        """The same map with only the pairs whose target is in `targets`."""
        keep = set(targets)
        return replace(
            self,
            pairs={t: s for t, s in self.pairs.items() if t in keep},
            fractions={t: f for t, f in self.fractions.items() if t in keep},
        )

    def renamed(self, names: dict[str, str]) -> "BoneMap":
        """The same map with targets renamed by `names` (old -> new; others kept)."""
        return replace(
            self,
            pairs={names.get(t, t): s for t, s in self.pairs.items()},
            fractions={names.get(t, t): f for t, f in self.fractions.items()},
        )


def shipped_bone_maps() -> list[str]:
    """Names of all bone maps shipped in core/retarget/maps (sorted), onto SMPL-X and rig maps."""
    return sorted(p.stem for p in MAPS_DIR.glob("*.json"))


def bone_map_path(name_or_path: str | os.PathLike) -> Path:
    """The file of a shipped bone map by name (e.g. "bandai") or of a user's map by path.

    Anything ending in .json, holding a path separator or naming an existing file is a path.
    Raises MissingFileError for an unknown name or a missing, empty or non-file path.
    """
    text = os.fspath(name_or_path)
    is_path = text.endswith(".json") or os.sep in text or "/" in text or os.path.exists(text)
    if is_path:
        return Path(require_file(text))
    path = MAPS_DIR / f"{text}.json"
    if not path.is_file():
        raise MissingFileError(
            path, f"no shipped bone map named {text!r}; shipped maps: {', '.join(shipped_bone_maps())}"
        )
    return path


def read_json_object(path: Path, what: str) -> dict:
    """The JSON object in `path`; CorruptFileError for invalid JSON, LayoutError for another
    JSON value (each names the file and says it should hold `what`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(path, f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise LayoutError(path, f"should hold a JSON object ({what}), not a {type(data).__name__}")
    return data


def load_bone_map(name_or_path: str | os.PathLike, target_names=SMPLX_JOINT_NAMES) -> BoneMap:
    """A shipped bone map by name (e.g. "bandai", "metahuman") or a user's map file by path.

    The file is JSON: {"name": str, "description": str (optional), "source": "smplx"
    (optional: a rig map), "pairs": {target: source}, "source_reference_pose": {"rotations":
    {source joint: [w, x, y, z]}} (optional)}; a source is a joint name or {"joint": name,
    "fraction": f} with 0 < f <= 1. Onto SMPL-X (no "source"): every target joint must be one
    of `target_names` (default the 55 SMPL-X joints) and each source joint is used once. A rig
    map: every source must be an SMPL-X joint; a joint may be followed by several targets.
    Other keys (a rig map's "skeleton", see `rigs`) are left to their readers.
    Raises MissingFileError for an unknown name or a missing file, CorruptFileError for invalid
    JSON, LayoutError for a wrong structure or unknown joints; each names the file.
    """
    path = bone_map_path(name_or_path)
    data = read_json_object(path, 'a bone map: {"name": ..., "pairs": {"target joint": "source joint"}}')
    return bone_map_from_dict(data, path, target_names)


def bone_map_from_dict(data: dict, path: Path, target_names=SMPLX_JOINT_NAMES) -> BoneMap:
    """The BoneMap a map file's parsed JSON object describes (see `load_bone_map`); errors
    name `path`."""
    source_kind = data.get("source", "")
    if source_kind not in ("", SMPLX_SOURCE):
        raise LayoutError(path, f'"source" can only be "{SMPLX_SOURCE}" (a rig map), got {source_kind!r}')
    if not isinstance(data.get("pairs"), dict) or not data["pairs"]:
        direction = '"rig bone": "SMPL-X joint"' if source_kind else '"target joint": "source joint"'
        raise LayoutError(path, f'a bone map needs a non-empty "pairs" object: {{{direction}}}')
    pairs, fractions = _parse_pairs(path, data["pairs"])
    if source_kind == SMPLX_SOURCE:
        unknown = sorted({s for s in pairs.values() if s not in SMPLX_JOINT_NAMES})
        if unknown:
            hint = ""
            if all(t in SMPLX_JOINT_NAMES for t in pairs):
                hint = ' (the keys are SMPL-X joints: a rig map goes "rig bone": "SMPL-X joint")'
            raise LayoutError(path, f"unknown SMPL-X joints as sources: {', '.join(unknown)}{hint}")
    else:
        unknown = [k for k in pairs if k not in target_names]
        if unknown:
            raise LayoutError(path, f"unknown target joints (not SMPL-X joint names): {', '.join(unknown)}")
        used: dict[str, str] = {}
        for t, s in pairs.items():
            if s in used:
                raise LayoutError(path, f"source joint {s!r} is mapped twice ({used[s]!r} and {t!r})")
            used[s] = t
    name = data.get("name", path.stem)
    if not isinstance(name, str):
        raise LayoutError(path, '"name" must be a string')
    sides, unit = _hand_block(path, data.get("hand"))
    return BoneMap(name=name, pairs=pairs, description=str(data.get("description", "")), path=str(path),
                   reference=_reference_pose(path, data.get("source_reference_pose")), fractions=fractions,
                   source=source_kind, sides_by_name=sides, metres_per_unit=unit)


def _hand_block(path: Path, block) -> tuple[dict[str, str], float]:
    """The "hand" block of a hand-only map, checked: ({name token: "left"/"right"}, metres per unit)."""
    if block is None:
        return {}, 0.0
    sides = block.get("sides_by_name") if isinstance(block, dict) else None
    if not isinstance(sides, dict) or not sides or any(v not in ("left", "right") for v in sides.values()):
        raise LayoutError(path, '"hand" needs "sides_by_name": {"<token in file names>": "left" or "right", ...}')
    unit = block.get("metres_per_unit", 0.0)
    if isinstance(unit, bool) or not isinstance(unit, (int, float)) or not 0.0 <= unit < 10.0:
        raise LayoutError(path, f'"hand.metres_per_unit" must be a length in metres (0: as read), got {unit!r}')
    return {str(k): v for k, v in sides.items()}, float(unit)


def _parse_pairs(path: Path, raw: dict) -> tuple[dict[str, str], dict[str, float]]:
    """The "pairs" object -> (target -> source joint, target -> fraction where not 1)."""
    pairs, fractions, bad = {}, {}, []
    for target, value in raw.items():
        joint, fraction = value, 1.0
        if isinstance(value, dict):
            joint, fraction = value.get("joint"), value.get("fraction", 1.0)
            extra = set(value) - {"joint", "fraction"}
            if extra:
                bad.append(f"{target!r}: unknown keys {', '.join(sorted(extra))}")
                continue
        if not target or not isinstance(joint, str) or not joint:
            bad.append(f"{target!r}: {value!r}")
            continue
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 < fraction <= 1.0:
            raise LayoutError(path, f"the fraction of {target!r} must be a number in (0, 1], got {fraction!r}")
        pairs[target] = joint
        if fraction != 1.0:
            fractions[target] = float(fraction)
    if bad:
        raise LayoutError(
            path, 'source joints must be non-empty strings or {"joint": name, "fraction": f}: ' + ", ".join(bad)
        )
    return pairs, fractions


def _reference_pose(path: Path, block) -> dict[str, tuple[float, float, float, float]]:
    """The "source_reference_pose" block's rotations, checked: unit quaternions by joint name."""
    if block is None:
        return {}
    rotations = block.get("rotations") if isinstance(block, dict) else None
    if not isinstance(rotations, dict):
        raise LayoutError(path, '"source_reference_pose" needs a "rotations" object: {"source joint": [w, x, y, z]}')
    out = {}
    for joint, q in rotations.items():
        ok = isinstance(q, list) and len(q) == 4 and all(isinstance(x, (int, float)) for x in q)
        if not ok or not np.isfinite(q).all() or abs(np.linalg.norm(q) - 1.0) > 1e-3:
            raise LayoutError(path, f"reference rotation of {joint!r} must be a unit quaternion [w, x, y, z], got {q!r}")
        out[joint] = tuple(float(x) for x in q)
    return out


def bone_map_for(names) -> BoneMap:
    """The shipped map onto SMPL-X whose source joints are all among `names` (the most pairs
    wins); rig maps (from SMPL-X) are not considered.

    Raises SkeletonError naming, for the closest shipped map, the joints it misses.
    """
    present = set(names)
    fitting, closest = [], None
    candidates = [m for m in (load_bone_map(n) for n in shipped_bone_maps()) if not m.is_rig_map]
    for bone_map in candidates:
        missing = [s for s in bone_map.source_joints if s not in present]
        if not missing:
            fitting.append(bone_map)
        elif closest is None or len(missing) < len(closest[1]):
            closest = (bone_map, missing)
    if fitting:
        return max(fitting, key=lambda m: len(m.pairs))
    detail = ""
    if closest is not None:
        detail = f"; the closest, {closest[0].name!r}, lacks {', '.join(closest[1])}"
    raise SkeletonError(
        "no shipped bone map fits this skeleton (maps onto SMPL-X: "
        f"{', '.join(m.name for m in candidates)}){detail}. Write a bone map JSON "
        '{"name": ..., "pairs": {"pelvis": "<your root>", ...}} and load it with load_bone_map(path).'
    )

