"""Measure the approximate SMPL-X rest skeleton shipped in core/data/smplx_rest.json.

The licensed SMPL-X model cannot be shipped, so the default skeleton is built from measured
data, in SMPL-X's frame (metres, Y up, facing +Z, the character's left at +X) and T-pose
(arms straight out along +-X, legs down, spine up, fingers straight along +-X, palms down,
the thumb angled forward-out):

- Body lengths from the Bandai BVH skeleton (both datasets, cm -> m; median over takes):
  spine segments, neck, head, thigh, shin, foot, collar, upper arm, forearm, and the hip and
  collar offsets (hip width and drop, shoulder width and rise) decomposed in the Hips and
  Chest frames of the Bandai skeleton (up = the spine bone, left = the L-minus-R branch).
  The Bandai rest pose lies along each joint's local X, so only these lengths and offsets are
  taken from it; the bone directions are the T-pose's. Ankle and toe-ball heights above the
  floor are the median over takes of the lower joint's median height.
- Hand proportions from the MediaPipe hand landmarks of the ASL fingerspelling .pose files
  (pixels, so every length is divided by the frame's palm length, wrist to middle MCP, and
  medians are taken over frames; a finger's segments only over frames where that finger is
  straight in the image, since bent fingers are foreshortened). The 2D landmarks carry no
  usable depth, so the palm is flat. SMPL-X index1/2/3 = MediaPipe MCP/PIP/DIP, thumb1/2/3
  = CMC/MCP/IP. The absolute hand length (wrist to middle fingertip) is 0.108 x stature
  (Drillis & Contini 1966), the stature being estimated from the Bandai thigh + shin as
  (thigh + shin) / (0.245 + 0.246) of the same table.
- Jaw and eyes: an anthropometric estimate from that stature (heights above the floor: eyes
  0.936 H, jaw joint 0.915 H, at the ear; interpupillary distance 0.0385 H; eyes 0.045 H and
  jaw 0.012 H in front of the neck axis), not a measurement. The Bandai Head joint sits at
  about chin height (0.87 H), so the jaw joint lies above it.
- The Bandai bone map's reference pose (core/retarget/maps/bandai.json, "source_reference_pose"): per
  joint the mean first-frame local rotation over the takes, a natural standing pose in which
  the retargeting aligns the skeletons' twists.
- The absolute pelvis height: the BEAT2 take 2_scott_0_1_1.npz (trans y about 1.29 m, root
  world = offsets[0] + trans) must stand on the floor, so the pelvis rest y is chosen such
  that its standing ankle (the lower one in each frame, by forward kinematics of its poses
  on this skeleton; median over the take) sits at the Bandai ankle height above y = 0.

Run:  .venv/bin/python tools/measure_smplx_rest.py [--data DIR] [--out core/data/smplx_rest.json]
      [--map core/retarget/maps/bandai.json] [--plot /tmp/smplx_rest.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from motion_tokens.core import rotations as rot
from motion_tokens.core.formats.bvh import read_bvh
from motion_tokens.core.kinematics import forward_kinematics
from motion_tokens.core.paths import data_dir
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, SMPLX_PARENTS, offsets_from_positions

REPO = Path(__file__).resolve().parents[1]
COMMAND = ".venv/bin/python tools/measure_smplx_rest.py --data $MOTION_TOKENS_DATA"

# Drillis & Contini (1966) segment lengths as fractions of stature H.
CONTINI_THIGH, CONTINI_SHIN, CONTINI_HAND = 0.245, 0.246, 0.108
# Head landmarks as fractions of H (anthropometric estimate, see the module docstring).
EYE_HEIGHT, JAW_HEIGHT, EYE_HALF_SPACING, EYE_FORWARD, JAW_FORWARD = 0.936, 0.915, 0.0385 / 2, 0.045, 0.012

# MediaPipe hand landmark indices per finger: knuckle chain from MCP (thumb: CMC) to the tip.
HAND_FINGERS = {"thumb": (1, 2, 3, 4), "index": (5, 6, 7, 8), "middle": (9, 10, 11, 12),
                "ring": (13, 14, 15, 16), "pinky": (17, 18, 19, 20)}
STRAIGHT_DEG = 20.0  # a finger is straight in the image when each inner angle is below this


def data_folder(arg: str | None) -> Path:
    path = Path(arg) if arg else data_dir()
    if not (path / "bandai").is_dir():
        raise SystemExit(f"{path}: no bandai/ folder; pass --data or set MOTION_TOKENS_DATA")
    return path


# --- Bandai body lengths ----------------------------------------------------------------------


def _frame_components(offset, up, left) -> tuple[float, float, float]:
    """(left, up, forward) components of `offset` in a frame given by up and left axes."""
    up = up / np.linalg.norm(up)
    left = left - (left @ up) * up
    left /= np.linalg.norm(left)
    forward = np.cross(left, up)  # SMPL-X: left (+X) x up (+Y) = forward (+Z)
    return float(offset @ left), float(offset @ up), float(offset @ forward)


def measure_bandai(folder: Path) -> tuple[dict, dict, list[str]]:
    """Body lengths (m) and heights over all Bandai takes (medians over takes), and the
    reference pose: per joint, the mean of the takes' first-frame local rotations."""
    files = sorted((folder / "bandai").glob("dataset-*/*.bvh"))
    if not files:
        raise SystemExit(f"{folder / 'bandai'}: no BVH takes")
    per_take: dict[str, list[float]] = {}
    first_frames = []

    def add(key, value):
        per_take.setdefault(key, []).append(float(value))

    for path in files:
        m = read_bvh(path, units="cm")
        sk = m.skeleton
        off = {n: sk.offsets[i] for i, n in enumerate(sk.names)}
        for key, joint in [("hips_to_spine", "Spine"), ("spine_to_chest", "Chest"), ("chest_to_neck", "Neck"),
                           ("neck_to_head", "Head")]:
            add(key, np.linalg.norm(off[joint]))
        for side in "LR":
            add("collar", np.linalg.norm(off[f"UpperArm_{side}"]))
            add("upper_arm", np.linalg.norm(off[f"LowerArm_{side}"]))
            add("forearm", np.linalg.norm(off[f"Hand_{side}"]))
            add("thigh", np.linalg.norm(off[f"LowerLeg_{side}"]))
            add("shin", np.linalg.norm(off[f"Foot_{side}"]))
            add("foot", np.linalg.norm(off[f"Toes_{side}"]))
        # Branch offsets in the parent's (left, up, forward) frame; L is the performer's left
        # (checked over the takes: Shoulder_L lies at world +X while the performer faces +Z).
        hip = _frame_components(off["UpperLeg_L"], off["Spine"], off["UpperLeg_L"] - off["UpperLeg_R"])
        hip_r = _frame_components(off["UpperLeg_R"], off["Spine"], off["UpperLeg_L"] - off["UpperLeg_R"])
        collar = _frame_components(off["Shoulder_L"], off["Neck"], off["Shoulder_L"] - off["Shoulder_R"])
        collar_r = _frame_components(off["Shoulder_R"], off["Neck"], off["Shoulder_L"] - off["Shoulder_R"])
        for k, (a, b) in enumerate(zip(hip, hip_r)):
            add(f"hip_offset_{'luf'[k]}", (a - b) / 2 if k == 0 else (a + b) / 2)
        for k, (a, b) in enumerate(zip(collar, collar_r)):
            add(f"collar_offset_{'luf'[k]}", (a - b) / 2 if k == 0 else (a + b) / 2)
        pos = m.positions()
        feet = pos[:, [sk.index("Foot_L"), sk.index("Foot_R")], 1].min(axis=1)
        toes = pos[:, [sk.index("Toes_L"), sk.index("Toes_R")], 1].min(axis=1)
        add("ankle_height", np.median(feet))
        add("toe_height", np.median(toes))
        first_frames.append(m.rotations[0])
    sources = [str(p.relative_to(folder)) for p in files]
    return {k: float(np.median(v)) for k, v in per_take.items()}, mean_rotations(np.array(first_frames), sk.names), sources


