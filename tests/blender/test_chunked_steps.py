"""The import in slices of frames (core.steps): its action equals the one-piece path's
keys exactly, Esc after any step leaves the scene as it was, and on a long BVH no step but
the file's parse and the one bulk keying takes long."""

from pathlib import Path

import bpy
import numpy as np
import pytest
from motion_tokens.core import steps as chunks
from motion_tokens.pipelines.import_motion import (
    ArmatureTarget,
    ImportOptions,
    import_steps,
)
from motion_tokens.pipelines.progress import Stepper
from step_timing import step_times
from motion_tokens.scene import compat
from motion_tokens.scene.targets import ImportTarget

BANDAI_EXCERPT = Path(__file__).resolve().parents[2] / "demo" / "bandai_excerpt.bvh"


def scene_state():
    return (sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.armatures),
            sorted(a.name for a in bpy.data.actions))


def import_job(target="NEW", path=BANDAI_EXCERPT):
    return import_steps(ImportOptions(str(path), None), ArmatureTarget(ImportTarget(bpy.context, target, 1), 30.0))


def action_keys(result) -> dict:
    """(data path, index) -> the (n, 2) keys of every F-curve of the imported action."""
    obj, action = result.target.armature, result.target.action
    keys = {}
    for fc in compat.action_fcurves(action, obj):
        co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        keys[fc.data_path, fc.array_index] = co.reshape(-1, 2)
    return keys


def run(job):
    stepper = Stepper(job)
    while stepper.step() is not None:
        pass
    return stepper.result


@pytest.mark.parametrize("target", ["NEW", "NEW_METAHUMAN"])
def test_the_sliced_import_keys_what_the_whole_keys(scene, monkeypatch, target):
    monkeypatch.setattr(chunks, "CHUNK_FRAMES", 10**9)  # one slice: today's one-piece arithmetic
    whole = action_keys(run(import_job(target)))
    monkeypatch.setattr(chunks, "CHUNK_FRAMES", 7)  # boundaries inside the 60 frames
    sliced = action_keys(run(import_job(target)))
    assert whole.keys() == sliced.keys() and len(whole) > 100
    for channel, keys in whole.items():
        np.testing.assert_array_equal(sliced[channel], keys, err_msg=str(channel))


@pytest.mark.parametrize("target", ["NEW", "NEW_METAHUMAN"])
def test_esc_after_any_step_leaves_the_scene_as_it_was(scene, monkeypatch, target):
    monkeypatch.setattr(chunks, "CHUNK_FRAMES", 16)
    before = scene_state()
    count = 0
    stepper = Stepper(import_job(target))
    while stepper.step() is not None:
        count += 1
    assert count >= 10  # read, 4 slices retargeting (and onto the rig), 4 of channels, keying
    bpy.data.objects.remove(stepper.result.target.armature)
    for action in bpy.data.actions:
        bpy.data.actions.remove(action)
    for armature in bpy.data.armatures:
        bpy.data.armatures.remove(armature)
    assert scene_state() == before
    for steps_run in range(1, count + 1):
        stepper = Stepper(import_job(target))
        for _ in range(steps_run):
            assert stepper.step() is not None
        stepper.cancel()
        assert scene_state() == before, f"cancelled after step {steps_run}"


def test_no_step_of_a_long_import_takes_long(scene, tmp_path):
    """30,000 frames (the excerpt's 60, 500 times). The bound, 1 s, is five times a slice's
    measured 0.1-0.2 s (8192 frames of retargeting or keyframe channels on 2 shared cores)
    and a tenth of the parse-free import done in one piece; the parse (one core call) and the
    keying (one bulk foreach_set per F-curve, in one step so the scene changes once) are
    timed on their own."""
    head, _, rest = BANDAI_EXCERPT.read_bytes().partition(b"MOTION")
    lines = rest.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.lower().startswith(b"frame time"))
    frames = [line for line in lines[at + 1:] if line.strip()]
    big = tmp_path / "long.bvh"
    big.write_bytes(head + b"MOTION\n" + f"Frames: {500 * len(frames)}\n".encode() + lines[at] + b"".join(frames) * 500)
    stepper = Stepper(import_job(path=big))
    times = step_times(stepper)
    assert stepper.result.motion.num_frames == 30000
    sliced = [(what, s) for what, s in times if not what.startswith(("reading", "keying"))]
    assert len(sliced) >= 8
    assert max(s for _, s in sliced) < 1.0, times
