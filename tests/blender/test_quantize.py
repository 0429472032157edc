"""Quantize Action and the Codec panel, registered in this process.

References: Blender's evaluated pose of the new action against forward kinematics of the
motion that core's encode_parts decodes from the same action; the original action's keys
before and after, byte for byte; the RMSE recomputed here from the part positions; the
bundles listed in the models folder. Each failure must cancel with the scene as it was.
"""

from pathlib import Path

import bpy
import motion_tokens
import numpy as np
import pytest
from motion_tokens.core.codecs import registry
from motion_tokens.core.codecs.bundle import write_bundle
from motion_tokens.core.codecs.coding import codec_label, encode_parts
from motion_tokens.core.codecs.features import part_features, part_positions
from motion_tokens.core.codecs.registry import MODELS_DIR
from motion_tokens.core.formats import read_motion
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, smplx_skeleton
from motion_tokens.panels import properties as panel_properties
from motion_tokens.scene.actions import read_motion as read_action_motion
from motion_tokens.scene.armature import create_armature
from motion_tokens.scene.axes import vectors_to_blender
from motion_tokens.scene.compat import action_fcurves

pytestmark = pytest.mark.usefixtures("registered")

REPO = Path(__file__).resolve().parents[2]
BEAT2_EXCERPT = REPO / "demo" / "beat2_excerpt.npz"


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """kmeans-6 for both parts (64 frames of the excerpt as centroids) and kmeans-9 for the body."""
    models = tmp_path_factory.mktemp("models")
    motion = read_motion(BEAT2_EXCERPT)
    for name, k, part in (("kmeans-6", 64, "body"), ("kmeans-6", 64, "hands"), ("kmeans-9", 512, "body")):
        x = part_features(motion, part)
        centroids = x[np.arange(k) % len(x)] + np.arange(k)[:, None] * 1e-3  # distinct rows
        F = x.shape[1]
        write_bundle(models / f"{name}-{part}", {"name": name, "kind": "codec", "family": "kmeans", "part": part,
                                                  "k": k, "fps": 30.0},
                     {"centroids": centroids.astype(np.float32), "mean": np.zeros(F, np.float32),
                      "std": np.ones(F, np.float32)})
    return models


@pytest.fixture
def use_models(monkeypatch):
    """Point the codecs (and the Codec panel's list) at another models folder for one test."""

    def use(folder):
        monkeypatch.setattr(registry, "MODELS_DIR", Path(folder))
        panel_properties.CATALOGUE.refresh()

    yield use
    monkeypatch.undo()
    panel_properties.CATALOGUE.refresh()


def keyframes(action, obj):
    """{(data_path, index): (n, 2) float32 keyframe co} of the action's F-curves for `obj`."""
    out = {}
    for fc in action_fcurves(action, obj):
        co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        out[(fc.data_path, fc.array_index)] = co.reshape(-1, 2)
    return out


def scene_state():
    plays = {
        o.name: (o.animation_data.action.name if o.animation_data and o.animation_data.action else None)
        for o in bpy.data.objects
    }
    return (sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions), plays)


def import_excerpt():
    assert bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT)) == {"FINISHED"}
    obj = bpy.context.active_object
    return obj, obj.animation_data.action


def choose(scene, family, body_bits, hands_bits):
    settings = scene.motion_tokens.codec
    settings.family = family
    settings.body_bits, settings.hands_bits = str(body_bits), str(hands_bits)


