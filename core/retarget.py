"""Skeleton-to-skeleton motion transfer onto SMPL-X: bone maps and global-rotation retargeting.

A bone map pairs target (SMPL-X) joints with source joints. Shipped maps live in
`core/maps/*.json`:

    {"name": "bandai", "description": "...", "pairs": {"pelvis": "Hips", ...},
     "source_reference_pose": {"about": "...", "rotations": {"Spine": [w, x, y, z], ...}}}

`pairs` goes target joint -> source joint. A target joint that is not in the map keeps the
identity local rotation (its rest pose relative to its parent). The optional reference pose
gives local rotations (relative to the source's rest; joints not listed: identity) of a
natural pose of the source; see below for why a source may need one.

Method (global rotations with rest-pose alignment). For a mapped target joint t with source
joint s, its world rotation in every frame is

    G_t(frame) = G_s(frame) @ A_t

where A_t is a constant rotation chosen so that the target's rest bone directions, turned by
A_t, point along the source's rest bone directions. A joint's bone directions run from it to
its nearest *mapped* descendants (SMPL-X spine1 -> spine3 follows the source's Spine -> Chest
when spine2 is unmapped). With several such descendants (pelvis, chest) A_t is the best
rotation over all of them (Kabsch); with one, it is the smallest rotation taking
A_parent @ d_target onto d_source, composed with A_parent, so the twist about the bone comes
from the parent rather than being arbitrary; with none (hands, head, toes of a source without
fingers or face) A_t = A_parent. Local rotations then follow from the world ones. Because
both skeletons have identity rest rotations, a source frame at its own rest pose gives the
target a pose whose bones point the way the source's rest bones do.

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
unmapped joints G*_parent), and A_t = G_s(P)^T @ G*_t. With P the rest (no reference pose)
this is exactly the rest alignment; with any P, every mapped bone's world direction still
equals the source's in every frame, and in pose P the target's twists are the natural ones.

The root's world path is the source's (the position of the joint mapped to the target root)
scaled by the ratio of leg lengths (target hip-to-ankle / source hip-to-ankle), so that a
longer-legged target takes longer strides and its feet stay at floor height.

Both skeletons must share the world frame (metres, Y up); readers convert units and axes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import rotations as rot
from .errors import CorruptFileError, LayoutError, MissingFileError, SkeletonError, require_file
from .kinematics import forward_kinematics, global_to_local
from .motion import Motion
from .skeleton import SMPLX_JOINT_NAMES, Skeleton, smplx_skeleton

MAPS_DIR = Path(__file__).resolve().parent / "maps"

# Below this length (metres) a rest bone gives no usable direction.
_MIN_BONE = 1e-6
# Child directions whose second singular value is below this fraction of the first are
# (nearly) collinear: they fix no twist, so Kabsch falls back to the single-direction rule.
_COLLINEAR = 1e-3


@dataclass(frozen=True)
class BoneMap:
    """Target (SMPL-X) joint -> source joint pairs, with where they came from.

    reference: local rotations (w, x, y, z) of a natural pose of the source, per source
    joint (unlisted: identity); empty means the source's rest is natural enough.
    """

    name: str
    pairs: dict[str, str]
    description: str = ""
    path: str = ""
    reference: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)

    @property
    def source_joints(self) -> tuple[str, ...]:
        return tuple(self.pairs.values())

    @property
    def target_joints(self) -> tuple[str, ...]:
        return tuple(self.pairs.keys())


@dataclass
class RetargetResult:
    """The retargeted motion, the target joints that kept their rest pose, and any warnings."""

    motion: Motion
    unmapped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def shipped_bone_maps() -> list[str]:
    """Names of the bone maps shipped in core/maps (sorted)."""
    return sorted(p.stem for p in MAPS_DIR.glob("*.json"))


def load_bone_map(name_or_path: str | os.PathLike, target_names=SMPLX_JOINT_NAMES) -> BoneMap:
    """A shipped bone map by name (e.g. "bandai") or a user's map file by path.

    The file is JSON: {"name": str, "description": str (optional), "pairs": {target: source},
    "source_reference_pose": {"rotations": {source joint: [w, x, y, z]}} (optional)}.
    Every target joint must be one of `target_names` (default the 55 SMPL-X joints), each
    source joint may be used once. Raises MissingFileError for an unknown name or a missing
    file, CorruptFileError for invalid JSON, LayoutError for a wrong structure or unknown
    target joints; each names the file.
    """
    text = os.fspath(name_or_path)
    is_path = text.endswith(".json") or os.sep in text or "/" in text or os.path.exists(text)
    if is_path:
        path = Path(require_file(text))
    else:
        path = MAPS_DIR / f"{text}.json"
        if not path.is_file():
            raise MissingFileError(
                path, f"no shipped bone map named {text!r}; shipped maps: {', '.join(shipped_bone_maps())}"
            )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(path, f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("pairs"), dict) or not data["pairs"]:
        raise LayoutError(path, 'a bone map needs a non-empty "pairs" object: {"target joint": "source joint"}')
    pairs = data["pairs"]
    bad = [f"{k!r}: {v!r}" for k, v in pairs.items() if not isinstance(v, str) or not v]
    if bad:
        raise LayoutError(path, f"source joints must be non-empty strings: {', '.join(bad)}")
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
    return BoneMap(name=name, pairs=dict(pairs), description=str(data.get("description", "")), path=str(path),
                   reference=_reference_pose(path, data.get("source_reference_pose")))


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
    """The shipped bone map whose source joints are all among `names` (the most pairs wins).

    Raises SkeletonError naming, for the closest shipped map, the joints it misses.
    """
    present = set(names)
    fitting, closest = [], None
    for map_name in shipped_bone_maps():
        bone_map = load_bone_map(map_name)
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
        "no shipped bone map fits this skeleton (shipped: "
        f"{', '.join(shipped_bone_maps())}){detail}. Write a bone map JSON "
        '{"name": ..., "pairs": {"pelvis": "<your root>", ...}} and load it with load_bone_map(path).'
    )


def _mapped_descendants(parents: tuple[int, ...], mapped: np.ndarray) -> list[list[int]]:
    """For each joint, its nearest mapped descendants (the search stops at a mapped joint)."""
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
            if mapped[c]:
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


def rest_alignments(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> tuple[np.ndarray, list[str]]:
    """(J_target, 3, 3) constant alignments A_t and warnings; see the module docstring.

    Built in the source's reference pose P (its rest when the map has none): G*_t, the
    target's world rotation matching P, joint by joint, then A_t = G_s(P)^T @ G*_t for mapped
    joints. Unmapped target joints get G*_parent (their identity local rotation) and, as
    A_t, that of their nearest mapped ancestor (unused by the retargeting itself).
    """
    t_index = {n: i for i, n in enumerate(target.names)}
    s_index = {n: i for i, n in enumerate(source.names)}
    src_of = np.full(target.num_joints, -1)
    for t_name, s_name in bone_map.pairs.items():
        src_of[t_index[t_name]] = s_index[s_name]
    mapped = src_of >= 0
    reference = np.tile([1.0, 0.0, 0.0, 0.0], (source.num_joints, 1))
    for joint, q in bone_map.reference.items():
        reference[s_index[joint]] = q
    s_glob, s_pos = forward_kinematics(reference, source.offsets, source.parents, source.offsets[0])
    t_rest = target.rest_positions()
    descendants = _mapped_descendants(target.parents, mapped)
    pose = np.empty((target.num_joints, 3, 3))  # G*: the target matching the reference pose
    align = np.empty((target.num_joints, 3, 3))
    warnings: list[str] = []
    for t in range(target.num_joints):
        p = target.parents[t]
        g_parent = np.eye(3) if p < 0 else pose[p]
        if not mapped[t]:
            pose[t] = g_parent
            align[t] = np.eye(3) if p < 0 else align[p]
            continue
        d_t, d_s = [], []
        for c in descendants[t]:
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
        align[t] = s_glob[src_of[t]].T @ pose[t]
    return align, warnings


def _leg_length(skeleton: Skeleton, chain: list[str]) -> float:
    """Summed rest distance along a joint chain (e.g. hip, knee, ankle), metres."""
    pos = skeleton.rest_positions()
    idx = [skeleton.index(n) for n in chain]
    return float(sum(np.linalg.norm(pos[b] - pos[a]) for a, b in zip(idx[:-1], idx[1:])))


def root_scale(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> tuple[float, str | None]:
    """Target / source hip-to-ankle length, averaged over the legs the map covers.

    Returns (scale, warning): scale 1 and a warning when no leg is fully mapped.
    """
    ratios = []
    for side in ("left", "right"):
        chain = [f"{side}_hip", f"{side}_knee", f"{side}_ankle"]
        if all(j in bone_map.pairs for j in chain):
            src = _leg_length(source, [bone_map.pairs[j] for j in chain])
            tgt = _leg_length(target, chain)
            if src > _MIN_BONE:
                ratios.append(tgt / src)
    if not ratios:
        return 1.0, "no leg (hip, knee, ankle) is mapped: the root path is not scaled"
    return float(np.mean(ratios)), None


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
    src_skel = source.skeleton
    missing_src = [s for s in bone_map.source_joints if s not in src_skel.names]
    missing_tgt = [t for t in bone_map.target_joints if t not in target.names]
    where = f" (bone map {bone_map.name!r}{', ' + bone_map.path if bone_map.path else ''})"
    if missing_src:
        raise SkeletonError(f"the source skeleton lacks joints the bone map needs{where}: {', '.join(missing_src)}")
    if missing_tgt:
        raise SkeletonError(f"the target skeleton lacks joints the bone map names{where}: {', '.join(missing_tgt)}")
    missing_ref = [s for s in bone_map.reference if s not in src_skel.names]
    if missing_ref:
        raise SkeletonError(f"the source skeleton lacks joints of the bone map's reference pose{where}: {', '.join(missing_ref)}")
    root_name = target.names[0]
    if root_name not in bone_map.pairs:
        raise SkeletonError(f"the bone map does not map the target root {root_name!r}{where}")

    align, warnings = rest_alignments(src_skel, target, bone_map)
    scale, scale_warning = root_scale(src_skel, target, bone_map)
    if scale_warning:
        warnings.append(scale_warning)

    src_glob, src_pos = source.forward_kinematics()  # (T, Js, 3, 3), (T, Js, 3)
    T = source.num_frames
    glob = np.empty((T, target.num_joints, 3, 3))
    unmapped = []
    for t, name in enumerate(target.names):
        if name in bone_map.pairs:
            glob[:, t] = src_glob[:, src_skel.index(bone_map.pairs[name])] @ align[t]
        else:
            unmapped.append(name)
            p = target.parents[t]
            glob[:, t] = np.eye(3) if p < 0 else glob[:, p]  # identity local rotation
    local = rot.matrix_to_quat(global_to_local(glob, target.parents))
    root_world = scale * src_pos[:, src_skel.index(bone_map.pairs[root_name])]
    motion = Motion(
        skeleton=target,
        fps=source.fps,
        rotations=local,
        trans=root_world - target.offsets[0],
        expressions=source.expressions,
        betas=None,
        name=source.name,
    )
    return RetargetResult(motion=motion, unmapped=unmapped, warnings=warnings)

