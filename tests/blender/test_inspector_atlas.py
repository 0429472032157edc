"""The Inspector in Blender: the codebook atlas action, the atlas grid, code usage and its
histogram image, the panel, and the refusals.

References: the keyed quaternions read back from the F-curves (foreach_get), turned into
SMPL-X local rotations with the bones' rest matrices and mathutils (P = B^-1 (C L C^T) B, so
L = C^T B P B^-1 C), against the poses core gives for the tokens the action keeps
(k-means: codec.decode; RQ-VAE: sum_of_codes_features, or code_features for a level alone);
counts against numpy's bincount of the tokens; the training usage of the bundle; the
histogram's unused marks against the codes with no count. Body codecs only.
"""

import re
from pathlib import Path

import bpy
import numpy as np
import pytest
from mathutils import Matrix, Quaternion
from motion_tokens.core.codecs.coding import codebook_record
from motion_tokens.core.codecs.features import part_features
from motion_tokens.core.codecs.registry import load_codec, require_codec_folder
from motion_tokens.core.formats import read_motion
from motion_tokens.core.inspect.codebook import code_features, code_tuples, sum_of_codes_features
from motion_tokens.core.inspect.sources import training_usage
from motion_tokens.core.parts import get_part
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, smplx_skeleton
from motion_tokens.scene.actions import write_motion
from motion_tokens.scene.armature import create_armature
from motion_tokens.scene.atlas_grid import GRID_KEY, grid_collections
from motion_tokens.scene.axes import SMPLX_TO_BLENDER
from motion_tokens.scene.compat import action_fcurves
from motion_tokens.scene.inspect import USAGE_KEY, read_atlas
from motion_tokens.scene.rig import create_rig_armature
from motion_tokens.scene.tokens_prop import ActionTokens, read_tokens, store_tokens

pytestmark = pytest.mark.usefixtures("registered")
BEAT2_EXCERPT = Path(__file__).resolve().parents[2] / "demo" / "beat2_excerpt.npz"
BODY = list(get_part("body").joints)


def _codec(name):
    return load_codec(require_codec_folder(name, "body"))


def _choose(scene, family="kmeans", bits="6", level="ALL", sort="ID", usage_from="TRAINING"):
    settings = scene.motion_tokens
    settings.codec.family = family
    settings.codec.body_bits = bits
    inspector = settings.inspector
    inspector.part, inspector.level, inspector.sort, inspector.usage_from = "body", level, sort, usage_from
    return inspector


def _keys(action, obj):
    """{(bone, channel index): (frames, values)} of every bone rotation F-curve, by foreach_get."""
    out = {}
    for fc in action_fcurves(action, obj):
        m = re.fullmatch(r'pose\.bones\["(.+)"\]\.rotation_quaternion', fc.data_path)
        if m is None:
            continue
        co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        out[(m.group(1), fc.array_index)] = co.reshape(-1, 2).T
    return out


def _keyed_local_matrices(obj, action, joints) -> np.ndarray:
    """(T, len(joints), 3, 3) SMPL-X local rotations of the keyed pose: L = C^T B P B^-1 C."""
    keys = _keys(action, obj)
    C = Matrix(SMPLX_TO_BLENDER.tolist())
    out = []
    for j in joints:
        name = SMPLX_JOINT_NAMES[j]
        B = obj.data.bones[name].matrix_local.to_3x3()
        quats = np.stack([keys[(name, i)][1] for i in range(4)], axis=1)
        out.append([np.array(C.transposed() @ B @ Quaternion(q).to_matrix() @ B.inverted() @ C) for q in quats])
    return np.array(out).transpose(1, 0, 2, 3)


def _matrices(features) -> np.ndarray:
    """(K, J, 3, 3) rotation matrices of (K, 3 J) axis-angle features, through mathutils."""
    aa = np.asarray(features, dtype=np.float64).reshape(len(features), -1, 3)
    out = np.empty(aa.shape[:2] + (3, 3))
    for k, row in enumerate(aa):
        for j, v in enumerate(row):
            angle = np.linalg.norm(v)
            out[k, j] = np.eye(3) if angle < 1e-12 else np.array(Quaternion(v / angle, angle).to_matrix())
    return out


def _assert_one_key_per_code(action, obj, n):
    keys = _keys(action, obj)
    assert keys, "no bone keys"
    for (bone, i), (frames, _) in keys.items():
        np.testing.assert_array_equal(frames, np.arange(1, n + 1), err_msg=f"{bone}[{i}]")
    for fc in action_fcurves(action, obj):  # CONSTANT: a frame shows its code, never a blend
        assert {k.interpolation for k in fc.keyframe_points} == {"CONSTANT"}, fc.data_path


