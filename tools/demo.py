"""`make demo`: real motion through the add-on, headless, into demo/output/.

1. Registers the add-on in Blender's Python module and imports, with its import operator,
   a BEAT2 speech take (SMPL-X .npz) onto a new SMPL-X armature and a Bandai Namco
   motion-capture take (BVH, retargeted to SMPL-X on reading) onto a second one beside it.
   The takes come from the shared data (MOTION_TOKENS_DATA, default ../shared/data) when it is
   there, else from the excerpts in demo/; the script says which.
2. Exports the BEAT2 armature's action with the export operator: demo.npz (BEAT2 layout) and
   demo.bvh; saves the scene as demo.blend.
3. Speech to gestures: adds held-out speech (demo/speech_excerpt.wav, 5 s of BEAT2 speech the
   generator never saw) as a sound strip and runs Gestures from Sound Strips on it: a third
   SMPL-X armature, "Generated gestures", with body, hand and face keys. Renders a strip of
   its frames with a mannequin mesh on it (scene.render, Workbench): speech_preview.png; then
   saves the scene as demo.blend.
4. Opens demo.blend again and plots the skeletons at a few frames, front view, from
   Blender's evaluated bone heads: demo.png.

    python tools/demo.py [--generator NAME_OR_FOLDER]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import bpy
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import motion_tokens  # noqa: E402
from motion_tokens.core.audio import read_speech  # noqa: E402
from motion_tokens.core.paths import data_dir  # noqa: E402
from motion_tokens.scene import compat  # noqa: E402
from motion_tokens.scene.render import render_strip  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "demo" / "output"
BEAT2_TAKE = "beat2/2_scott_0_1_1.npz"
BANDAI_TAKE = "bandai/dataset-1/dataset-1_byebye_normal_001.bvh"
EXCERPTS = (REPO / "demo" / "beat2_excerpt.npz", REPO / "demo" / "bandai_excerpt.bvh")
SPEECH = REPO / "demo" / "speech_excerpt.wav"
#: Where the excerpt lies in the BEAT2 take (seconds): its recorded motion, for comparison.
SPEECH_START = 53.0
SPACING = 1.2  # metres along X between the armatures
FPS = 30
PLOT_FRAMES = 5
PREVIEW_FRAMES = 8
#: Below this level (dB of full scale, RMS over 0.2 s) a preview frame's speech is a pause.
PAUSE_DB = -30.0


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


def use_generator(name: str) -> str:
    """The Speech panel's Generator for `name`: an installed bundle's name as it is; a folder
    (one you trained) is offered to the panel first. The enum value."""
    folder = Path(name)
    if folder.is_dir():
        from motion_tokens.panels.properties import GENERATOR_ITEMS

        GENERATOR_ITEMS.append((str(folder.resolve()), folder.name, f"Generator bundle {folder}"))
        return str(folder.resolve())
    return name


def generate_gestures(generator: str, x: float):
    """Gestures from Sound Strips on the excerpt, from frame 1, onto a new SMPL-X armature
    named "Generated gestures" at `x` metres along X; the armature object."""
    scene = bpy.context.scene
    strip = compat.sequence_strip_collection(scene).new_sound("Held-out speech", str(SPEECH), 1, 1)
    compat.set_strip_selected(strip, True)
    settings = scene.motion_tokens
    settings.target_armature = None
    settings.speech.generator = use_generator(generator)
    settings.speech.seed = 0
    before = {o.name for o in scene.objects}
    result = bpy.ops.motion_tokens.gestures_from_sound_strips()
    if result != {"FINISHED"}:
        raise SystemExit(f"generating gestures for {SPEECH.name} failed: {result}")
    obj = next(o for o in scene.objects if o.name not in before and o.type == "ARMATURE")
    obj.name = obj.data.name = "Generated gestures"
    obj.location.x = x
    # The generated root stays at SMPL-X's origin (no translation is generated), which puts the
    # feet about 1.2 m below it: stand the armature on the ground beside the imported takes.
    heads, _ = bone_segments(obj)
    obj.location.z = -float(heads[:, 2].min())
    return obj


def speech_levels(frames) -> list[float]:
    """The excerpt's RMS level (dB of full scale) over 0.2 s around each scene frame."""
    speech = read_speech(SPEECH)
    rate, half = speech.sample_rate, int(0.1 * speech.sample_rate)
    levels = []
    for frame in frames:
        centre = int(round((frame - 1) / FPS * rate))
        window = speech.samples[max(centre - half, 0) : centre + half]
        levels.append(float(20 * np.log10(np.sqrt(np.mean(window.astype(np.float64) ** 2)) + 1e-9)))
    return levels


def render_preview(obj, png: Path) -> list[tuple[int, float]]:
    """Render `obj` alone (the other armatures hidden from the render) at PREVIEW_FRAMES
    frames over its action into `png`; (frame, speech level dB) of each."""
    scene = bpy.context.scene
    last = int(obj.animation_data.action.frame_range[1])
    frames = np.linspace(1, last, PREVIEW_FRAMES).round().astype(int).tolist()
    others = [o for o in scene.objects if o.type == "ARMATURE" and o != obj]
    for other in others:
        other.hide_render = True
    try:
        render_strip(obj, frames, png, frame_height=280)
    finally:
        for other in others:
            other.hide_render = False
    return list(zip(frames, speech_levels(frames)))


