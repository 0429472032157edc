"""The scene settings (`scene.motion_tokens`) and the property mixins they share with the
operators: each property is declared once, here, and an operator invoked from the panel
copies the settings with `copy_properties`.

The Codec settings offer only bitrates with a bundle in models/: the bundles are listed once
(`CATALOGUE`, refreshed on registering), and the enum items are read from that list.
"""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from ..core.codecs.features import PARTS
from ..core.codecs.registry import FAMILY_CLASSES, CodecInfo, codec_listing
from ..core.limits import MAX_SEED
from ..core.paths import MODELS_DIR
from ..pipelines.generate import DEFAULT_TEMPERATURE, DEFAULT_TOP_K, MAX_TEMPERATURE, MAX_TOP_K, MIN_TEMPERATURE
from .sign_settings import MotionTokensSignSettings  # registered before this module (__init__)
from .token_settings import MotionTokensTokenSettings  # registered before this module (__init__)

#: Where an import puts the motion (scene.rig's targets, plus the active armature).
TARGET_ITEMS = (
    ("NEW", "New SMPL-X Armature", "Create a new SMPL-X armature for the motion"),
    ("NEW_METAHUMAN", "New MetaHuman-Compatible Armature",
     "Create an armature with the MetaHuman (UE5) body bone names in an A-pose and retarget the motion onto it"),
    ("ACTIVE", "Active Armature",
     "Key the motion onto the active armature: an SMPL-X armature as it is, any other retargeted through its "
     "bone map (detected from the bone names, or the Bone Map file)"),
    ("ARMATURE", "Target Armature",
     "Key the motion onto the armature chosen as Target Armature, retargeted through its bone map unless it is "
     "an SMPL-X armature"),
)
FAMILY_ITEMS = tuple((name, cls.family_label, cls.family_description) for name, cls in FAMILY_CLASSES.items())
_NO_BITS = (("NONE", "None Bundled", "No codec of this family is bundled for this part", 0),)


class _Catalogue:
    """The bundled codecs, by (family, part) then bits per frame, and the enum items offered
    for each (kept here: Blender needs the item strings to outlive the items callback)."""

    def __init__(self):
        self.codecs: dict[tuple[str, str], dict[int, CodecInfo]] = {}
        self.items: dict[tuple[str, str], tuple] = {}
        self.error = ""

    def refresh(self, models_dir=None) -> None:
        """List the bundles in `models_dir` (default the shipped models/)."""
        self.codecs, self.items, self.error = {}, {}, ""
        infos, damaged = codec_listing(models_dir)
        if damaged:  # say which bundles are damaged; the others stay offered
            self.error = f"{len(damaged)} codec bundle(s) cannot be used: " + "; ".join(map(str, damaged))
        for info in infos:
            self.codecs.setdefault((info.family, info.part), {})[round(info.bits_per_frame)] = info
        for key, by_bits in self.codecs.items():
            self.items[key] = tuple(
                (str(bits), f"{bits} bits", f"{info.name}-{info.part}: {info.size}, {info.bits_per_second:g} bits/s", bits)
                for bits, info in sorted(by_bits.items())
            )

    def info(self, family: str, part: str, bits: str) -> CodecInfo | None:
        """The bundle of `family` at `bits` for `part`; None when there is none."""
        return self.codecs.get((family, part), {}).get(int(bits)) if bits.isdigit() else None


CATALOGUE = _Catalogue()


def _bits_items(part: str):
    def items(settings, context):
        return CATALOGUE.items.get((settings.family, part), _NO_BITS)

    return items


def _family_changed(settings, context) -> None:
    """Keep each part's bits valid: where the new family lacks them, take its lowest."""
    for part in PARTS:
        offered = CATALOGUE.items.get((settings.family, part))
        if offered and CATALOGUE.info(settings.family, part, getattr(settings, f"{part}_bits")) is None:
            setattr(settings, f"{part}_bits", offered[0][0])


class MotionTokensCodecSettings(bpy.types.PropertyGroup):
    """The codec choice (`scene.motion_tokens.codec`): family and bits per frame per part."""

    family: EnumProperty(name="Family", items=FAMILY_ITEMS, default="kmeans", update=_family_changed)
    body_bits: EnumProperty(
        name="Body", items=_bits_items("body"), default=6,
        description="Bits per frame for the body (joints 1-21); only bundled codecs are offered",
    )
    hands_bits: EnumProperty(
        name="Hands", items=_bits_items("hands"), default=6,
        description="Bits per frame for the hands (joints 25-54); only bundled codecs are offered",
    )
    face_bits: EnumProperty(
        name="Face", items=_bits_items("face"), default=6,
        description="Bits per frame for the face (jaw and the leading expression coefficients); only bundled "
        "codecs are offered",
    )