def test_kmeans_atlas_has_a_frame_per_code_whose_tokens_decode_to_the_keyed_poses(scene):
    _choose(scene, sort="USAGE", usage_from="TRAINING")
    assert bpy.ops.motion_tokens.codebook_atlas() == {"FINISHED"}
    obj = bpy.data.objects["SMPL-X"]
    action = obj.animation_data.action
    _assert_one_key_per_code(action, obj, 64)
    record, atlas = read_tokens(action), read_atlas(action)
    codec = _codec("kmeans-6")
    tokens = record.tokens["body"]
    assert tokens.shape == (64,) and record.codec_names == {"body": "kmeans-6"}
    assert record.codebooks["body"].sha256 == codebook_record(codec).sha256
    assert sorted(tokens) == list(range(64)) and np.array_equal(atlas["codes"], tokens)  # each code once
    counts = training_usage(codec)[0].counts
    assert tokens[0] == np.argmax(counts) and (np.diff(counts[tokens]) <= 0).all()  # most used first
    assert record.token_fps == 30.0 and record.frame_start == 1  # token i on frame 1 + i
    # Decoding the action's tokens gives the poses keyed, frame by frame.
    expected = _matrices(codec.decode(tokens))
    np.testing.assert_allclose(_keyed_local_matrices(obj, action, BODY), expected, atol=2e-5)
    rest = _keyed_local_matrices(obj, action, [0, 22, 25, 54])  # the root, jaw and fingers stay at rest
    np.testing.assert_allclose(rest, np.broadcast_to(np.eye(3), rest.shape), atol=1e-6)


def test_rqvae_level_alone_and_all_levels_are_a_frame_per_level_code(scene):
    codec = _codec("rqvae-6")  # D = 8 codes a level, Q = 2 levels
    _choose(scene, family="rqvae", bits="6", level="1", sort="ID")
    assert bpy.ops.motion_tokens.codebook_atlas() == {"FINISHED"}
    obj = bpy.context.active_object
    alone = obj.animation_data.action
    _assert_one_key_per_code(alone, obj, codec.D)
    atlas = read_atlas(alone)
    assert atlas["level"] == 1 and list(atlas["codes"]) == list(range(codec.D))
    assert read_tokens(alone) is None  # a level alone (the others zero) is no token
    np.testing.assert_allclose(_keyed_local_matrices(obj, alone, BODY), _matrices(code_features(codec, 1)), atol=2e-5)

    scene.motion_tokens.inspector.level = "ALL"
    scene.motion_tokens.target_armature = obj  # the same armature, a new action
    assert bpy.ops.motion_tokens.codebook_atlas() == {"FINISHED"}
    tuples = obj.animation_data.action
    assert tuples != alone and len([o for o in bpy.data.objects if o.type == "ARMATURE"]) == 1
    _assert_one_key_per_code(tuples, obj, codec.D)
    tokens = read_tokens(tuples).tokens["body"]
    np.testing.assert_array_equal(tokens, code_tuples(codec))  # real token tuples, level-0 code d on frame d + 1
    decoded = sum_of_codes_features(codec, tokens)
    np.testing.assert_allclose(_keyed_local_matrices(obj, tuples, BODY), _matrices(decoded), atol=2e-5)


def test_the_atlas_goes_onto_another_rig_through_its_bone_map(scene):
    rig = create_rig_armature("metahuman")
    _choose(scene, sort="ID")
    scene.motion_tokens.target_armature = rig
    assert bpy.ops.motion_tokens.codebook_atlas() == {"FINISHED"}
    action = rig.animation_data.action
    assert [o.name for o in bpy.data.objects] == [rig.name]  # no SMPL-X armature made
    keys = _keys(action, rig)
    assert keys and all(np.array_equal(f, np.arange(1, 65)) for f, _ in keys.values())
    assert list(read_tokens(action).tokens["body"]) == list(range(64))


def _figures(collection):
    """The page's armatures in reading order (rows top down, columns left to right)."""
    arms = [o for o in collection.objects if o.type == "ARMATURE"]
    return sorted(arms, key=lambda o: (-round(o.location.z, 3), round(o.location.x, 3)))


