"""`make demo`: real motion through the add-on, headless, into demo/output/.

1. Registers the add-on in Blender's Python module and imports, with its import operator,
   a BEAT2 speech take (SMPL-X .npz) onto a new SMPL-X armature and a Bandai Namco
   motion-capture take (BVH, retargeted to SMPL-X on reading) onto a second one beside it.
   The takes come from the shared data (MOTION_TOKENS_DATA, default ../shared/data) when it is
   there, else from the excerpts in demo/; the script says which.
2. Exports the BEAT2 armature's action with the export operator: demo.npz (BEAT2 layout) and
   demo.bvh; saves the scene as demo.blend.
3. Opens demo.blend again and plots both skeletons at a few frames, front view, from
   Blender's evaluated bone heads: demo.png.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import bpy
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import motion_tokens  # noqa: E402
from motion_tokens.core.paths import data_dir  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "demo" / "output"
BEAT2_TAKE = "beat2/2_scott_0_1_1.npz"
BANDAI_TAKE = "bandai/dataset-1/dataset-1_byebye_normal_001.bvh"
EXCERPTS = (REPO / "demo" / "beat2_excerpt.npz", REPO / "demo" / "bandai_excerpt.bvh")
SPACING = 1.2  # metres along X between the two armatures
FPS = 30
PLOT_FRAMES = 5


def input_takes() -> tuple[Path, Path, str]:
    """(BEAT2 take, Bandai take, where they came from): the shared data, else the excerpts."""
    data = data_dir()
    beat2, bandai = data / BEAT2_TAKE, data / BANDAI_TAKE
    if beat2.is_file() and bandai.is_file():
        return beat2, bandai, f"the shared data in {data}"
    return (*EXCERPTS, f"the excerpts in demo/ (no shared data at {data}; set MOTION_TOKENS_DATA)")


def import_take(path: Path, name: str, x: float):
    """Import `path` with the add-on's operator onto a new SMPL-X armature named `name`,
    placed at `x` metres along X; the armature object."""
    result = bpy.ops.motion_tokens.import_motion(
        filepath=str(path), target="NEW", use_current_frame=False, frame_start=1
    )
    if result != {"FINISHED"}:
        raise SystemExit(f"importing {path} failed: {result}")
    obj = bpy.context.active_object
    obj.name = obj.data.name = name
    obj.location.x = x
    return obj


def bone_segments(obj) -> tuple[np.ndarray, np.ndarray]:
    """World positions (B, 3) of the evaluated bone heads and (B,) parent index (-1 for none)."""
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    bones = list(evaluated.pose.bones)
    index = {pb.name: i for i, pb in enumerate(bones)}
    world = np.array(evaluated.matrix_world)
    heads = np.array([pb.head for pb in bones]) @ world[:3, :3].T + world[:3, 3]
    parents = np.array([index[pb.parent.name] if pb.parent else -1 for pb in bones])
    return heads, parents


def plot_front_view(blend: Path, png: Path) -> list[int]:
    """Open `blend` and plot every armature's evaluated skeleton, front view (X right, Z up),
    at PLOT_FRAMES frames spread over the shorter action; the frames plotted."""
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    armatures = sorted((o for o in scene.objects if o.type == "ARMATURE"), key=lambda o: o.location.x)
    last = min(int(o.animation_data.action.frame_range[1]) for o in armatures)
    frames = np.linspace(1, last, PLOT_FRAMES).round().astype(int).tolist()
    colours = ("tab:blue", "tab:orange")

    poses = []  # per frame: [(heads (B, 3), parents (B,)) per armature]
    for frame in frames:
        scene.frame_set(frame)
        poses.append([bone_segments(obj) for obj in armatures])
    every_head = np.concatenate([heads for pose in poses for heads, _ in pose])
    low, high = every_head.min(axis=0) - 0.1, every_head.max(axis=0) + 0.1

    fig, axes = plt.subplots(1, len(frames), figsize=(2.9 * len(frames), 3.5), sharex=True, sharey=True)
    for ax, frame, pose in zip(axes, frames, poses):
        for (heads, parents), colour in zip(pose, colours):
            for child, parent in enumerate(parents):
                if parent >= 0:
                    ax.plot(heads[[parent, child], 0], heads[[parent, child], 2], color=colour, lw=1.5)
            ax.scatter(heads[:, 0], heads[:, 2], s=3, color=colour)
        ax.set_title(f"frame {frame} ({(frame - 1) / FPS:.1f} s)", fontsize=10)
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[2], high[2])
        ax.set_aspect("equal")
        ax.set_xlabel("X (m)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Z (m)")
    handles = [plt.Line2D([], [], color=c, label=o.name) for o, c in zip(armatures, colours)]
    fig.legend(handles=handles, loc="upper center", ncol=2, frameon=False)
    fig.suptitle("Blender's evaluated bone heads in demo.blend, front view", y=0.04, fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.92))
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return frames


def main() -> int:
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    beat2, bandai, source = input_takes()
    print(f"inputs: {source}\n  {beat2.name}\n  {bandai.name}")

    bpy.ops.wm.read_factory_settings(use_empty=True)
    motion_tokens.register()
    try:
        scene = bpy.context.scene
        scene.render.fps, scene.render.fps_base = FPS, 1.0
        speech = import_take(beat2, "BEAT2 speech", 0.0)
        mocap = import_take(bandai, "Bandai mocap", SPACING)
        scene.frame_start = 1
        frame_end = scene.frame_end = max(int(o.animation_data.action.frame_range[1]) for o in (speech, mocap))

        for obj in scene.objects:
            obj.select_set(obj == speech)
        bpy.context.view_layer.objects.active = speech
        bpy.ops.motion_tokens.export_motion(filepath=str(OUT / "demo.npz"), file_format="BOTH")
        blend = OUT / "demo.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(blend), check_existing=False)
        frames = plot_front_view(blend, OUT / "demo.png")
    finally:
        # bpy's shutdown hangs when add-on classes are still registered at exit.
        motion_tokens.unregister()

    print(f"made in {time.perf_counter() - started:.1f} s:")
    for name, what in (
        ("demo.blend", f"'BEAT2 speech' ({beat2.name}) and 'Bandai mocap' ({bandai.name}, retargeted) SMPL-X armatures, frames 1-{frame_end} at {FPS} fps"),
        ("demo.npz", "the BEAT2 armature's action exported in the BEAT2 layout"),
        ("demo.bvh", "the same action as BVH on the SMPL-X skeleton"),
        ("demo.png", f"both skeletons, front view, at frames {', '.join(map(str, frames))}"),
    ):
        path = OUT / name
        print(f"  {path.relative_to(REPO)} ({path.stat().st_size / 1e3:.0f} kB): {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
