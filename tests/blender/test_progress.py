"""Long jobs run in steps (pipelines.progress): the operators' stepping and Esc, the status
line, and the command line's progress. The modal timer loop cannot run headless, so the
operators' own advance/cancel methods are called here on a stand-in for the operator, against a
real scene; undo cannot be driven headless either (FACTS.md), so the operators are checked to
be undoable and every cancel to leave the scene as it was."""

import io
import sys
from pathlib import Path

import bpy
import pytest
from motion_tokens import cli
from motion_tokens.core.steps import Progress
from motion_tokens.operators.import_motion import MOTION_TOKENS_OT_import_motion
from motion_tokens.operators.quantize_action import MOTION_TOKENS_OT_quantize_action
from motion_tokens.pipelines.import_motion import (
    ArmatureTarget,
    ImportOptions,
    import_steps,
)
from motion_tokens.pipelines.progress import Stepper
from motion_tokens.pipelines.quantize import QuantizeOptions, quantize_steps
from motion_tokens.scene.targets import ArmatureTake, ImportTarget

pytestmark = pytest.mark.usefixtures("registered")

DEMO = Path(__file__).resolve().parents[2] / "demo"
EXCERPT = DEMO / "beat2_excerpt.npz"


def scene_state():
    return (sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.armatures),
            sorted(a.name for a in bpy.data.actions))


class OperatorStandIn:
    """What SteppedJob's methods use of an operator instance (bpy cannot make one headless)."""

    _timer = None

    def __init__(self, operator_class, steps):
        self.job_name = operator_class.job_name
        self._stepper = Stepper(steps)
        self.reports = []
        for name in ("advance", "cancel_job", "_end"):
            setattr(self, name, getattr(operator_class, name).__get__(self))

    def report(self, kind, message):
        self.reports.append((set(kind), message))


def steps_for_import(path=EXCERPT):
    target = ImportTarget(bpy.context, "NEW", 1)
    return import_steps(ImportOptions(str(path), None), ArmatureTarget(target, 30.0))


def test_every_operator_is_undoable():
    classes = [c for c in bpy.types.Operator.__subclasses__() if c.__name__.startswith("MOTION_TOKENS_OT_")]
    assert len(classes) >= 3
    for cls in classes:
        assert {"REGISTER", "UNDO"} <= set(cls.bl_options), cls.__name__


def test_the_import_steps_and_finishes_with_its_report(scene):
    op = OperatorStandIn(MOTION_TOKENS_OT_import_motion, steps_for_import())
    seen = []
    while (ended := op.advance(bpy.context)) is None:
        seen.append(op._stepper.progress)
    assert ended == {"FINISHED"}
    assert [(p.done, p.total) for p in seen] == [(0, 1), (150, 450), (300, 450)]  # read; channels; keys
    assert seen[0].what.startswith("reading beat2_excerpt.npz (")
    assert any("Imported beat2_excerpt.npz" in m for _, m in op.reports)
    assert len(bpy.data.actions) == 1


@pytest.mark.parametrize("after_steps", [0, 1, 2])
def test_esc_between_import_steps_leaves_the_scene_as_it_was(scene, after_steps):
    before = scene_state()
    op = OperatorStandIn(MOTION_TOKENS_OT_import_motion, steps_for_import())
    for _ in range(after_steps):
        assert op.advance(bpy.context) is None
    assert op.cancel_job(bpy.context) == {"CANCELLED"}
    assert scene_state() == before
    assert ({"INFO"}, "Import cancelled; the scene is as it was") in op.reports


def test_a_failing_step_reports_and_cancels_with_the_scene_as_it_was(scene, tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    before = scene_state()
    op = OperatorStandIn(MOTION_TOKENS_OT_import_motion, steps_for_import(broken))
    assert op.advance(bpy.context) is None  # the first Progress: reading comes next
    assert op.advance(bpy.context) == {"CANCELLED"}
    assert scene_state() == before
    (kind, message), = op.reports
    assert kind == {"ERROR"} and message.startswith("Cannot import:") and "broken.npz" in message


def test_esc_while_quantizing_keeps_the_original_action_only(scene):
    bpy.ops.motion_tokens.import_motion(filepath=str(EXCERPT))
    obj = bpy.context.active_object
    original = obj.animation_data.action
    before = scene_state()
    options = QuantizeOptions({"body": "kmeans-6", "hands": "kmeans-6"})
    op = OperatorStandIn(MOTION_TOKENS_OT_quantize_action, quantize_steps(options, ArmatureTake(bpy.context)))
    while not op._stepper.progress or not op._stepper.progress.what.startswith("keying "):
        assert op.advance(bpy.context) is None  # read, code, keyframe channels: the keying is next
    op.cancel_job(bpy.context)
    assert scene_state() == before and obj.animation_data.action == original


def test_the_status_line_says_what_is_done_and_the_time_left():
    clock = iter([0.0, 4.0, 4.0]).__next__

    def steps():
        yield Progress(0, 3, "reading")
        yield Progress(2, 3, "keying 900 frames")
        return "done"

    stepper = Stepper(steps(), clock=clock)
    stepper.step()
    assert stepper.status_line("Import") == "Import: reading (0%) - Esc to cancel"
    stepper.step()
    assert stepper.status_line("Import") == "Import: keying 900 frames (66%, about 2 s left) - Esc to cancel"
    assert stepper.step() is None and stepper.result == "done"


def test_the_command_line_prints_plain_progress_lines_off_a_terminal(scene, tmp_path, capsys):
    assert cli.main(["import", str(EXCERPT), "--out", str(tmp_path / "t.npz")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("import: reading beat2_excerpt.npz (") and out[0].endswith(" MB) (0%)")
    assert out[1] == "import: writing 150 frames (33%)"
    assert len(out) == 3 and out[2].startswith(str(tmp_path / "t.npz"))  # then the result line


def test_the_command_line_shows_a_tqdm_bar_on_a_terminal(scene, tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(["import", str(EXCERPT), "--out", str(tmp_path / "t.npz")]) == 0
    shown = terminal.getvalue()
    assert "import:" in shown and "frame" in shown and "|" in shown  # tqdm's "desc: 50%|#####     | 150/300"
    assert "writing 150 frames" in shown
