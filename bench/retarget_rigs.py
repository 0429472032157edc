"""Measure SMPL-X -> rig retargeting for every shipped rig layout on a BEAT2 and a Bandai take.

    .venv/bin/python bench/retarget_rigs.py [--data DIR]

For each layout (smplx, metahuman, mixamo, rigify) and each take (BEAT2 2_scott_0_1_1.npz read
as SMPL-X; a Bandai BVH read through core.retarget.read_smplx_motion, which retargets it onto SMPL-X
first) the SMPL-X motion is retargeted onto the layout's rest skeleton with
core.retarget.retarget, and forward kinematics of both skeletons gives:

- bone directions: for every mapped rig bone t and each of its ends c (the joints its alignment
  points it at, core.retarget.direction_ends), the world-space angle between t -> c and the
  SMPL-X bone it follows, s(t) -> s(c); mean and max over frames, and the angle with the source
  at rest (the rest residual: rest shapes that no rotation can match). Bones are grouped by how
  they are aligned: exact (one end, the whole joint), best fit (several ends: pelvis, chest,
  hand), rigid (same joint as the parent: metacarpals, twist segments), partial (a fraction of
  the joint: MetaHuman's spine and neck, Rigify's neck);
- wrists: (wrist - shoulder) / arm length of the rig (the bones following SMPL-X's shoulder and
  wrist, the arm length their rest shoulder -> elbow -> wrist) against the same for SMPL-X, the
  distance between the two in units of arm length; mean and max over frames and both sides;
- time: the retargeting's wall time (best of 3) and frames per second.

Writes bench/results/retarget.md and bench/results/retarget.png (the rest layouts and a frame of
each take on MetaHuman).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motion_tokens.core.motion import Motion
from motion_tokens.core.retarget import SHIPPED_RIGS, direction_ends, read_smplx_motion, retarget, rig_layout, source_indices
from motion_tokens.core.machine import machine_line
from motion_tokens.core.paths import data_dir
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
BEAT2_TAKE = "beat2/2_scott_0_1_1.npz"
BANDAI_TAKE = "bandai/dataset-2/dataset-2_wave-both-hands_active_001.bvh"
KINDS = ("exact", "best fit", "rigid", "partial")


@dataclass
class BoneRow:
    layout: str
    kind: str
    bone: str  # "t -> c"
    source: str  # "s(t) -> s(c)"
    rest: float
    mean: dict[str, float]
    max: dict[str, float]


def angles_deg(u, v):
    u = u / np.linalg.norm(u, axis=-1, keepdims=True)
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), np.sum(u * v, axis=-1)))


def bone_pairs(layout, source_skeleton):
    """[(kind, t, c, s, s_c)] for every mapped bone of the layout and each of its ends."""
    target = layout.skeleton
    src_of, frac = source_indices(source_skeleton, target, layout.bone_map)
    ends = direction_ends(target.parents, src_of)
    out = []
    for t in range(target.num_joints):
        if src_of[t] < 0:
            continue
        p = target.parents[t]
        if frac[t] < 1:
            kind = "partial"
        elif p >= 0 and src_of[p] == src_of[t] and frac[p] == frac[t]:
            kind = "rigid"
        elif len(ends[t]) > 1:
            kind = "best fit"
        else:
            kind = "exact"
        for c in ends[t]:
            out.append((kind, t, c, int(src_of[t]), int(src_of[c])))
    return out


def direction_rows(name, layout, takes, results, rest_results):
    rows = []
    for kind, t, c, s, sc in bone_pairs(layout, takes["BEAT2"].skeleton):
        mean, worst = {}, {}
        for take, motion in takes.items():
            tp, sp = results[take].positions(), motion.positions()
            err = angles_deg(tp[:, c] - tp[:, t], sp[:, sc] - sp[:, s])
            mean[take], worst[take] = float(err.mean()), float(err.max())
        tp, sp = rest_results.positions()[0], takes["BEAT2"].skeleton.rest_positions()
        rest = float(angles_deg(tp[c] - tp[t], sp[sc] - sp[s]))
        names = layout.skeleton.names
        rows.append(BoneRow(name, kind, f"{names[t]} -> {names[c]}",
                            f"{SMPLX_JOINT_NAMES[s]} -> {SMPLX_JOINT_NAMES[sc]}", rest, mean, worst))
    return rows


def first_follower(layout, joint):
    sk = layout.skeleton
    bone_map = layout.bone_map
    return min(sk.index(t) for t, j in bone_map.pairs.items() if j == joint and bone_map.fraction(t) == 1.0)


def wrist_errors(layout, motion, result):
    """(mean, max) over frames and sides of |rig (wrist - shoulder) / arm - SMPL-X's|."""
    errs = []
    tp, sp = result.positions(), motion.positions()
    t_rest, s_rest = layout.skeleton.rest_positions(), motion.skeleton.rest_positions()
    for side in ("left", "right"):
        chain = [f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist"]
        ti = [first_follower(layout, j) for j in chain]
        si = [SMPLX_JOINT_NAMES.index(j) for j in chain]
        t_arm = sum(np.linalg.norm(t_rest[b] - t_rest[a]) for a, b in zip(ti, ti[1:]))
        s_arm = sum(np.linalg.norm(s_rest[b] - s_rest[a]) for a, b in zip(si, si[1:]))
        rel_t = (tp[:, ti[2]] - tp[:, ti[0]]) / t_arm
        rel_s = (sp[:, si[2]] - sp[:, si[0]]) / s_arm
        errs.append(np.linalg.norm(rel_t - rel_s, axis=-1))
    errs = np.concatenate(errs)
    return float(errs.mean()), float(errs.max())


def rest_motion(skeleton) -> Motion:
    return Motion(skeleton, 30.0, np.tile([1.0, 0, 0, 0], (1, skeleton.num_joints, 1)), np.zeros((1, 3)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(data_dir()))
    args = ap.parse_args(argv)
    data = Path(args.data)
    takes = {"BEAT2": read_smplx_motion(data / BEAT2_TAKE, 30.0), "Bandai": read_smplx_motion(data / BANDAI_TAKE, 30.0)}
    rows, summary = [], []
    for name in SHIPPED_RIGS:
        layout = rig_layout(name)
        results, timing = {}, {}
        for take, motion in takes.items():
            best = np.inf
            for _ in range(3):
                t0 = time.perf_counter()
                result = retarget(motion, layout.bone_map, layout.skeleton)
                best = min(best, time.perf_counter() - t0)
            results[take], timing[take] = result.motion, best
            print(f"{name} {take}: {motion.num_frames} frames in {best * 1000:.1f} ms, warnings {result.warnings}")
        rest = retarget(rest_motion(takes["BEAT2"].skeleton), layout.bone_map, layout.skeleton).motion
        layout_rows = direction_rows(name, layout, takes, results, rest)
        rows += layout_rows
        wrists = {take: wrist_errors(layout, takes[take], results[take]) for take in takes}
        summary.append((name, layout, layout_rows, wrists, timing))
    write_report(takes, rows, summary)
    plot(takes)
    return 0


def fmt(x: float) -> str:
    return f"{x:.1e}" if 0 < abs(x) < 0.01 else f"{x:.2f}"


def write_report(takes, rows, summary) -> None:
    lines = [
        "# SMPL-X -> rig retargeting",
        "",
        "Made by `bench/retarget_rigs.py`: SMPL-X motion retargeted with `core.retarget.retarget` onto the rest "
        "skeleton of each shipped rig layout (`core.retarget.rig_layout`), measured by forward kinematics of both "
        "skeletons (numpy; tests/blender/test_rig_retarget.py checks the same directions in Blender's evaluated pose).",
        "",
        f"Takes: BEAT2 `{BEAT2_TAKE}` ({takes['BEAT2'].num_frames} frames at 30 fps, SMPL-X) and Bandai "
        f"`{BANDAI_TAKE}` ({takes['Bandai'].num_frames} frames, read with `core.retarget.read_smplx_motion`, which "
        "retargets the BVH onto SMPL-X first; its SMPL-X fingers, jaw and spine2 stay at rest).",
        "",
        f"Command: `.venv/bin/python bench/retarget_rigs.py`. {machine_line()}",
        "",
        "## Bone directions, by kind",
        "",
        "Angle (degrees) between each mapped rig bone (from the bone's head to each joint its alignment points it at) "
        "and the SMPL-X bone it follows, in world space, every frame. *rest*: the same angle with SMPL-X at rest, "
        "a difference of rest shapes that no rotation removes (constant in every frame for exact, best-fit and rigid "
        "bones). Kinds: **exact** one end, the whole joint's rotation; **best fit** several ends (pelvis, chest, "
        "hand), the rotation that fits them best; **rigid** follows the same joint as its parent (metacarpals, Rigify "
        "palms and .001 twist segments) and keeps its rest pose relative to it; **partial** takes a fraction of its "
        "joint's rotation (chains of different lengths), so it may differ by up to (1 - fraction) of that joint's "
        "local rotation.",
        "",
        "| layout | kind | pairs | rest max | BEAT2 mean | BEAT2 max | Bandai mean | Bandai max |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, _, layout_rows, _, _ in summary:
        for kind in KINDS:
            group = [r for r in layout_rows if r.kind == kind]
            if not group:
                continue
            lines.append(
                f"| {name} | {kind} | {len(group)} | {fmt(max(r.rest for r in group))} | "
                f"{fmt(np.mean([r.mean['BEAT2'] for r in group]))} | {fmt(max(r.max['BEAT2'] for r in group))} | "
                f"{fmt(np.mean([r.mean['Bandai'] for r in group]))} | {fmt(max(r.max['Bandai'] for r in group))} |"
            )
    lines += [
        "",
        "## Wrists relative to the shoulders",
        "",
        "|rig (wrist - shoulder) / rig arm length - SMPL-X (wrist - shoulder) / SMPL-X arm length|, in units of "
        "arm length, over frames and both arms (shoulder and wrist: the rig bones following SMPL-X's shoulder and "
        "wrist joints; arm length: their rest shoulder -> elbow -> wrist).",
        "",
        "| layout | BEAT2 mean | BEAT2 max | Bandai mean | Bandai max | retarget ms (BEAT2) | frames/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, _, _, wrists, timing in summary:
        fps = takes["BEAT2"].num_frames / timing["BEAT2"]
        lines.append(f"| {name} | {fmt(wrists['BEAT2'][0])} | {fmt(wrists['BEAT2'][1])} | {fmt(wrists['Bandai'][0])} | "
                     f"{fmt(wrists['Bandai'][1])} | {timing['BEAT2'] * 1000:.0f} | {fps:,.0f} |")
    lines += [
        "",
        "## Every bone that is not exact",
        "",
        "Exact bones are all below the largest figure of their row above (floating point). The rest, per bone. "
        "Where *max* equals *rest* the angle is a difference of rest shapes, the same in every frame, not an error "
        "of the motion: a best fit that cannot match every end (MetaHuman spine_04, whose ends are the neck and "
        "clavicles, seen from 5 cm below SMPL-X's spine3), or a rigid bone whose head is not at its SMPL-X "
        "joint (Rigify's DEF-palm.01 -> DEF-thumb.01 points from the index palm bone's head, a quarter of the way "
        "to the knuckle, to the thumb root, where SMPL-X's wrist -> thumb1 starts at the wrist; the thumb's own "
        "bones follow exactly). Values of 1e-4 degrees come from the layout files' micrometre rounding.",
        "",
        "| layout | kind | rig bone | SMPL-X bone | rest | BEAT2 mean | BEAT2 max | Bandai mean | Bandai max |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if r.kind != "exact":
            lines.append(f"| {r.layout} | {r.kind} | {r.bone} | {r.source} | {fmt(r.rest)} | {fmt(r.mean['BEAT2'])} | "
                         f"{fmt(r.max['BEAT2'])} | {fmt(r.mean['Bandai'])} | {fmt(r.max['Bandai'])} |")
    lines += ["", "![rest layouts and retargeted frames](retarget.png)", ""]
    (RESULTS / "retarget.md").write_text("\n".join(lines))
    print(f"wrote {RESULTS / 'retarget.md'}")


def plot(takes) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def draw(ax, skeleton, pos, color, width=1.2):
        for j, p in enumerate(skeleton.parents):
            if p >= 0:
                ax.plot([pos[p, 0], pos[j, 0]], [pos[p, 1], pos[j, 1]], color=color, lw=width)

    fig, axes = plt.subplots(1, 6, figsize=(18, 4.2))
    for ax, name in zip(axes, SHIPPED_RIGS):
        sk = rig_layout(name).skeleton
        draw(ax, sk, sk.rest_positions(), "k")
        ax.set_title(f"{name} rest")
    metahuman = rig_layout("metahuman")
    for ax, (take, motion) in zip(axes[4:], takes.items()):
        frame = motion.num_frames // 2
        result = retarget(motion, metahuman.bone_map, metahuman.skeleton).motion
        draw(ax, motion.skeleton, motion.positions()[frame], "tab:red", 2.5)
        draw(ax, metahuman.skeleton, result.positions()[frame], "tab:blue")
        ax.set_title(f"{take} frame {frame}:\nSMPL-X (red), MetaHuman (blue)", fontsize=9)
    for ax in axes:
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "retarget.png", dpi=80)
    print(f"wrote {RESULTS / 'retarget.png'}")


if __name__ == "__main__":
    raise SystemExit(main())
