"""The generate job: speech becomes motion tokens per part (body, hands, face) through a
generator bundle, decoded by its codecs into SMPL-X motion at 30 fps, written to a sink.

    speech (core.audio) -> features (the generator's filters) -> tokens (gen.generate_steps)
      -> motion (the codecs, core.codecs.coding) -> sink

The motion: body, hands, jaw and expressions from the tokens; the root at rest (no root
orientation or translation is generated: the character stands on the ground where it is put,
facing its own forward), betas zero, gender neutral. Sinks are files (`GeneratedFiles`: .npz with the
tokens, .bvh, .blend, .fbx) or an armature (the operator's, scene-side), handed in, so the
command line and the operator run this same code.

A sink has `check(inputs)` (before anything is read), `write_steps(generated, index)` ->
steps whose Result is an outputs.Written, and may have `discard()`, called when the job fails
or is closed part-way so that what earlier inputs wrote is removed again (the scene's
armature sink; files are written whole, atomically, and kept).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.audio import Speech, num_feature_frames, read_speech, speech_features
from ..core.codecs.coding import codebook_record, codec_label, decode_parts_steps, load_codecs
from ..core.errors import MotionTokensError, OptionError, require_file
from ..core.formats.tokens import Codebook, write_tokens_file
from ..core.generate.inference import MAX_DECODE_STEPS
from ..core.limits import check_range, check_seed
from ..core.motion import Motion
from ..core.paths import MODELS_DIR
from ..core.skeleton import smplx_skeleton
from ..core.steps import Progress, Steps, run_steps, within
from .outputs import FileSink, Written, planned_sinks

DEFAULT_GENERATOR = "gen-kmeans-10"
#: The sampling defaults of the panel, the CLI and GenerateOptions: the settings whose motion
#: comes closest to the recorded take's wrist speed and token change rate on held-out speech
#: while two seeds still differ (bench/results/speech_sampling.md, bench/speech_sampling.py).
#: Measured on gen-kmeans-10: temperature 1 changed the body token on ~50% of frames with the
#: wrists at ~4 m/s (recorded: 12%, 0.39 m/s); 0.35 gives ~15% and ~1 m/s with seeds still
#: apart; 8-12 steps come closer still but cost 2-3 times the generation time (the 50x floor).
DEFAULT_TEMPERATURE = 0.35
DEFAULT_TOP_K = 0
DEFAULT_DECODE_STEPS = 4
#: Sampling temperature: below 0.05 the softmax is argmax to float precision (use top-k 1
#: for that), above 5 the distribution is flat to within 20% and the motion noise.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 5.0
#: top-k: 0 keeps every code; no codebook offered has more than 2^12 codes per part.
MAX_TOP_K = 4096
#: Progress units per input.
_UNITS = 1000
_SPEECH_UNITS = 800  # of them the reading, generating and decoding; the rest the writing
#: The expression coefficients a written motion carries (BEAT2's `expressions` width).
EXPRESSION_WIDTH = 100


@dataclass(frozen=True)
class GenerateOptions:
    """inputs: audio file paths or core.audio.Speech (already decoded, e.g. a sound strip's);
    generator: a bundle name (models/NAME) or folder; seed, temperature, top_k, decode_steps:
    the sampling (decode_steps None: the bundle's own);
    (core.generate); pins: core.generate.Pin token ranges kept fixed (applied to every input);
    models_dir: None for the extension's models/."""

    inputs: tuple
    generator: str = DEFAULT_GENERATOR
    seed: int = 0
    temperature: float = DEFAULT_TEMPERATURE
    top_k: int = DEFAULT_TOP_K
    pins: tuple = ()
    models_dir: str | os.PathLike | None = None
    decode_steps: int | None = DEFAULT_DECODE_STEPS

    def check(self) -> None:
        """OptionError for no inputs, a seed, temperature, top-k or decode steps out of range."""
        if not self.inputs:
            raise OptionError("no speech given: name one or more audio files (or select sound strips)")
        check_seed("seed (--seed)", self.seed)
        check_range("temperature (--temperature)", self.temperature, MIN_TEMPERATURE, MAX_TEMPERATURE)
        if not isinstance(self.top_k, int) or isinstance(self.top_k, bool):
            raise OptionError(f"top-k (--top-k) must be a whole number, got {self.top_k!r}")
        check_range("top-k (--top-k)", self.top_k, 0, MAX_TOP_K, " (0: every code)")
        if self.decode_steps is not None:
            if not isinstance(self.decode_steps, int) or isinstance(self.decode_steps, bool):
                raise OptionError(f"decode steps (--decode-steps) must be a whole number, got {self.decode_steps!r}")
            check_range("decode steps (--decode-steps)", self.decode_steps, 1, MAX_DECODE_STEPS)


@dataclass
class Generated:
    """One input's result: the speech, the tokens (part -> (T,) or (T, Q) at token_fps),
    the decoded motion (30 fps, `speech_frames` frames), the codecs, and the generator."""

    speech: Speech
    tokens: dict[str, np.ndarray]
    motion: Motion
    codecs: dict
    generator: object
    generator_name: str
    seed: int
    seam_frames: tuple = ()  # motion frames where the windows met, smoothed (core/inertialization.py)

    @property
    def codec_names(self) -> dict[str, str]:
        return {part: codec.name for part, codec in self.codecs.items()}

    @property
    def codebooks(self) -> dict[str, Codebook]:
        """part -> the Codebook (weights sha256, family, size) that the tokens index."""
        return {part: codebook_record(codec) for part, codec in self.codecs.items()}

    @property
    def token_fps(self) -> float:
        return float(self.generator.token_fps)

    @property
    def generator_sha256(self) -> str:
        """The sha256 of the generator bundle's weights (its manifest's verified `files`)."""
        return str(self.generator.manifest.get("files", {}).get("weights.safetensors", ""))


@dataclass
class GenerateResult:
    """Per input its Generated, the lines saying where each went, the warnings, and the
    sink's scene-side results (one per input; None for files)."""

    generated: list[Generated]
    lines: list[str]
    warnings: list[str] = field(default_factory=list)
    targets: list = field(default_factory=list)


def resolve_generator(name: str | os.PathLike, models_dir=None) -> Path:
    """The generator bundle folder `name` names: a folder path, or models_dir/NAME;
    MotionTokensError naming the installed generators when there is none."""
    path = Path(name)
    if path.is_dir():
        return path
    models = Path(MODELS_DIR if models_dir is None else models_dir)
    folder = models / str(name)
    if folder.is_dir():
        return folder
    installed = sorted(p.name for p in models.glob("gen-*") if p.is_dir())
    offered = ", ".join(installed) if installed else "none"
    raise MotionTokensError(f"no generator bundle {str(name)!r} in {models} (installed: {offered}); "
                            "train one with `python -m motion_tokens train-generator` or pick an installed one")


#: The joints the standing height is measured to: SMPL-X's ankles and feet (the lowest joints at rest).
FOOT_JOINTS = ("left_ankle", "right_ankle", "left_foot", "right_foot")


def standing_translation(skeleton) -> np.ndarray:
    """(3,) the root translation that stands `skeleton`'s rest pose on the ground (y = 0, Y up):
    its lowest foot joint lifted from below the origin to the floor, x and z unchanged."""
    rest = skeleton.rest_positions()
    feet = [skeleton.index(name) for name in FOOT_JOINTS]
    return np.array([0.0, -rest[feet, 1].min(), 0.0])


def rest_template(num_frames: int, name: str) -> Motion:
    """SMPL-X at rest for `num_frames` frames at 30 fps, standing on the ground (the root
    raised by `standing_translation`, so the lowest foot joint is at y = 0; SMPL-X's own
    origin would put the feet about 1.2 m under a Blender floor), zero expressions: the side
    information (root, uncoded joints) the decoded parts are put on."""
    skeleton = smplx_skeleton()
    rotations = np.zeros((num_frames, skeleton.num_joints, 4))
    rotations[..., 0] = 1.0
    trans = np.broadcast_to(standing_translation(skeleton), (num_frames, 3)).copy()
    return Motion(skeleton, 30.0, rotations, trans,
                  expressions=np.zeros((num_frames, EXPRESSION_WIDTH)), betas=np.zeros(300), name=name,
                  gender="neutral")


def codec_names(generator) -> dict[str, str]:
    """part -> codec name ('kmeans-10') of the generator's codec bundles ('kmeans-10-body')."""
    return {part: name[: -len(part) - 1] if name.endswith(f"-{part}") else name
            for part, name in generator.codec_names.items()}


def _speech(source) -> Speech:
    return source if isinstance(source, Speech) else read_speech(source)


def speech_steps(speech: Speech, generator, gen_name: str, codecs: dict, options: GenerateOptions) -> Steps:
    """Steps generating one input's tokens and decoding them; Progress in seconds of speech
    (features one share, generation six, decoding one); the Generated."""
    total = 8 * max(int(round(speech.seconds * 1000)), 1)  # milliseconds x shares
    ms = total // 8
    yield Progress(0, total, f"audio features of {speech.name} ({speech.seconds:.1f} s)")
    features = speech_features(speech.samples, speech.sample_rate, fps=30.0, filters=generator.filters)
    n = num_feature_frames(len(speech.samples), speech.sample_rate, 30.0)
    sampling = generator.generate_steps(features, seed=options.seed, temperature=options.temperature,
                                        top_k=options.top_k, pins=tuple(options.pins),
                                        decode_steps=options.decode_steps)
    tokens = yield from within(_in_seconds(sampling, speech), ms, 6 * ms, total)
    template = rest_template(n, speech.name)
    decoding = decode_parts_steps(tokens, codecs, template)
    motion = yield from within(decoding, 7 * ms, ms, total)
    motion, seams = _smoothed_at_seams(motion, generator, tokens, options.pins)
    motion.name = f"{speech.name} gestures"
    return Generated(speech, tokens, motion, codecs, generator, gen_name, options.seed, seams)


def _smoothed_at_seams(motion, generator, tokens: dict, pins):
    """(the decoded motion inertialized at the generator's window seams, core/inertialization.py,
    pinned frames untouched; the seams smoothed, in motion frames)."""
    from ..core.inertialization import smoothable_seams, smoothed_at_seams

    fpl = max(1, int(round(30.0 / generator.token_fps)))
    token_frames = len(next(iter(tokens.values())))
    keep = np.zeros(motion.num_frames, bool)
    for pin in pins:
        keep[pin.start * fpl : pin.stop * fpl] = True
    seams = [b * fpl for b in generator.seams(token_frames)]
    done = smoothable_seams(seams, motion.num_frames, keep=keep)
    return smoothed_at_seams(motion, done), done


def _in_seconds(steps: Steps, speech: Speech) -> Steps:
    """The generator's Progress (token frames) said as seconds of speech done."""
    try:
        while True:
            p = next(steps)
            done = speech.seconds * p.done / max(p.total, 1)
            yield Progress(p.done, p.total, f"{speech.name}: {done:.1f} of {speech.seconds:.1f} s of speech")
    except StopIteration as stop:
        return stop.value
    finally:
        steps.close()


def generate_steps(options: GenerateOptions, sink) -> Steps:
    """The generate job as steps (core.steps): options and sink checked, the generator and its
    codecs loaded (verified), then for each input: read, generate, decode, write. Progress:
    each input an equal share, within it by seconds of speech. Any
    MotionTokensError, or closing the steps part-way, calls the sink's `discard()` so nothing
    half-made is left; the GenerateResult."""
    options.check()
    for source in options.inputs:  # every file there before any is read or written
        if not isinstance(source, Speech):
            require_file(source)
    sink.check(list(options.inputs))
    folder = resolve_generator(options.generator, options.models_dir)
    from ..core.generate.inference import cached_generator  # onnxruntime or numpy (no torch)
    total = _UNITS * len(options.inputs)
    yield Progress(0, total, f"loading the generator {folder.name}")
    generator = cached_generator(folder, options.models_dir)
    codecs = load_codecs(codec_names(generator), options.models_dir)
    result = GenerateResult([], [])
    try:
        for i, source in enumerate(options.inputs):
            yield Progress(_UNITS * i, total, f"reading {getattr(source, 'name', None) or Path(source).name}")
            speech = _speech(source)
            made = yield from within(speech_steps(speech, generator, folder.name, codecs, options),
                                     _UNITS * i, _SPEECH_UNITS, total)
            written = yield from within(sink.write_steps(made, i), _UNITS * i + _SPEECH_UNITS,
                                        _UNITS - _SPEECH_UNITS, total)
            result.generated.append(made)
            result.lines.extend(written.lines)
            result.warnings.extend(written.warnings)
            result.targets.append(written.target)
    except BaseException:  # an error or GeneratorExit (Esc): remove what earlier inputs made
        discard = getattr(sink, "discard", None)
        if discard is not None:
            discard()
        raise
    return result


@dataclass
class GeneratedFiles:
    """The file sink: one output per input. `out` is the file for a single input (its
    suffix picks the format) or, for several (or when it is an existing folder), the folder
    they go in, each named after its input with `suffix`. .npz holds the BEAT2 layout plus
    the tokens (core.formats.tokens); .bvh, .blend, .fbx the motion on `rig` (outputs.FileSink;
    write_scene writes .blend/.fbx); keep_tokens(path, generated), when given, puts the tokens
    on the saved .blend's action (the CLI's: scene.tokens_prop)."""

    out: Path
    rig: str = "smplx"
    suffix: str | None = None
    write_scene: object = None
    keep_tokens: object = None
    sinks: list[FileSink] = field(default_factory=list, init=False)

    def check(self, inputs) -> None:
        """Decide each input's output path and refuse (OutputError) an unknown suffix or rig,
        an output that is an input, a missing folder, or two inputs writing one file. `inputs`:
        the job's paths and Speech."""
        files = [s for s in inputs if not isinstance(s, Speech)]
        self.out = Path(self.out)
        self.sinks = planned_sinks(self.out, [_stem(s) for s in inputs], files, self.suffix, self.rig,
                                   self.write_scene)

    def write_steps(self, made: Generated, index: int) -> Steps:
        """Write input `index`'s motion (and with .npz its tokens); the Written."""
        sink = self.sinks[index]
        path = sink.path
        yield Progress(0, 1, f"writing {path.name}")
        if path.suffix.lower() == ".npz":
            write_tokens_file(path, made.motion, made.tokens, made.codec_names, made.token_fps, made.codebooks,
                              seam_frames=made.seam_frames)
            lines = [f"{path}: {made.motion.num_frames} frames at 30 fps and their tokens "
                     f"({codec_label(made.codec_names)}, seed {made.seed}) for {made.speech.seconds:.2f} s of "
                     f"{made.speech.name}"]
            return Written(lines)
        written = sink.write(made.motion)
        if path.suffix.lower() == ".blend" and self.keep_tokens is not None:
            self.keep_tokens(path, made)
        return written


def _stem(source) -> str:
    """The name an input's output is given: a file's stem, a Speech's name."""
    return source.name if isinstance(source, Speech) else Path(source).stem


def generate(options: GenerateOptions, sink) -> GenerateResult:
    """`generate_steps` run to the end; the GenerateResult."""
    return run_steps(generate_steps(options, sink))
