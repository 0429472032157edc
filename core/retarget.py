"""Skeleton-to-skeleton motion transfer: bone maps and global-rotation retargeting.

Two directions use the same machinery:
- onto SMPL-X: a BVH skeleton (Bandai, ...) is the source and SMPL-X the target
  (`retarget_to_smplx`, used by `core.formats.read_motion`);
- from SMPL-X: SMPL-X motion is the source and a rig (MetaHuman-compatible, Mixamo, Rigify,
  a user's armature) the target (`retarget`, used through `core.rigs` and `scene.rig`).

Bone maps. Shipped maps live in `core/maps/*.json`:

    {"name": "bandai", "description": "...", "pairs": {"pelvis": "Hips", ...},
     "source_reference_pose": {"about": "...", "rotations": {"Spine": [w, x, y, z], ...}}}

    {"name": "metahuman", "source": "smplx", "description": "...",
     "pairs": {"pelvis": "pelvis", "spine_01": {"joint": "spine1", "fraction": 0.6}, ...}}

`pairs` always goes target joint -> source joint: the bone that moves -> the joint it follows.
Without "source" the map is onto SMPL-X: every target is an SMPL-X joint and each source joint
is used once. With "source": "smplx" it is a rig map: every source is an SMPL-X joint, the
targets are the rig's bone names, and several rig bones may follow one SMPL-X joint (Rigify's
twist segments, MetaHuman's metacarpals following the wrist). A source may be written as
{"joint": name, "fraction": f} with 0 < f <= 1: the target then takes only that fraction of
the source joint's local rotation (see chains below). A target joint that is not in the map
keeps the identity local rotation (its rest pose relative to its parent). The optional
reference pose gives local rotations (relative to the source's rest; joints not listed:
identity) of a natural pose of the source; see below for why a source may need one.

Method (global rotations with rest-pose alignment). For a mapped target joint t with source
joint s (fraction 1), its world rotation in every frame is

    G_t(frame) = G_s(frame) @ A_t

where A_t is a constant rotation chosen so that the target's rest bone directions, turned by
A_t, point along the source's rest bone directions. A target joint's bone directions run from
it to its *ends*: its nearest mapped descendants that follow another source joint than it does
(the search goes on through unmapped joints and through joints following the same source
joint, so SMPL-X spine1 -> spine3 follows the source's Spine -> Chest when spine2 is unmapped,
and a MetaHuman hand points at the finger roots, past the metacarpals that follow the wrist
with it). The matching source direction runs from s to the ends' source joints. With several
ends (pelvis, chest, hand) A_t is the best rotation over all of them (Kabsch); with one, it is
the smallest rotation taking A_parent @ d_target onto d_source, composed with A_parent, so the
twist about the bone comes from the parent rather than being arbitrary; with none (hands,
head, toes of a source without fingers or face) A_t = A_parent. Local rotations then follow
from the world ones. Because both skeletons have identity rest rotations, a source frame at
its own rest pose gives the target a pose whose bones point the way the source's rest bones
do (from SMPL-X, a T-pose, so a MetaHuman's A-pose arms are raised to it).

Chains of different lengths. SMPL-X has three spine joints where a MetaHuman has five spine
bones (and one neck joint for two neck bones). A target bone with fraction f < 1 follows
"part of" its source joint: V_t = G_parent(s) @ L_s^f (L_s the source's local rotation, the
power taken along the shortest arc), and G_t = V_t @ A_t. The shipped maps cut a source chain
of m joints into n target bones by counting: target bone k (1..n) sits at u = m k / n source
joints along the chain and follows source joint ceil(u) with fraction u - ceil(u) + 1; for the
spine (m = 3, n = 5) spine_01..05 follow spine1 0.6, spine2 0.2, spine2 0.8, spine3 0.4,
spine3 1. The bend is spread over the target's bones and the chain's last bone turns with the
source's last joint, so the chain ends pointing where the source's does. A bone following the
same joint with the same fraction as its parent (metacarpals with the hand following the wrist,
Rigify's .001 twist segments) keeps its rest pose relative to that parent (A_t = A_parent): the
source has no joint between them, so the target's own palm shape is kept and the hand is
aligned by the finger roots beyond it.

The reference pose. A rest pose fixes bone directions but not the twist about each bone, and
the smallest-rotation rule only carries a parent's twist down correctly when the source's
rest is itself a natural pose. Bandai's is not: every bone lies along its joint's local X
(legs folded up along the spine), and every captured frame turns its Spine about 90 degrees
about the spine's own axis and its Chest back, so rest-based alignment gives SMPL-X spine1
and spine3 opposite 90-degree twists and flips one leg by 180 degrees about the thigh (the
legs are antiparallel to the T-pose's, where the smallest rotation is not unique). So the
rules above are applied in a natural pose P of the source instead of its rest: the target
pose G*_t matching P is built joint by joint (Kabsch over the directions in P; the smallest
rotation from G*_parent @ d_target to P's direction, composed with G*_parent; leaves and
unmapped joints G*_parent), and A_t = V_t(P)^T @ G*_t. With P the rest (no reference pose)
this is exactly the rest alignment; with any P, every mapped bone's world direction still
equals the source's in every frame, and in pose P the target's twists are the natural ones.
(SMPL-X's rest, a T-pose, is natural: rig maps from SMPL-X need no reference pose.)

The root. The *anchor* is the first mapped target joint (parents precede children, so none of
its ancestors is mapped): the target root itself, or the pelvis under a MetaHuman's `root`.
Its world path is its source joint's, scaled by the ratio of leg lengths (target hip-to-ankle
/ source hip-to-ankle), so that a longer-legged target takes longer strides and its feet stay
at floor height; its unmapped ancestors keep the identity rotation and the target root moves
with it.

Both skeletons must share the world frame (metres, Y up); readers convert units and axes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import rotations as rot
from .errors import CorruptFileError, LayoutError, MissingFileError, SkeletonError, require_file
from .kinematics import forward_kinematics, global_to_local
from .motion import Motion
from .skeleton import SMPLX_JOINT_NAMES, Skeleton, smplx_skeleton

MAPS_DIR = Path(__file__).resolve().parent / "maps"

#: The value of a map's "source" field that makes it a rig map (SMPL-X joints as sources).
SMPLX_SOURCE = "smplx"

# Below this length (metres) a rest bone gives no usable direction.
_MIN_BONE = 1e-6
# Child directions whose second singular value is below this fraction of the first are
# (nearly) collinear: they fix no twist, so Kabsch falls back to the single-direction rule.
_COLLINEAR = 1e-3


@dataclass(frozen=True)
class BoneMap:
    """Target joint -> source joint pairs, with where they came from.

    reference: local rotations (w, x, y, z) of a natural pose of the source, per source
    joint (unlisted: identity); empty means the source's rest is natural enough.
    fractions: target joint -> the fraction (0, 1] of its source joint's local rotation it
    takes (unlisted: 1); see "Chains of different lengths" in the module docstring.
    source: "smplx" for a rig map (sources are SMPL-X joints, targets a rig's bones), "" for a
    map onto SMPL-X (targets are SMPL-X joints).
    """

    name: str
    pairs: dict[str, str]
    description: str = ""
    path: str = ""
    reference: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    fractions: dict[str, float] = field(default_factory=dict)
    source: str = ""

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


@dataclass
class RetargetResult:
    """The retargeted motion, the target joints that kept their rest pose, and any warnings."""

    motion: Motion
    unmapped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def shipped_bone_maps() -> list[str]:
    """Names of all bone maps shipped in core/maps (sorted), onto SMPL-X and rig maps."""
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
    Other keys (a rig map's "skeleton", see core.rigs) are left to their readers.
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
    return BoneMap(name=name, pairs=pairs, description=str(data.get("description", "")), path=str(path),
                   reference=_reference_pose(path, data.get("source_reference_pose")), fractions=fractions,
                   source=source_kind)


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


def source_indices(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> tuple[np.ndarray, np.ndarray]:
    """(src_of (J_target,) source joint index or -1, frac (J_target,) fraction, 1 unmapped)."""
    src_of = np.full(target.num_joints, -1)
    frac = np.ones(target.num_joints)
    for t_name, s_name in bone_map.pairs.items():
        t = target.index(t_name)
        src_of[t] = source.index(s_name)
        frac[t] = bone_map.fraction(t_name)
    return src_of, frac


def direction_ends(parents, src_of) -> list[list[int]]:
    """For each target joint, the ends of its bone directions (see the module docstring): the
    nearest mapped descendants following another source joint; the search goes on through
    unmapped joints and through joints following the same source joint."""
    J = len(parents)
    children = [[] for _ in range(J)]
    for j, p in enumerate(parents):
        if p >= 0:
            children[p].append(j)
    result: list[list[int]] = [[] for _ in range(J)]
    for j in range(J):
        stack = list(children[j])
        while stack:
            c = stack.pop(0)
            if src_of[c] >= 0 and src_of[c] != src_of[j]:
                result[j].append(c)
            else:
                stack.extend(children[c])
    return result


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Rotation R minimising sum |R a_i - b_i|^2 for unit rows a, b (N, 3); None if collinear."""
    h = a.T @ b
    u, s, vt = np.linalg.svd(h)
    if s[1] < _COLLINEAR * max(s[0], _MIN_BONE):
        return None
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    return vt.T @ np.diag([1.0, 1.0, d]) @ u.T


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def partial_rotations(quats: np.ndarray, fraction: float) -> np.ndarray:
    """(..., 4) rotations -> (..., 3, 3) the same rotations taken `fraction` of the way from
    the identity, along the shortest arc (q^f)."""
    q = np.where(quats[..., :1] < 0, -quats, quats)  # w >= 0: the angle is at most pi
    return rot.axis_angle_to_matrix(fraction * rot.quat_to_axis_angle(q))


def _followed_rotations(glob: np.ndarray, local_q: np.ndarray, parents, s: int, fraction: float) -> np.ndarray:
    """(..., 3, 3) V = G_parent(s) @ L_s^fraction: the world rotation a target following source
    joint s with `fraction` turns with (G_s itself for fraction 1).

    glob: (..., Js, 3, 3) source world rotations; local_q: (..., Js, 4) source local rotations.
    """
    if fraction == 1.0:
        return glob[..., s, :, :]
    partial = partial_rotations(local_q[..., s, :], fraction)
    p = parents[s]
    return partial if p < 0 else glob[..., p, :, :] @ partial


def rest_alignments(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> tuple[np.ndarray, list[str]]:
    """(J_target, 3, 3) constant alignments A_t and warnings; see the module docstring.

    Built in the source's reference pose P (its rest when the map has none): G*_t, the
    target's world rotation matching P, joint by joint, then A_t = V_t(P)^T @ G*_t for mapped
    joints. Unmapped target joints get G*_parent (their identity local rotation) and, as
    A_t, that of their nearest mapped ancestor (unused by the retargeting itself).
    """
    src_of, frac = source_indices(source, target, bone_map)
    reference = np.tile([1.0, 0.0, 0.0, 0.0], (source.num_joints, 1))
    for joint, q in bone_map.reference.items():
        reference[source.index(joint)] = q
    s_glob, s_pos = forward_kinematics(reference, source.offsets, source.parents, source.offsets[0])
    t_rest = target.rest_positions()
    ends = direction_ends(target.parents, src_of)
    pose = np.empty((target.num_joints, 3, 3))  # G*: the target matching the reference pose
    align = np.empty((target.num_joints, 3, 3))
    warnings: list[str] = []
    for t in range(target.num_joints):
        p = target.parents[t]
        g_parent = np.eye(3) if p < 0 else pose[p]
        if src_of[t] < 0:
            pose[t] = g_parent
            align[t] = np.eye(3) if p < 0 else align[p]
            continue
        if p >= 0 and src_of[p] == src_of[t] and frac[p] == frac[t]:
            # The parent follows the same joint just as fully: the source has no joint
            # between them, so the bone keeps its rest pose relative to its parent.
            pose[t] = g_parent
            align[t] = align[p]
            continue
        d_t, d_s = [], []
        for c in ends[t]:
            vt = t_rest[c] - t_rest[t]
            vs = s_pos[src_of[c]] - s_pos[src_of[t]]
            if np.linalg.norm(vt) < _MIN_BONE or np.linalg.norm(vs) < _MIN_BONE:
                warnings.append(
                    f"bone {target.names[t]} -> {target.names[c]} has no length in the "
                    f"{'target' if np.linalg.norm(vt) < _MIN_BONE else 'source'} rest pose; "
                    "it does not steer the alignment"
                )
                continue
            d_t.append(vt)
            d_s.append(vs)
        if not d_t:
            pose[t] = g_parent  # a leaf: the identity local rotation in the reference pose
        else:
            d_t, d_s = _unit(np.array(d_t)), _unit(np.array(d_s))
            r = _kabsch(d_t, d_s) if len(d_t) > 1 else None
            if r is None:
                # One direction (or collinear ones): the smallest turn from where the parent
                # already points the bone, so the twist follows the parent.
                u = g_parent @ _unit(d_t.sum(axis=0))
                r = rot.quat_to_matrix(rot.quat_between(u, _unit(d_s.sum(axis=0)))) @ g_parent
            pose[t] = r
        followed = _followed_rotations(s_glob, reference, source.parents, int(src_of[t]), float(frac[t]))
        align[t] = followed.T @ pose[t]
    return align, warnings


def _leg_length(skeleton: Skeleton, chain: list[str]) -> float:
    """Summed rest distance along a joint chain (e.g. hip, knee, ankle), metres."""
    pos = skeleton.rest_positions()
    idx = [skeleton.index(n) for n in chain]
    return float(sum(np.linalg.norm(pos[b] - pos[a]) for a, b in zip(idx[:-1], idx[1:])))


def _leg_chains(target: Skeleton, bone_map: BoneMap, side: str) -> tuple[list[str], list[str]] | None:
    """(target joints, source joints) of one leg (hip, knee, ankle), or None if not mapped.

    Onto SMPL-X the target joints are SMPL-X's; in a rig map the source joints are, and each
    one's target is the first target joint (parents first) following it fully, the bone whose
    head sits at the joint (Rigify's thigh, not its .001 twist segment)."""
    chain = [f"{side}_hip", f"{side}_knee", f"{side}_ankle"]
    if not bone_map.is_rig_map:
        if all(j in bone_map.pairs for j in chain):
            return chain, [bone_map.pairs[j] for j in chain]
        return None
    targets = []
    for joint in chain:
        followers = [target.index(t) for t, s in bone_map.pairs.items() if s == joint and bone_map.fraction(t) == 1.0]
        if not followers:
            return None
        targets.append(target.names[min(followers)])
    return targets, chain


def root_scale(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> tuple[float, str | None]:
    """Target / source hip-to-ankle length, averaged over the legs the map covers.

    Returns (scale, warning): scale 1 and a warning when no leg is fully mapped.
    """
    ratios = []
    for side in ("left", "right"):
        chains = _leg_chains(target, bone_map, side)
        if chains is not None:
            src = _leg_length(source, chains[1])
            tgt = _leg_length(target, chains[0])
            if src > _MIN_BONE:
                ratios.append(tgt / src)
    if not ratios:
        return 1.0, "no leg (hip, knee, ankle) is mapped: the root path is not scaled"
    return float(np.mean(ratios)), None


def _check_fits(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> str:
    """Raise SkeletonError when the map names joints either skeleton lacks; the map's
    description for messages."""
    where = f" (bone map {bone_map.name!r}{', ' + bone_map.path if bone_map.path else ''})"
    missing_src = sorted({s for s in bone_map.source_joints if s not in source.names})
    missing_tgt = [t for t in bone_map.target_joints if t not in target.names]
    if missing_src:
        raise SkeletonError(f"the source skeleton lacks joints the bone map needs{where}: {', '.join(missing_src)}")
    if missing_tgt:
        raise SkeletonError(f"the target skeleton lacks joints the bone map names{where}: {', '.join(missing_tgt)}")
    missing_ref = [s for s in bone_map.reference if s not in source.names]
    if missing_ref:
        raise SkeletonError(f"the source skeleton lacks joints of the bone map's reference pose{where}: {', '.join(missing_ref)}")
    if not bone_map.pairs:
        raise SkeletonError(f"the bone map maps no joint{where}")
    return where


def retarget(source: Motion, bone_map: BoneMap, target: Skeleton) -> RetargetResult:
    """Transfer `source` onto the skeleton `target` through `bone_map` (target -> source).

    source: a Motion in the shared world frame (metres, Y up); target: any skeleton in that
    frame (identity rest rotations, like every Skeleton).
    Returns RetargetResult(motion on `target` (T frames, same fps and expressions; betas
    dropped), unmapped target joint names (identity local rotations), warnings). The anchor
    (first mapped target joint) follows its source joint's path scaled by the leg-length
    ratio; see the module docstring. Raises SkeletonError when the map names joints the
    skeletons do not have or maps none.
    """
    _check_fits(source.skeleton, target, bone_map)
    src_skel = source.skeleton
    align, warnings = rest_alignments(src_skel, target, bone_map)
    scale, scale_warning = root_scale(src_skel, target, bone_map)
    if scale_warning:
        warnings.append(scale_warning)
    src_of, frac = source_indices(src_skel, target, bone_map)

    src_glob, src_pos = source.forward_kinematics()  # (T, Js, 3, 3), (T, Js, 3)
    T = source.num_frames
    glob = np.empty((T, target.num_joints, 3, 3))
    unmapped = []
    for t, name in enumerate(target.names):
        if src_of[t] >= 0:
            followed = _followed_rotations(src_glob, source.rotations, src_skel.parents, int(src_of[t]), float(frac[t]))
            glob[:, t] = followed @ align[t]
        else:
            unmapped.append(name)
            p = target.parents[t]
            glob[:, t] = np.eye(3) if p < 0 else glob[:, p]  # identity local rotation
    local = rot.matrix_to_quat(global_to_local(glob, target.parents))
    anchor = int(np.flatnonzero(src_of >= 0)[0])
    anchor_world = scale * src_pos[:, src_of[anchor]]
    motion = Motion(
        skeleton=target,
        fps=source.fps,
        rotations=local,
        # The anchor's ancestors keep identity rotations, so it lies at its rest position
        # plus the root's translation.
        trans=anchor_world - target.rest_positions()[anchor],
        expressions=source.expressions,
        betas=None,
        name=source.name,
    )
    return RetargetResult(motion=motion, unmapped=unmapped, warnings=warnings)


def retarget_to_smplx(source: Motion, bone_map: BoneMap, target: Skeleton | None = None) -> RetargetResult:
    """Transfer `source` onto the SMPL-X skeleton `target` (default: `smplx_skeleton()`).

    source: a Motion on any skeleton in the SMPL-X world frame (metres, Y up).
    bone_map: target joint -> source joint pairs (`load_bone_map`, `bone_map_for`); the
        target root must be mapped.
    Returns RetargetResult(motion (T, 55 joints, same fps and expressions), unmapped target
    joint names (they keep their rest pose), warnings).
    Raises SkeletonError when the map names joints the skeletons do not have.
    """
    target = smplx_skeleton() if target is None else target
    where = _check_fits(source.skeleton, target, bone_map)
    root_name = target.names[0]
    if root_name not in bone_map.pairs:
        raise SkeletonError(f"the bone map does not map the target root {root_name!r}{where}")
    return retarget(source, bone_map, target)