def test_the_grid_has_64_figures_named_with_their_codes_and_posed_as_them(scene):
    inspector = _choose(scene, sort="ID", usage_from="TRAINING")
    assert bpy.ops.motion_tokens.atlas_grid(page=0) == {"FINISHED"}
    (collection,) = grid_collections()
    figures = _figures(collection)
    assert len(figures) == 64 and len({f.data.name for f in figures}) == 1  # one armature shared
    share = training_usage(_codec("kmeans-6"))[0].share_percent
    names = [re.fullmatch(r"kmeans-6-body code (\d{3}) \((\d+\.\d)%\)", f.name) for f in figures]
    assert all(names), [f.name for f in figures]
    assert [int(m.group(1)) for m in names] == list(range(64))
    np.testing.assert_allclose([float(m.group(2)) for m in names], share, atol=0.051)
    assert inspector.page == 0 and list(collection[GRID_KEY]["codes"]) == list(range(64))
    # A figure's pose is its code's centroid (read from the pose bones, no action).
    expected = _matrices(_codec("kmeans-6").decode(np.array([17])))[0]
    figure = figures[17]
    C = Matrix(SMPLX_TO_BLENDER.tolist())
    for i, j in enumerate(BODY):
        pb = figure.pose.bones[SMPLX_JOINT_NAMES[j]]
        B = pb.bone.matrix_local.to_3x3()
        local = np.array(C.transposed() @ B @ pb.rotation_quaternion.to_matrix() @ B.inverted() @ C)
        np.testing.assert_allclose(local, expected[i], atol=2e-5, err_msg=SMPLX_JOINT_NAMES[j])
    assert len([o for o in collection.objects if o.type == "MESH"]) == 64  # a mannequin each
    assert len([o for o in collection.objects if o.type == "FONT"]) == 64  # a label each


def test_page_1_of_a_512_code_codebook_gives_codes_64_to_127_in_place_of_page_0(scene):
    inspector = _choose(scene, bits="9", sort="ID")
    assert bpy.ops.motion_tokens.atlas_grid(page=0) == {"FINISHED"}
    first = grid_collections()[0].name
    assert bpy.ops.motion_tokens.atlas_grid(page=1) == {"FINISHED"}
    (collection,) = grid_collections()  # page 0 is gone, with everything in it
    assert collection.name != first and bpy.data.collections.get(first) is None
    ids = [int(re.search(r"code (\d+)", f.name).group(1)) for f in _figures(collection)]
    assert ids == list(range(64, 128)) and inspector.page == 1
    assert len(bpy.data.objects) == 3 * 64 and len(bpy.data.armatures) == 1 and len(bpy.data.meshes) == 1
    # Past the last page (512 codes: pages 0-7): refused, page 1 stays as it was.
    with pytest.raises(RuntimeError, match="8 page"):
        bpy.ops.motion_tokens.atlas_grid(page=8)
    assert [c.name for c in grid_collections()] == [collection.name] and len(bpy.data.objects) == 3 * 64
    assert inspector.page == 1


def _action_with_tokens(codec):
    """An SMPL-X armature playing the excerpt, its action keeping the excerpt's body tokens."""
    motion = read_motion(BEAT2_EXCERPT)
    obj = create_armature(smplx_skeleton(), "Take")
    action = write_motion(obj, motion.resampled(30.0)).action
    tokens = codec.encode(part_features(motion, "body"))
    store_tokens(action, ActionTokens({"body": tokens}, {"body": codec.name}, {"body": codebook_record(codec)},
                                      30.0, 1, 30.0))
    return obj, tokens


def test_usage_on_the_action_counts_every_token_frame_and_draws_it(scene):
    codec = _codec("kmeans-6")
    obj, tokens = _action_with_tokens(codec)
    inspector = _choose(scene, sort="USAGE", usage_from="ACTION")
    assert bpy.ops.motion_tokens.code_usage() == {"FINISHED"}
    image = inspector.usage_image
    stored = image[USAGE_KEY].to_dict()
    counts, order = np.asarray(stored["counts"]), np.asarray(stored["order"])
    assert counts.sum() == len(tokens)  # every token frame counted once
    np.testing.assert_array_equal(counts, np.bincount(tokens, minlength=64))
    assert (np.diff(counts[order]) <= 0).all()  # drawn most used first
    assert tuple(image.size) == (512, 200) and tuple(image.preview.image_size) == (512, 200)  # 8 pixels a bar
    px = np.empty(512 * 200 * 4, dtype=np.float32)
    image.pixels.foreach_get(px)
    px = px.reshape(200, 512, 4)[::-1]  # top row first
    assert px[..., :3].std() > 0.1
    # The unused band: red under exactly the codes never used (x = 8 i + 3: the middle of bar i).
    band = px[200 - 7, 8 * np.arange(64) + 3, :3]
    red = (band[:, 0] > 0.7) & (band[:, 1] < 0.3)
    np.testing.assert_array_equal(red, counts[order] == 0)
    unused = np.flatnonzero(counts == 0)
    assert len(unused) > 0  # a short excerpt leaves codes unused
    figures = inspector.usage_figures.split("\n")
    assert f"over {len(tokens):,} rows" in figures[1] and figures[0].endswith(f"the action '{obj.animation_data.action.name}'")
    assert figures[-1].startswith("never used: " + ", ".join(map(str, unused[:3])))
    assert image.packed_file is not None  # saved with the .blend


