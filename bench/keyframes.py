"""Keys per second: `scene.actions.write_motion` (bulk foreach_set) against a
`pose_bone.keyframe_insert` loop writing the same channels, in one run.

    .venv/bin/python bench/keyframes.py [--frames 200,1000,all] [--repeats 3]

The motion is the BEAT2 take in the shared data (MOTION_TOKENS_DATA, default ../shared/data),
else the demo excerpt (demo/beat2_excerpt.npz). Every joint's rotation quaternion (4 channels)
and the root location (3) are keyed on each frame: 223 keys per frame for SMPL-X. Both
methods key the first N frames, for each N of --frames, on fresh SMPL-X armatures; both
results are checked against the motion's forward kinematics. Prints the figures and writes
bench/results/keyframes.md, keeping the sections of other bpy versions already there.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import bpy
import numpy as np

from motion_tokens.core.formats.npz import read_smplx_npz
from motion_tokens.core.machine import machine_line
from motion_tokens.core.paths import data_dir
from motion_tokens.scene.actions import pose_channels, write_motion
from motion_tokens.scene.armature import create_armature, rest_matrices
from motion_tokens.scene.axes import vectors_to_blender

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "keyframes.md"
TAKE = "beat2/2_scott_0_1_1.npz"


def motion_source() -> Path:
    data = data_dir()
    return data / TAKE if (data / TAKE).is_file() else REPO / "demo" / "beat2_excerpt.npz"


def best_of(repeats: int, run) -> float:
    """The shortest of `repeats` wall times returned by run()."""
    return min(run() for _ in range(repeats))


def time_write_motion(motion) -> float:
    obj = create_armature(motion.skeleton, name="Bulk")
    start = time.perf_counter()
    write_motion(obj, motion)
    return time.perf_counter() - start


def time_keyframe_insert(motion) -> tuple[float, object]:
    """Seconds for a keyframe_insert loop keying the channels write_motion keys; the object."""
    obj = create_armature(motion.skeleton, name="Insert")
    rest = rest_matrices(obj, motion.skeleton.names)[:, :3, :3]
    quats, location = pose_channels(motion, rest)
    bones = [obj.pose.bones[n] for n in motion.skeleton.names]
    for pb in bones:
        pb.rotation_mode = "QUATERNION"
    start = time.perf_counter()
    for k in range(motion.num_frames):
        frame = 1 + k
        for j, pb in enumerate(bones):
            pb.rotation_quaternion = quats[k, j]
            pb.keyframe_insert("rotation_quaternion", frame=frame)
        bones[0].location = location[k]
        bones[0].keyframe_insert("location", frame=frame)
    return time.perf_counter() - start, obj


def distance_from_fk(objects, motion, frames) -> float:
    """Largest distance (m) between the armatures' evaluated bone heads and the motion's
    forward kinematics (Blender axes) on the given frame indices (keys start at frame 1)."""
    expected = vectors_to_blender(motion.positions())
    names = motion.skeleton.names
    worst = 0.0
    for k in frames:
        bpy.context.scene.frame_set(1 + k)
        for obj in objects:
            heads = np.array([obj.pose.bones[n].head for n in names])
            worst = max(worst, float(np.abs(heads - expected[k]).max()))
    return worst


def update_results(section: str, version: str) -> None:
    """Write `section` into the results file under its bpy version, keeping other versions."""
    header = (
        "# Keyframe writing: bulk foreach_set against keyframe_insert\n\n"
        "Made by `bench/keyframes.py` (`make bench` runs it with the bpy in .venv). "
        "Sections per bpy version; rerunning replaces its own version's section.\n"
    )
    sections = {}
    if RESULTS.is_file():
        for block in re.split(r"(?m)^## ", RESULTS.read_text())[1:]:
            sections[block.split("\n", 1)[0].strip()] = "## " + block.rstrip() + "\n"
    sections[f"bpy {version}"] = section
    ordered = [sections[k] for k in sorted(sections)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(header + "\n" + "\n".join(ordered))


def parse_lengths(text: str, total: int) -> list[int]:
    """"200,1000,all" -> [200, 1000, total], each clipped to the take, without repeats."""
    lengths = []
    for item in text.split(","):
        n = total if item.strip() == "all" else min(int(item), total)
        if n not in lengths:
            lengths.append(n)
    return lengths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--frames", default="200,1000,all",
        help="comma-separated numbers of frames to key (the first frames of the take; 'all': the whole take)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of write_motion per length; the best is kept")
    args = parser.parse_args(argv)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    source = motion_source()
    full = read_smplx_npz(source)
    scene.render.fps, scene.render.fps_base = round(full.fps), 1.0
    per_frame = 4 * full.skeleton.num_joints + 3

    rows = []
    for n in parse_lengths(args.frames, full.num_frames):
        part = full.frames(0, n)
        bulk_s = best_of(args.repeats, lambda: time_write_motion(part))
        insert_s, insert_obj = time_keyframe_insert(part)
        check_obj = create_armature(part.skeleton, name="Check")
        write_motion(check_obj, part)
        deviation = distance_from_fk([check_obj, insert_obj], part, [0, n // 2, n - 1])
        rows.append((n, n * per_frame, bulk_s, insert_s, deviation))
        print(f"{n} frames: write_motion {bulk_s:.3f} s, keyframe_insert {insert_s:.3f} s", flush=True)

    version = ".".join(map(str, bpy.app.version))
    table = "\n".join(
        f"| {n} | {keys:,} | {bulk:.3f} | {keys / bulk:,.0f} | {insert:.2f} | {keys / insert:,.0f} | "
        f"**{insert / bulk:,.0f}x** |"
        for n, keys, bulk, insert, _ in rows
    )
    worst = max(r[4] for r in rows)
    section = (
        f"## bpy {version}\n\n"
        f"Motion: `{source.name}` ({full.num_frames} frames, {full.skeleton.num_joints} joints, "
        f"{per_frame} keys per frame: every joint's rotation quaternion and the root location), scene at "
        f"{round(full.fps)} fps. {machine_line()}\n"
        f"Command: `{Path(sys.executable).parent.parent.name}/bin/python bench/keyframes.py "
        f"--frames {args.frames} --repeats {args.repeats}` (write_motion: best of {args.repeats} "
        f"runs; keyframe_insert: one run, Bezier keys as Blender's default inserts them).\n\n"
        "| frames | keys | write_motion s | keys/s | keyframe_insert s | keys/s | ratio |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        f"{table}\n\n"
        "keyframe_insert's cost per key grows with the length of the curves it inserts into, "
        "so the ratio grows with the take's length, while write_motion's rate stays flat. "
        "Both armatures pose as the motion's forward kinematics says: bone heads within "
        f"{worst * 1000:.1e} mm of it on the first, middle and last frames.\n"
    )
    print(section)
    update_results(section, version)
    print(f"written {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