def codecs_from_settings(codec_settings) -> dict[str, str]:
    """part -> codec name chosen in the Codec settings (scene.motion_tokens.codec): its
    family and each part's bits per frame; a part whose bits are not set is left out."""
    out = {}
    for part in PARTS:
        bits = getattr(codec_settings, f"{part}_bits")
        if bits.isdigit():
            out[part] = f"{codec_settings.family}-{bits}"
    return out


#: The generator bundles offered (models/gen-*), listed on registering; the enum items.
GENERATOR_ITEMS: list[tuple] = []
_NO_GENERATOR = (("NONE", "None Bundled", "No generator bundle is installed in models/"),)
PIN_ITEMS = (
    ("NONE", "None", "New Variation regenerates every frame"),
    ("PREVIEW", "Preview Range", "Keep the tokens of the scene's preview range when regenerating"),
    ("FRAMES", "Frames", "Keep the tokens of the frames Pin Start to Pin End when regenerating"),
)


def refresh_generators(models_dir=None) -> None:
    """List the generator bundle folders (models/gen-*) for the Generator enum."""
    from pathlib import Path

    folder = Path(MODELS_DIR if models_dir is None else models_dir)
    names = sorted(p.name for p in folder.glob("gen-*") if (p / "manifest.json").is_file())
    GENERATOR_ITEMS[:] = [(n, n, f"Generator bundle models/{n}") for n in names]


def _generator_items(settings, context):
    return GENERATOR_ITEMS or _NO_GENERATOR


class MotionTokensSpeechSettings(bpy.types.PropertyGroup):
    """The Speech section (`scene.motion_tokens.speech`): generator and sampling, the pinned range."""

    generator: EnumProperty(name="Generator", items=_generator_items,
                            description="Generator bundle: speech to body, hand and face tokens of its codec")
    temperature: FloatProperty(name="Temperature", default=DEFAULT_TEMPERATURE,
                               min=MIN_TEMPERATURE, max=MAX_TEMPERATURE,
                               description="Sampling temperature: lower is steadier, higher more varied")
    top_k: IntProperty(name="Top-k", default=DEFAULT_TOP_K, min=0, max=MAX_TOP_K,
                       description="Sample from the k likeliest codes only (0: every code)")
    seed: IntProperty(name="Seed", default=0, min=0, max=min(MAX_SEED, 2**31 - 1),
                      description="Random seed: the same seed gives the same motion, another seed another one")
    pin: EnumProperty(name="Pin Range", items=PIN_ITEMS, default="NONE",
                      description="Frames whose tokens New Variation keeps as they are")
    pin_start: IntProperty(name="Pin Start", default=1, description="First frame pinned")
    pin_end: IntProperty(name="Pin End", default=30, description="Last frame pinned")