def check_quantized(scene, obj, original, original_keys, expected, name, capfd, codecs=None):
    """The new action is assigned and plays `expected` (a 30 fps Motion); the original is kept
    byte for byte; the reported RMSE is the part-position RMSE between the two. codecs: part ->
    codec name where they differ from `name` (the action is then named by their label)."""
    codecs = codecs or {}
    new = obj.animation_data.action
    assert new != original and new.name == f"{original.name} {codec_label(codecs) if codecs else name}"
    assert original.name in bpy.data.actions and original.users >= 1
    after = keyframes(original, obj)
    assert after.keys() == original_keys.keys()
    for key, co in original_keys.items():
        assert after[key].tobytes() == co.tobytes()
    assert tuple(new.frame_range) == tuple(original.frame_range)

    positions = vectors_to_blender(expected.positions())  # (T, 55, 3), Blender axes
    T = expected.num_frames
    depsgraph = bpy.context.evaluated_depsgraph_get()
    for k in (0, T // 2, T - 1):
        scene.frame_set(int(new.frame_range[0]) + k)
        evaluated = obj.evaluated_get(depsgraph)
        heads = np.array([evaluated.pose.bones[n].head for n in SMPLX_JOINT_NAMES])
        np.testing.assert_allclose(heads, positions[k], atol=1e-3)  # 1 mm

    source = read_action_motion(obj, smplx_skeleton(), action=original)
    report = capfd.readouterr().out
    for part in ("body", "hands"):
        d = part_positions(part_features(source, part), part) - part_positions(part_features(expected, part), part)
        rmse = np.sqrt(np.mean(np.sum(d * d, axis=-1))) * 100.0
        shown = float(report.split(f"{part} {codecs.get(part, name)} (")[1].split(" RMSE ")[1].split(" cm")[0])
        assert shown == pytest.approx(rmse, abs=0.006)


# --- quantizing -----------------------------------------------------------------------------

def test_quantize_with_a_tiny_codec(scene, tiny_models, use_models, capfd):
    use_models(tiny_models)
    obj, original = import_excerpt()
    original_keys = keyframes(original, obj)
    motion = read_action_motion(obj, smplx_skeleton())
    expected = encode_parts(motion, {"body": "kmeans-6", "hands": "kmeans-6"}, models_dir=tiny_models).decoded
    choose(scene, "kmeans", 6, 6)
    capfd.readouterr()
    assert bpy.ops.motion_tokens.quantize_action() == {"FINISHED"}
    check_quantized(scene, obj, original, original_keys, expected, "kmeans-6", capfd)


def test_quantize_keeps_the_start_frame_and_mixes_bitrates(scene, tiny_models, use_models):
    use_models(tiny_models)
    scene.frame_current = 41
    obj, original = import_excerpt()
    assert original.frame_range[0] == 41
    assert bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-9", hands_codec="kmeans-6") == {"FINISHED"}
    new = obj.animation_data.action
    assert new.name == f"{original.name} kmeans-9 body, kmeans-6 hands"
    assert tuple(new.frame_range) == tuple(original.frame_range)
    # Quantizing again makes another action and leaves both earlier ones alone.
    assert bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-9", hands_codec="kmeans-6") == {"FINISHED"}
    assert len(bpy.data.actions) == 3


@pytest.mark.parametrize("family, bits", [("kmeans", 6), ("rqvae", 12)])
def test_quantize_with_a_shipped_codec(scene, capfd, family, bits):
    """The operator runs the RQ-VAE in numpy, as inside Blender (no torch), and must play what
    the torch model decodes (the same tokens and features: tests/test_rqvae_numpy.py)."""
    name = f"{family}-{bits}"
    for part in ("body", "hands"):  # committed (git ls-files models): a missing bundle fails
        assert (MODELS_DIR / f"{name}-{part}" / "manifest.json").is_file(), f"{name}-{part} is missing"
    obj, original = import_excerpt()
    original_keys = keyframes(original, obj)
    if family == "rqvae":
        assert type(registry.load_codec(MODELS_DIR / f"{name}-body")).__name__ == "RQVAENumpyCodec"
    choose(scene, family, bits, bits)
    # the face takes the panel's face bits of the family (where one is bundled), as a user gets
    codecs = panel_properties.codecs_from_settings(scene.motion_tokens.codec)
    assert codecs["body"] == codecs["hands"] == name
    expected = encode_parts(read_action_motion(obj, smplx_skeleton()), codecs).decoded
    capfd.readouterr()
    assert bpy.ops.motion_tokens.quantize_action() == {"FINISHED"}
    check_quantized(scene, obj, original, original_keys, expected, name, capfd, codecs)


# --- failures leave the scene as it was -------------------------------------------------------

def assert_cancelled(call, *names):
    before = scene_state()
    keys_before = {a.name: keyframes(a, None) for a in bpy.data.actions}
    with pytest.raises(RuntimeError) as failure:
        call()
    for name in names:
        assert str(name) in str(failure.value)
    assert scene_state() == before
    for action in bpy.data.actions:
        after = keyframes(action, None)
        assert after.keys() == keys_before[action.name].keys()
        assert all(after[k].tobytes() == v.tobytes() for k, v in keys_before[action.name].items())


def test_quantize_without_an_armature_is_cancelled(scene, tiny_models, use_models):
    use_models(tiny_models)
    assert_cancelled(lambda: bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="kmeans-6"),
                     "armature")


def test_quantize_of_an_armature_without_action_is_cancelled(scene, tiny_models, use_models):
    use_models(tiny_models)
    create_armature(smplx_skeleton(), name="Still")
    assert_cancelled(lambda: bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="kmeans-6"),
                     "Still", "plays no action")


@pytest.mark.parametrize("body, problem", [("kmeans-7", "not installed for the body"), ("../kmeans-6", "not a codec name")])
def test_quantize_with_a_codec_not_bundled_is_cancelled(scene, tiny_models, use_models, body, problem):
    use_models(tiny_models)
    import_excerpt()
    assert_cancelled(lambda: bpy.ops.motion_tokens.quantize_action(body_codec=body, hands_codec="kmeans-6"),
                     body, problem)