def mean_rotations(quats: np.ndarray, names) -> dict[str, list[float]]:
    """Per joint, the chordal mean of (N, J, 4) quaternions: the leading eigenvector of the
    sum of q q^T (Markley et al. 2007), which ignores the sign of each q."""
    out = {}
    for j, name in enumerate(names):
        q = quats[:, j]
        _, vecs = np.linalg.eigh(q.T @ q)
        out[name] = rot.quat_normalize(vecs[:, -1])
    return out


# --- MediaPipe hand proportions ---------------------------------------------------------------


def _hand_landmarks(folder: Path) -> tuple[np.ndarray, list[str]]:
    """(N, 21, 2) pixel landmarks of every frame with a complete hand, and the files used."""
    from pose_format import Pose

    frames, used = [], []
    for path in sorted((folder / "sign" / "fingerspelling").glob("*.pose")):
        pose = Pose.read(path.read_bytes())
        names = [c.name for c in pose.header.components]
        starts = np.cumsum([0] + [len(c.points) for c in pose.header.components])
        data = np.ma.filled(pose.body.data[:, 0].astype(np.float64), np.nan)
        conf = np.asarray(pose.body.confidence[:, 0])
        for hand in ("LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"):
            i = names.index(hand)
            pts = data[:, starts[i] : starts[i + 1], :2]
            ok = (conf[:, starts[i] : starts[i + 1]] > 0).all(axis=1) & np.isfinite(pts).all(axis=(1, 2))
            if ok.any():
                frames.append(pts[ok])
                used.append(f"{path.relative_to(folder)} ({hand}, {int(ok.sum())} frames)")
    if not frames:
        raise SystemExit(f"{folder / 'sign' / 'fingerspelling'}: no hand landmarks found")
    return np.concatenate(frames), used


