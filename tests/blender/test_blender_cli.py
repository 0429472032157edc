"""tools/blender_cli.py, the command line inside Blender, run through the bpy module: as a
script in a new process and in this one (runpy), then the .blend it saved is opened and its
evaluated pose compared with a plain FK of the excerpt."""

import runpy
import subprocess
import sys
from pathlib import Path

import bpy
import numpy as np
import pytest
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES
from test_cli_scenes import assert_plays_the_motion, smplx_fk_in_blender_axes

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "blender_cli.py"
BEAT2_EXCERPT = REPO / "demo" / "beat2_excerpt.npz"


def excerpt_frames() -> int:
    with np.load(BEAT2_EXCERPT) as data:
        return len(data["poses"])


def assert_blend_holds_the_excerpt(path: Path, frame_start: int):
    """Open the saved file: one SMPL-X armature playing an action over the excerpt's frames."""
    bpy.ops.wm.open_mainfile(filepath=str(path))
    armatures = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert len(armatures) == 1
    obj = armatures[0]
    assert sorted(b.name for b in obj.data.bones) == sorted(SMPLX_JOINT_NAMES)
    action = obj.animation_data.action
    T = excerpt_frames()
    assert tuple(action.frame_range) == (float(frame_start), float(frame_start + T - 1))
    scene = bpy.context.scene
    assert scene.render.fps / scene.render.fps_base == pytest.approx(30.0)
    assert (scene.frame_start, scene.frame_end) == (frame_start, frame_start + T - 1)
    # Blender's evaluated pose is the excerpt's: a plain FK of its arrays (test_cli_scenes.py).
    assert_plays_the_motion(obj, smplx_fk_in_blender_axes(BEAT2_EXCERPT), frame_start)


def test_script_in_a_new_process_saves_the_blend(tmp_path, empty_scene):
    out = tmp_path / "take.blend"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--", "import", str(BEAT2_EXCERPT), "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert_blend_holds_the_excerpt(out, frame_start=1)


def test_script_in_this_process_saves_the_blend(tmp_path, empty_scene, monkeypatch):
    out = tmp_path / "take.blend"
    argv = ["blender", "-b", "-P", str(SCRIPT), "--", "import", str(BEAT2_EXCERPT), "--out", str(out), "--frame-start", "5"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert exit_.value.code == 0
    assert_blend_holds_the_excerpt(out, frame_start=5)


def test_bad_input_passes_exit_status_2_through(tmp_path):
    missing = tmp_path / "no_such_take.npz"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--", "import", str(missing), "--out", str(tmp_path / "t.blend")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert str(missing) in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "t.blend").exists()


def test_capture_through_the_script_saves_a_blend_with_both_actions(tmp_path, empty_scene):
    """`capture` inside Blender: a fingerspelled letter (.pose, 25 fps) becomes a .blend whose
    armature plays the decoded motion at 30 fps over the letter's duration, with the raw fit
    in a -raw .blend beside it."""
    import os

    data = Path(os.environ.get("MOTION_TOKENS_DATA", REPO.parent / "shared" / "data"))
    letter = data / "sign" / "fingerspelling" / "A.pose"
    if not letter.is_file():
        pytest.skip(f"the shared sign data is not at {data}")
    out = tmp_path / "A.blend"
    result = subprocess.run([sys.executable, str(SCRIPT), "--", "capture", str(letter), "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for path in (out, tmp_path / "A-raw.blend"):
        bpy.ops.wm.open_mainfile(filepath=str(path))
        (obj,) = [o for o in bpy.data.objects if o.type == "ARMATURE"]
        assert tuple(obj.animation_data.action.frame_range) == (1.0, 25.0)  # 0.8 s at 30 fps
        scene = bpy.context.scene
        assert scene.render.fps / scene.render.fps_base == pytest.approx(30.0)