def test_quantize_with_a_tampered_bundle_is_cancelled(scene, tiny_models, use_models, tmp_path):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(tiny_models, models)
    weights = models / "kmeans-6-hands" / "weights.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-2] ^= 1
    weights.write_bytes(bytes(blob))
    use_models(models)
    import_excerpt()
    assert_cancelled(lambda: bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="kmeans-6"),
                     weights, "sha256")


def test_operator_is_undoable():
    assert {"REGISTER", "UNDO"} <= set(bpy.ops.motion_tokens.quantize_action.bl_options)


# --- the Codec panel ------------------------------------------------------------------------

class RecordingLayout:
    """Stands in for UILayout: checks the properties and operators drawn exist; keeps labels."""

    def __init__(self):
        self.props, self.operators, self.labels = [], [], []
        self.use_property_split = self.use_property_decorate = self.enabled = True

    def column(self, **kwargs):
        return self

    row = column

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, name
        self.props.append(name)

    def label(self, text="", **kwargs):
        self.labels.append(text)

    def operator(self, idname, **kwargs):
        category, name = idname.split(".")
        assert hasattr(bpy.types, f"{category.upper()}_OT_{name}"), idname
        self.operators.append(idname)


def draw_codec_panel():
    panel = type("PanelStandIn", (), {"layout": RecordingLayout()})()
    bpy.types.MOTION_TOKENS_PT_codec.draw(panel, bpy.context)
    return panel.layout


def test_codec_panel_offers_only_bundled_codecs(scene, tiny_models, use_models):
    use_models(tiny_models)
    panel_type = bpy.types.MOTION_TOKENS_PT_codec
    assert panel_type.bl_parent_id == "MOTION_TOKENS_PT_main"
    settings = scene.motion_tokens.codec
    settings.family = "kmeans"
    offered = {part: [item[0] for item in panel_properties.CATALOGUE.items[("kmeans", part)]] for part in ("body", "hands")}
    assert offered == {"body": ["6", "9"], "hands": ["6"]}  # the folders in tiny_models
    with pytest.raises(TypeError):
        settings.hands_bits = "9"  # no kmeans-9-hands: Blender refuses a value not offered

    settings.body_bits, settings.hands_bits = "9", "6"
    layout = draw_codec_panel()
    assert layout.props == ["family", "body_bits", "hands_bits", "face_bits"]
    assert layout.operators == ["motion_tokens.quantize_action"]
    # k from the manifests; bits/s = log2(k) x 30 fps: 9 x 30 = 270, 6 x 30 = 180, 450 in all.
    # tiny_models has no face bundle: the face is named as missing and the rest still quantizes
    assert layout.labels == ["k=512, 270 bits/s", "k=64, 180 bits/s", "No kmeans codec bundled for the face",
                             "Total 450 bits/s"]
    assert layout.enabled is True

    scene.render.fps = 24  # coded at 30 fps whatever the scene's rate: 450 / 24 bits per scene frame
    assert draw_codec_panel().labels[-1] == "Coded at 30 fps: 18.8 bits per scene frame at 24 fps"

    settings.family = "rqvae"  # none bundled in tiny_models
    layout = draw_codec_panel()
    assert layout.labels[:2] == ["No rqvae codec bundled for the body", "No rqvae codec bundled for the hands"]
    assert layout.enabled is False  # the Quantize button row
    import_excerpt()  # the operator's poll wants an armature playing an action
    with pytest.raises(RuntimeError, match="no codec chosen"):
        bpy.ops.motion_tokens.quantize_action()


def test_switching_family_keeps_the_bits_valid(scene, tmp_path, tiny_models, use_models):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(tiny_models / "kmeans-6-body", models / "kmeans-6-body")
    shutil.copytree(tiny_models / "kmeans-9-body", models / "kmeans-9-body")
    use_models(models)
    settings = scene.motion_tokens.codec
    settings.family, settings.body_bits = "kmeans", "9"
    assert settings.body_bits == "9"
    settings.family = "rqvae"
    settings.family = "kmeans"
    assert settings.body_bits in ("6", "9")
    assert settings.hands_bits == ""  # nothing bundled for the hands here: no value
    import_excerpt()  # the operator's poll wants an armature playing an action
    with pytest.raises(RuntimeError, match="no codec chosen for the hands"):
        bpy.ops.motion_tokens.quantize_action()


def test_unregister_removes_the_codec_classes():
    motion_tokens.unregister()
    try:
        assert not hasattr(bpy.types, "MOTION_TOKENS_OT_quantize_action")
        assert not hasattr(bpy.types, "MOTION_TOKENS_PT_codec")
        assert not hasattr(bpy.types, "MotionTokensCodecSettings")
    finally:
        motion_tokens.register()
    assert hasattr(bpy.types.Scene, "motion_tokens")