def _inner_angles_deg(pts: np.ndarray, chain) -> np.ndarray:
    """(N, len(chain) - 2) bend angles at the inner joints of a landmark chain."""
    out = []
    for a, b, c in zip(chain[:-2], chain[1:-1], chain[2:]):
        u, v = pts[:, b] - pts[:, a], pts[:, c] - pts[:, b]
        cos = np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
        out.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    return np.stack(out, axis=1)


def measure_hand(folder: Path) -> tuple[dict, list[str]]:
    """Hand proportions as ratios to the hand length (wrist to middle fingertip).

    Returns {"layout": {landmark: (along, across)} for the wrist-relative knuckles (across
    points to the thumb side), "segments": {finger: [3 lengths]}, "frames": N}.
    """
    pts, used = _hand_landmarks(folder)
    wrist = pts[:, 0]
    palm = np.linalg.norm(pts[:, 9] - wrist, axis=1)
    u = (pts[:, 9] - wrist) / palm[:, None]  # along the palm
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)  # in the image plane, perpendicular to u ...
    v *= np.sign(np.sum(v * (pts[:, 5] - pts[:, 17]), axis=1))[:, None]  # ... toward the index side

    segments = {}
    for finger, chain in HAND_FINGERS.items():
        straight = (_inner_angles_deg(pts, (0,) + chain) < STRAIGHT_DEG).all(axis=1)
        segments[finger] = [
            float(np.median(np.linalg.norm(pts[straight, b] - pts[straight, a], axis=1) / palm[straight]))
            for a, b in zip(chain[:-1], chain[1:])
        ]
    layout = {}
    for finger, chain in HAND_FINGERS.items():
        rel = pts[:, chain[0]] - wrist
        layout[finger] = (float(np.median(np.sum(rel * u, axis=1) / palm)),
                          float(np.median(np.sum(rel * v, axis=1) / palm)))
    hand_length = layout["middle"][0] + sum(segments["middle"])  # in palm lengths
    return {
        "layout": {f: (a / hand_length, b / hand_length) for f, (a, b) in layout.items()},
        "segments": {f: [s / hand_length for s in segs] for f, segs in segments.items()},
        "frames": int(len(pts)),
    }, used


# --- the T-pose -------------------------------------------------------------------------------