class MotionFileProperties:
    """Mixin: the motion file an import reads or an export writes (the file browser's)."""

    filepath: StringProperty(name="File Path", subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.npz;*.bvh", options={"HIDDEN"})


class ModelProperties:
    """Mixin: the SMPL-X model folder (import, export and quantize read it)."""

    smplx_model_folder: StringProperty(
        name="SMPL-X Model", subtype="DIR_PATH",
        description="Optional folder holding your licensed SMPLX_NEUTRAL.npz: exact joints for "
        "new armatures and exports instead of the approximate ones",
    )


class ImportProperties(ModelProperties):
    """Mixin: where and from which frame an import keys the motion."""

    target: EnumProperty(name="Target", items=TARGET_ITEMS, default="NEW")
    use_current_frame: BoolProperty(
        name="Start at Current Frame", default=True,
        description="Start imported actions at the scene's current frame instead of Start Frame",
    )
    frame_start: IntProperty(name="Start Frame", default=1, description="First frame of imported actions")
    bone_map_file: StringProperty(
        name="Bone Map", subtype="FILE_PATH",
        description="Optional bone map file (JSON: rig bone -> SMPL-X joint) for retargeting onto an armature; "
        "empty: detected from the bone names (MetaHuman, Mixamo, Rigify, SMPL-X)",
    )


def mixin_properties(mixin: type) -> list[str]:
    """The names of the properties `mixin` and its bases declare, bases first."""
    return [name for cls in reversed(mixin.__mro__) for name in vars(cls).get("__annotations__", {})]


def copy_properties(source, target, mixin: type) -> None:
    """Set each property of `mixin` on `target` to its value on `source` (the scene settings
    onto an operator when the panel invokes it)."""
    for name in mixin_properties(mixin):
        setattr(target, name, getattr(source, name))


#: The Inspector's choices (panels.inspect): how codes are ordered, where usage is counted.
INSPECT_SORT_ITEMS = (
    ("USAGE", "Usage", "Most used code first (usage counted where Usage From says)"),
    ("ID", "Id", "Code 0 first"),
)
USAGE_FROM_ITEMS = (
    ("TRAINING", "Training Data", "The usage the codec bundle recorded on its training frames"),
    ("ACTION", "Active Action", "The tokens the active armature's action keeps (made or quantized by Motion Tokens)"),
)
_ALL_LEVELS = ("ALL", "All Levels", "k-means: its codes. RQ-VAE: level-0 codes as real token tuples (the other "
               "levels the encoder's tokens for the code alone), decoded in the decoder's steady state", 0)
_LEVEL_ITEMS: dict[int, tuple] = {}


def _inspect_codec(settings, context) -> CodecInfo | None:
    """The Codec panel's bundle for the Inspector's part; None when none is chosen."""
    codec = context.scene.motion_tokens.codec if context is not None and context.scene is not None else None
    if codec is None:
        return None
    return CATALOGUE.info(codec.family, settings.part, getattr(codec, f"{settings.part}_bits"))


def _level_items(settings, context):
    """All Levels, then each level of an RQ-VAE codec alone (its Q from the size 'D=8 x Q=3')."""
    info = _inspect_codec(settings, context)
    q = int(info.size.rsplit("Q=", 1)[1]) if info is not None and "Q=" in info.size else 0
    if q not in _LEVEL_ITEMS:  # kept: Blender needs the item strings to outlive the callback
        _LEVEL_ITEMS[q] = (_ALL_LEVELS,) + tuple(
            (str(level), f"Level {level}", f"Level {level}'s codes alone (the other levels zero), decoded in the "
             "decoder's steady state", level + 1) for level in range(q))
    return _LEVEL_ITEMS[q]


class MotionTokensInspectorSettings(bpy.types.PropertyGroup):
    """The Inspector section (`scene.motion_tokens.inspector`): which codebook, its order and
    page, and the last usage counted (the histogram image and its figures)."""

    part: EnumProperty(name="Part", items=tuple((p, p.capitalize(), f"The Codec panel's {p} codec") for p in PARTS),
                       default="body", description="Whose codebook to inspect (the Codec panel's codec for it)")
    level: EnumProperty(name="Level", items=_level_items, default=0,
                        description="RQ-VAE: every level as token tuples, or one level's codes alone")
    sort: EnumProperty(name="Sort", items=INSPECT_SORT_ITEMS, default="USAGE", description="Order of the codes")
    usage_from: EnumProperty(name="Usage From", items=USAGE_FROM_ITEMS, default="TRAINING",
                             description="Where code usage is counted")
    page: IntProperty(name="Page", default=0, min=0, description="Page of 64 codes the atlas grid shows (from 0)")
    usage_image: PointerProperty(type=bpy.types.Image, name="Usage Histogram",
                                 description="The histogram Code Usage drew")
    usage_figures: StringProperty(name="Usage Figures", description="The figures Code Usage found, one a line")


class MotionTokensSettings(ImportProperties, bpy.types.PropertyGroup):
    """Settings of the Motion Tokens panel, one per scene (`scene.motion_tokens`)."""

    codec: PointerProperty(type=MotionTokensCodecSettings, name="Codec", description="Codec family and bitrates")
    speech: PointerProperty(type=MotionTokensSpeechSettings, name="Speech", description="Speech to gestures")
    tokens: PointerProperty(type=MotionTokensTokenSettings, name="Tokens",
                            description="Token timeline, Solo Code and Edit by Tokens")
    inspector: PointerProperty(type=MotionTokensInspectorSettings, name="Inspector",
                               description="Codebook atlas and code usage")
    signs: PointerProperty(type=MotionTokensSignSettings, name="Signs",
                           description="Spot Signs: the lexicon, the matching and what it adds to the scene")
    target_armature: PointerProperty(
        type=bpy.types.Object, name="Target Armature", poll=lambda self, obj: obj.type == "ARMATURE",
        description="The armature that the Target Armature choice writes motion onto (SMPL-X, MetaHuman, "
        "Mixamo, Rigify, or your own through a bone map)",
    )
    capture_mirrored: BoolProperty(
        name="Mirrored Video", default=False,
        description="Motion from Video: the videos are mirror images (a selfie camera), the person's left on the left",
    )


# The codec, speech and inspector settings first: MotionTokensSettings points to them.
CLASSES = (MotionTokensCodecSettings, MotionTokensSpeechSettings, MotionTokensInspectorSettings,
           MotionTokensSettings)


def register():
    CATALOGUE.refresh()
    refresh_generators()
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.motion_tokens = PointerProperty(type=MotionTokensSettings)


def unregister():
    del bpy.types.Scene.motion_tokens
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