def wrist_speeds(obj, first: int, count: int) -> np.ndarray:
    """(count - 1,) mean speed (m/s) of the two wrists of `obj` between consecutive frames
    from `first`, from Blender's evaluated pose."""
    scene = bpy.context.scene
    names = [pb.name for pb in obj.pose.bones]
    wrists = [names.index("left_wrist"), names.index("right_wrist")]
    at = []
    for frame in range(first, first + count):
        scene.frame_set(frame)
        at.append(bone_segments(obj)[0][wrists])
    return np.linalg.norm(np.diff(np.array(at), axis=0), axis=-1).mean(axis=1) * FPS


def pause_and_speech_motion(gestures, recorded) -> str:
    """The wrists' mean speed during the excerpt's pauses and its speech, generated and (when
    `recorded` is the whole BEAT2 take) recorded over the same seconds."""
    count = int(gestures.animation_data.action.frame_range[1])
    pause = np.array(speech_levels(range(2, count + 1))) < PAUSE_DB  # the frame each step ends on
    rows = [("generated", wrist_speeds(gestures, 1, count))]
    first = int(round(SPEECH_START * FPS)) + 1
    if recorded is not None and recorded.animation_data.action.frame_range[1] >= first + count - 1:
        rows.append(("recorded (the same seconds of the take)", wrist_speeds(recorded, first, count)))
    said = [f"{name}: {speed[pause].mean():.2f} m/s in pauses, {speed[~pause].mean():.2f} m/s in speech"
            for name, speed in rows]
    return f"mean wrist speed over {pause.sum()} pause and {(~pause).sum()} speech frames: " + "; ".join(said)


def plot_front_view(blend: Path, png: Path) -> list[int]:
    """Open `blend` and plot every armature's evaluated skeleton, front view (X right, Z up),
    at PLOT_FRAMES frames spread over the shorter action; the frames plotted."""
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    armatures = sorted((o for o in scene.objects if o.type == "ARMATURE"), key=lambda o: o.location.x)
    last = min(int(o.animation_data.action.frame_range[1]) for o in armatures)
    frames = np.linspace(1, last, PLOT_FRAMES).round().astype(int).tolist()
    colours = ("tab:blue", "tab:orange", "tab:green")

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
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False)
    fig.suptitle("Blender's evaluated bone heads in demo.blend, front view", y=0.04, fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.92))
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return frames


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="make demo: real motion and generated gestures through the add-on")
    ap.add_argument("--generator", default="gen-kmeans-10",
                    help="generator bundle in models/ or a bundle folder you trained (default gen-kmeans-10)")
    args = ap.parse_args(argv)
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
        gestures = generate_gestures(args.generator, 2 * SPACING)
        scene.frame_start = 1
        frame_end = scene.frame_end = max(int(o.animation_data.action.frame_range[1])
                                          for o in (speech, mocap, gestures))

        for obj in scene.objects:
            obj.select_set(obj == speech)
        bpy.context.view_layer.objects.active = speech
        bpy.ops.motion_tokens.export_motion(filepath=str(OUT / "demo.npz"), file_format="BOTH")
        preview = render_preview(gestures, OUT / "speech_preview.png")
        motion_note = pause_and_speech_motion(gestures, speech if beat2 != EXCERPTS[0] else None)
        blend = OUT / "demo.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(blend), check_existing=False)
        frames = plot_front_view(blend, OUT / "demo.png")
    finally:
        # bpy's shutdown hangs when add-on classes are still registered at exit.
        motion_tokens.unregister()

    print(f"made in {time.perf_counter() - started:.1f} s:")
    for name, what in (
        ("demo.blend", f"'BEAT2 speech' ({beat2.name}), 'Bandai mocap' ({bandai.name}, retargeted) and "
                       f"'Generated gestures' ({SPEECH.name}, {args.generator}) SMPL-X armatures, "
                       f"frames 1-{frame_end} at {FPS} fps"),
        ("demo.npz", "the BEAT2 armature's action exported in the BEAT2 layout"),
        ("demo.bvh", "the same action as BVH on the SMPL-X skeleton"),
        ("demo.png", f"the skeletons, front view, at frames {', '.join(map(str, frames))}"),
        ("speech_preview.png", "the generated gestures rendered at frames " + ", ".join(
            f"{f} ({(f - 1) / FPS:.1f} s, {'pause' if db < PAUSE_DB else 'speech'} {db:.0f} dB)" for f, db in preview)),
    ):
        path = OUT / name
        print(f"  {path.relative_to(REPO)} ({path.stat().st_size / 1e3:.0f} kB): {what}")
    print(f"gestures for {SPEECH.name}: {motion_note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