def t_pose_positions(body: dict, hand: dict) -> tuple[dict[str, np.ndarray], dict]:
    """Joint positions (m) with the floor at y = 0 and the pelvis above the origin."""
    stature = (body["thigh"] + body["shin"]) / (CONTINI_THIGH + CONTINI_SHIN)
    hand_length = CONTINI_HAND * stature
    X, Y, Z = np.eye(3)
    p: dict[str, np.ndarray] = {}
    pelvis_y = body["ankle_height"] + body["shin"] + body["thigh"] - body["hip_offset_u"]
    p["pelvis"] = pelvis_y * Y
    p["spine1"] = p["pelvis"] + body["hips_to_spine"] * Y
    p["spine3"] = p["spine1"] + body["spine_to_chest"] * Y
    p["spine2"] = (p["spine1"] + p["spine3"]) / 2  # unmapped by Bandai: halfway
    p["neck"] = p["spine3"] + body["chest_to_neck"] * Y
    p["head"] = p["neck"] + body["neck_to_head"] * Y
    p["jaw"] = JAW_HEIGHT * stature * Y + JAW_FORWARD * stature * Z
    drop = body["ankle_height"] - body["toe_height"]
    foot = np.array([0.0, -drop, np.sqrt(max(body["foot"] ** 2 - drop**2, 0.0))])
    for side, s in (("left", 1.0), ("right", -1.0)):
        out = s * X  # the side's outward direction
        p[f"{side}_eye_smplhf"] = s * EYE_HALF_SPACING * stature * X + EYE_HEIGHT * stature * Y + EYE_FORWARD * stature * Z
        p[f"{side}_hip"] = p["pelvis"] + body["hip_offset_l"] * out + body["hip_offset_u"] * Y + body["hip_offset_f"] * Z
        p[f"{side}_knee"] = p[f"{side}_hip"] - body["thigh"] * Y
        p[f"{side}_ankle"] = p[f"{side}_knee"] - body["shin"] * Y
        p[f"{side}_foot"] = p[f"{side}_ankle"] + foot
        p[f"{side}_collar"] = (p["spine3"] + body["collar_offset_l"] * out + body["collar_offset_u"] * Y
                               + body["collar_offset_f"] * Z)
        p[f"{side}_shoulder"] = p[f"{side}_collar"] + body["collar"] * out
        p[f"{side}_elbow"] = p[f"{side}_shoulder"] + body["upper_arm"] * out
        p[f"{side}_wrist"] = p[f"{side}_elbow"] + body["forearm"] * out
        # Palm down: along the hand is outward, the thumb side is forward (+Z) for both hands.
        for finger in HAND_FINGERS:
            along, across = hand["layout"][finger]
            base = p[f"{side}_wrist"] + hand_length * (along * out + across * Z)
            direction = out if finger != "thumb" else (out + Z) / np.sqrt(2.0)  # thumb forward-out
            p[f"{side}_{finger}1"] = base
            p[f"{side}_{finger}2"] = base + hand_length * hand["segments"][finger][0] * direction
            p[f"{side}_{finger}3"] = p[f"{side}_{finger}2"] + hand_length * hand["segments"][finger][1] * direction
    return p, {"stature_estimate": stature, "hand_length": hand_length}