def test_save_usage_png_writes_the_chart(scene, tmp_path):
    _choose(scene, sort="USAGE", usage_from="TRAINING")
    out = tmp_path / "usage.png"
    assert bpy.ops.motion_tokens.save_usage_png(filepath=str(out)) == {"FINISHED"}
    image = bpy.data.images.load(str(out))
    assert image.size[0] > 600 and image.size[1] > 250
    with pytest.raises(RuntimeError, match="png suffix"):
        bpy.ops.motion_tokens.save_usage_png(filepath=str(tmp_path / "usage.txt"))
    assert not (tmp_path / "usage.txt").exists()


def _scene_state():
    return (sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions),
            sorted(c.name for c in bpy.data.collections), sorted(i.name for i in bpy.data.images))


def test_refusals_leave_the_scene_unchanged(scene):
    obj = create_armature(smplx_skeleton(), "Plain")
    write_motion(obj, read_motion(BEAT2_EXCERPT).resampled(30.0))  # an action without tokens
    inspector = _choose(scene, sort="USAGE", usage_from="ACTION")
    before = _scene_state()
    with pytest.raises(RuntimeError, match="keeps no tokens"):
        bpy.ops.motion_tokens.code_usage()
    with pytest.raises(RuntimeError, match="keeps no tokens"):
        bpy.ops.motion_tokens.codebook_atlas()  # sorted by usage: usage is needed
    with pytest.raises(RuntimeError, match="part 'elbow'"):
        bpy.ops.motion_tokens.codebook_atlas(part="elbow")
    with pytest.raises(RuntimeError, match="part 'elbow'"):
        bpy.ops.motion_tokens.atlas_grid(part="elbow")
    with pytest.raises(RuntimeError, match="not installed|no bundle|not bundled|No codec|no codec"):
        bpy.ops.motion_tokens.codebook_atlas(codec="kmeans-7")
    assert _scene_state() == before and inspector.usage_image is None and inspector.usage_figures == ""
    # Tokens of another codec on the action: refused, naming it.
    store_tokens(obj.animation_data.action, ActionTokens({"body": np.zeros(10, np.int64)}, {"body": "kmeans-9"},
                                                         {}, 30.0, 1, 30.0))
    with pytest.raises(RuntimeError, match="tokens of kmeans-9, not kmeans-6"):
        bpy.ops.motion_tokens.code_usage()
    assert _scene_state() == before


class Layout:
    """Stands in for UILayout: checks the properties and operators drawn exist; keeps labels
    and the icons drawn (the histogram)."""

    def __init__(self):
        self.props, self.operators, self.labels, self.icons = [], [], [], []
        self.use_property_split = self.use_property_decorate = True

    def column(self, **kwargs):
        return self

    row = box = column

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, name
        self.props.append(name)

    def label(self, text="", **kwargs):
        self.labels.append(text)

    def operator(self, idname, **kwargs):
        category, name = idname.split(".")
        assert hasattr(bpy.types, f"{category.upper()}_OT_{name}"), idname
        self.operators.append(idname)
        return type("OperatorProperties", (), {})()

    def template_icon(self, icon_value=0, scale=1.0):
        self.icons.append(scale)


def test_the_panel_draws_the_inspector_and_its_histogram(scene):
    panel_type = bpy.types.MOTION_TOKENS_PT_inspector
    assert panel_type.bl_parent_id == "MOTION_TOKENS_PT_main"
    _choose(scene, sort="USAGE", usage_from="TRAINING")

    def draw():
        panel = type("PanelStandIn", (), {"layout": Layout()})()
        panel_type.draw(panel, bpy.context)
        return panel.layout

    layout = draw()
    assert layout.props[:4] == ["part", "level", "sort", "usage_from"] and "page" in layout.props
    assert {"motion_tokens.codebook_atlas", "motion_tokens.atlas_grid", "motion_tokens.code_usage"} <= set(
        layout.operators)
    assert layout.labels[0] == "kmeans-6-body: k=64" and not layout.icons
    assert bpy.ops.motion_tokens.code_usage() == {"FINISHED"}
    layout = draw()
    assert layout.icons and "motion_tokens.save_usage_png" in layout.operators
    assert any("perplexity" in line for line in layout.labels)