def pelvis_shift_for_beat2(positions: dict, beat2: Path, ankle_height: float) -> tuple[float, dict]:
    """The vertical shift that makes the BEAT2 take stand on the floor: in each frame the lower
    ankle is the standing one, and its median over the take sits at ankle_height. (The median,
    not the minimum: the speaker dips by 20 cm around frame 430, and there the lowest ankle of
    the take sits 3 cm below its standing height.)

    The table's pelvis y (floor frame) plus this shift is the rest y in SMPL-X model space,
    where BEAT2's `trans` (about 1.29 m up) places the body.
    """
    with np.load(beat2, allow_pickle=False) as d:
        poses = np.asarray(d["poses"], dtype=np.float64)
        trans = np.asarray(d["trans"], dtype=np.float64)
    rest = np.array([positions[n] for n in SMPLX_JOINT_NAMES])
    rest = rest - rest[0]  # pelvis at the origin; the shift below places it
    offsets = offsets_from_positions(rest, SMPLX_PARENTS)
    quats = rot.axis_angle_to_quat(poses.reshape(len(poses), -1, 3))
    _, pos = forward_kinematics(quats, offsets, SMPLX_PARENTS, trans)  # pelvis rest y = 0
    ankles = pos[:, [SMPLX_JOINT_NAMES.index("left_ankle"), SMPLX_JOINT_NAMES.index("right_ankle")], 1].min(axis=1)
    feet = pos[:, [SMPLX_JOINT_NAMES.index("left_foot"), SMPLX_JOINT_NAMES.index("right_foot")], 1].min(axis=1)
    pelvis_rest_y = ankle_height - float(np.median(ankles))
    check = {
        "beat2_frames": int(len(poses)),
        "beat2_trans_y_median": float(np.median(trans[:, 1])),
        "lowest_ankle_y": float(ankles.min() + pelvis_rest_y),
        "median_lower_ankle_y": float(np.median(ankles) + pelvis_rest_y),
        "median_lower_toe_ball_y": float(np.median(feet) + pelvis_rest_y),
        "lowest_toe_ball_y": float(feet.min() + pelvis_rest_y),
    }
    return pelvis_rest_y - float(positions["pelvis"][1]), check


def write_reference_pose(map_path: Path, reference: dict, num_takes: int) -> None:
    """Put the Bandai reference pose (mapped joints only) into the bone map file."""
    bone_map = json.loads(map_path.read_text())
    joints = [j for j in reference if j in bone_map["pairs"].values()]
    bone_map["source_reference_pose"] = {
        "about": (
            "A natural standing pose of the Bandai skeleton, in which the retargeting aligns "
            "the skeletons (the Bandai rest lies along each joint's local X and fixes no "
            "twist; see core/retarget/alignment.py). Local rotations (w, x, y, z) relative to the "
            f"rest: per joint the chordal mean of the first frame of all {num_takes} takes "
            "(bandai/dataset-1 and dataset-2)."
        ),
        "made_by": COMMAND,
        "rotations": {j: [round(float(x), 6) for x in reference[j]] for j in joints},
    }
    map_path.write_text(json.dumps(bone_map, indent=1) + "\n")


def plot(positions: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = np.array([positions[n] for n in SMPLX_JOINT_NAMES])
    fig, axes = plt.subplots(1, 3, figsize=(16, 7), gridspec_kw={"width_ratios": [2, 1, 1.2]})
    views = [("front (x right = character's left, y up)", 0, 1), ("side (z forward, y up)", 2, 1),
             ("left hand from above (x out, z forward)", 0, 2)]
    for ax, (title, a, b) in zip(axes, views):
        sel = range(len(pts)) if ax is not axes[2] else [20] + list(range(25, 40))
        for j in sel:
            pj = SMPLX_PARENTS[j]
            if pj >= 0 and (pj in sel):
                ax.plot(pts[[pj, j], a], pts[[pj, j], b], "-", color="tab:blue", lw=1.5)
        ax.plot(pts[list(sel), a], pts[list(sel), b], "o", ms=3, color="tab:red")
        if ax is axes[2]:
            for j in sel:
                ax.annotate(SMPLX_JOINT_NAMES[j].replace("left_", ""), pts[j, [a, b]], fontsize=6)
        ax.set_title(title)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="the shared data folder (default $MOTION_TOKENS_DATA or ../shared/data)")
    ap.add_argument("--out", default=str(REPO / "core" / "data" / "smplx_rest.json"))
    ap.add_argument("--map", default=str(REPO / "core" / "retarget" / "maps" / "bandai.json"),
                    help="the Bandai bone map whose source_reference_pose is rewritten")
    ap.add_argument("--plot", help="also draw front and side views to this PNG")
    args = ap.parse_args(argv)
    folder = data_folder(args.data)

    body, reference, bandai_files = measure_bandai(folder)
    hand, hand_files = measure_hand(folder)
    positions, derived = t_pose_positions(body, hand)
    beat2 = folder / "beat2" / "2_scott_0_1_1.npz"
    shift, check = pelvis_shift_for_beat2(positions, beat2, body["ankle_height"])
    positions = {n: positions[n] + [0.0, shift, 0.0] for n in SMPLX_JOINT_NAMES}

    how = (
        "Approximate SMPL-X neutral rest joints (metres; SMPL-X frame: Y up, facing +Z, the "
        "character's left at +X; T-pose: arms straight out along +-X, legs down, spine up, palms "
        "down, fingers straight along +-X, the thumb at 45 degrees forward-out), measured from "
        "data because the licensed SMPL-X model cannot be shipped. Body: bone lengths of the "
        "Bandai BVH skeleton (bandai/dataset-1 and dataset-2, cm -> m, median over takes): "
        "Hips-Spine, Spine-Chest, Chest-Neck, Neck-Head, thigh, shin, foot (ankle to toe "
        "ball), collar, upper arm, forearm; hip and collar offsets (hip width and drop, "
        "shoulder width and rise) decomposed in the Bandai Hips and Chest frames. The Bandai "
        "rest pose is not a T-pose (every offset runs along its joint's local X), so only "
        "lengths come from it; directions are the T-pose's. spine2 (absent in Bandai) lies "
        "halfway between spine1 and spine3. The foot bone drops from the Bandai ankle height "
        "to its toe-ball height. Hands: finger segment and palm proportions from the MediaPipe "
        "hand landmarks of sign/fingerspelling/*.pose (pixels: lengths divided by each "
        "frame's palm length, medians over frames, a finger's segments only where it is "
        "straight in the image; index1/2/3 = MCP/PIP/DIP, thumb1/2/3 = CMC/MCP/IP; the palm "
        "is flat since the landmarks carry no usable depth), scaled to a hand length of "
        f"{CONTINI_HAND} x stature (Drillis & Contini 1966), the stature estimated from the "
        f"Bandai thigh + shin as ({CONTINI_THIGH} + {CONTINI_SHIN}) x stature. Jaw and eyes: an "
        "anthropometric estimate from that stature (heights above the floor: eyes 0.936, jaw "
        "joint (at the ear) 0.915; eye spacing 0.0385; eyes 0.045 and jaw 0.012 in front of "
        "the neck axis; all x stature), not a measurement; the Bandai Head joint sits at about "
        "chin height (0.87 x stature), so the jaw joint lies above it. Height: the pelvis rest y is chosen so that the BEAT2 take "
        "beat2/2_scott_0_1_1.npz (root world = pelvis rest + trans, trans y about 1.29 m) "
        "stands on the floor: its standing ankle (the lower one in each frame, by forward "
        "kinematics of its poses on this skeleton; median over the take) sits at the Bandai "
        "ankle height above y = 0. A user's own "
        "SMPLX_NEUTRAL.npz gives the exact joints instead (smplx_skeleton(model_folder)). "
        f"Made by: {COMMAND}"
    )
    table = {
        "how": how,
        "command": COMMAND,
        "sources": {
            "bandai": f"{len(bandai_files)} takes in bandai/dataset-1 and bandai/dataset-2 (Bandai Namco Research Motion Dataset, CC BY-NC 4.0)",
            "fingerspelling": hand_files,
            "beat2": "beat2/2_scott_0_1_1.npz (BEAT2, CC BY-NC 4.0)",
        },
        "measurements": {
            "bandai_lengths_m": {k: round(v, 5) for k, v in sorted(body.items())},
            "hand_ratios_to_hand_length": {
                "knuckles_along_across": {k: [round(a, 4), round(b, 4)] for k, (a, b) in hand["layout"].items()},
                "segments": {k: [round(s, 4) for s in v] for k, v in hand["segments"].items()},
                "frames": hand["frames"],
            },
            "stature_estimate_m": round(derived["stature_estimate"], 4),
            "hand_length_m": round(derived["hand_length"], 4),
            "beat2_floor_check_m": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in check.items()},
        },
        "positions": {n: [round(float(x), 5) for x in positions[n]] for n in SMPLX_JOINT_NAMES},
    }
    Path(args.out).write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {args.out}")
    write_reference_pose(Path(args.map), reference, len(bandai_files))
    print(f"wrote the reference pose into {args.map}")
    print(json.dumps(table["measurements"], indent=1))
    if args.plot:
        plot(positions, Path(args.plot))
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
