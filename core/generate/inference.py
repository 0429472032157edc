"""Generating token streams from speech features, without torch.

    gen = load_generator("gen-kmeans-10")            # models/gen-kmeans-10, hashes verified
    tokens = gen.generate(features, seed=0)          # features (T, C) at 30 fps
    tokens["body"]                                   # (T_tok,) or (T_tok, Q) int64 at gen.token_fps

`generate_steps` is the same job as steps (core.steps): a Progress per batch of windows
(windows.py), the tokens as its result; closing it cancels. Pins keep token frames exactly
as given and the generator fills the rest around them. Same seed -> the same tokens bit for
bit (each window's random stream is seeded by (seed, window index), sampling.py); the
network runs on onnxruntime from the bundle's network.onnx where both are there
(onnx_network.py), else in numpy (numpy_model.py), unless another `forward` is handed in (the
tests hand in the torch model's).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..codecs.bundle import MANIFEST, WEIGHTS, Bundle, load_bundle
from ..errors import BundleError, MotionTokensError
from ..limits import check_seed
from ..paths import MODELS_DIR
from ..steps import Progress, Steps, run_steps
from .bundle import check_codec_bundles, check_generator_manifest, split_tensors
from .config import GeneratorConfig
from .numpy_model import NumpyGestureTransformer
from .onnx_network import ONNX_FILE, OnnxGestureTransformer, onnxruntime_available
from .sampling import Forward, masked_decode
from .windows import batches, plan_windows

#: Windows run through the network at once: bounds memory whatever the input's length (the
#: largest arrays are the logits, 32 x 64 frames x 1024 codes x 4 bytes = 8 MB per part and level).
BATCH_WINDOWS = 32
#: Masked-decoding iterations a caller may ask for: more than a window's 64 frames do nothing more.
MAX_DECODE_STEPS = 64


@dataclass(frozen=True)
class Pin:
    """Token frames [start, stop) kept fixed: part None pins every part; tokens maps each
    pinned part to its (stop - start,) or (stop - start, Q) tokens, as the codec gives them."""

    part: str | None
    start: int
    stop: int
    tokens: dict = field(default_factory=dict)


def pool_audio(features: np.ndarray, per_token: int) -> np.ndarray:
    """(T, C) feature frames -> (ceil(T / per_token), C): the mean of each token frame's
    feature frames (the last padded by repeating the final frame)."""
    if per_token == 1:
        return features
    n = -(-len(features) // per_token)
    padded = np.pad(features, ((0, n * per_token - len(features)), (0, 0)), mode="edge")
    return padded.reshape(n, per_token, -1).mean(axis=1)


class Generator:
    """A generator bundle ready to run: config, codec names, audio filters, the network.

    manifest, tensors: the bundle's; folder: where it was loaded from (None in memory);
    forward: the network to run (default the numpy one built from the tensors).
    """

    def __init__(self, manifest: dict, tensors: dict, folder: Path | None = None, forward: Forward | None = None):
        self.manifest = manifest
        self.folder = folder
        self.config = GeneratorConfig.from_dict(manifest["model_config"])
        self.model_tensors, self._audio_tensors = split_tensors(tensors)
        self.forward = forward if forward is not None else self._default_forward()

    def _default_forward(self) -> Forward:
        """onnxruntime on the bundle's network.onnx where both are there (onnx_network.py: the
        faster), else the numpy network."""
        onnx = self.folder / ONNX_FILE if self.folder is not None else None
        if onnx is not None and ONNX_FILE in self.manifest.get("files", {}) and onnxruntime_available():
            return OnnxGestureTransformer(self.config, onnx)
        return NumpyGestureTransformer(self.config, self.model_tensors)

    @property
    def runtime(self) -> str:
        """What runs the network: 'onnxruntime', 'numpy', or the class of a forward handed in."""
        return getattr(self.forward, "runtime", type(self.forward).__name__)

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def parts(self) -> tuple[str, ...]:
        return self.config.parts

    @property
    def codec_names(self) -> dict[str, str]:
        """part -> codec bundle name ('kmeans-10-body')."""
        return {p: self.manifest["codecs"][p]["name"] for p in self.parts}

    @property
    def token_fps(self) -> float:
        return float(self.manifest["token_fps"])

    @property
    def filters(self):
        """The AudioFilters stored in the bundle (core.audio), to compute features with."""
        from ..audio import AudioFilters

        return AudioFilters.from_tensors(self._audio_tensors)

    def _token_frames(self, part: str, tokens) -> np.ndarray:
        """(T, Q) int64 of a part's tokens given as the codec gives them."""
        t = np.asarray(tokens)
        return t[:, None] if t.ndim == 1 else t

    def _as_codec_tokens(self, part: str, tokens: np.ndarray) -> np.ndarray:
        return tokens[:, 0] if self.manifest["codecs"][part]["family"] == "kmeans" else tokens

    def check_features(self, features) -> np.ndarray:
        """(T, C) finite float32 features; MotionTokensError saying what is wrong."""
        f = np.asarray(features, dtype=np.float32)
        C = self.config.audio_dims
        if f.ndim != 2 or f.shape[1] != C or len(f) == 0:
            raise MotionTokensError(f"generator {self.name} takes (T, {C}) speech features with T >= 1, got {f.shape}")
        if not np.isfinite(f).all():
            raise MotionTokensError(f"generator {self.name}: the speech features hold non-finite values")
        return f

    def _pin_arrays(self, pins, frames: int) -> tuple[dict, dict]:
        """part -> (frames, Q) tokens and (frames,) known mask of the pins; MotionTokensError
        for a pin outside the frames, of another part, or with tokens of the wrong shape or range."""
        cfg = self.config
        tokens = {p: np.zeros((frames, q), np.int64) for p, q in zip(cfg.parts, cfg.levels)}
        known = {p: np.zeros(frames, bool) for p in cfg.parts}
        for pin in pins:
            if not (0 <= pin.start < pin.stop <= frames):
                raise MotionTokensError(f"pin [{pin.start}, {pin.stop}) lies outside the {frames} token frames")
            parts = cfg.parts if pin.part is None else (pin.part,)
            for p in parts:
                if p not in cfg.parts:
                    raise MotionTokensError(f"pin of part {p!r}: generator {self.name} has {', '.join(cfg.parts)}")
                if p not in pin.tokens:
                    raise MotionTokensError(f"pin [{pin.start}, {pin.stop}) gives no tokens for the {p}")
                t = self._token_frames(p, pin.tokens[p])
                i = cfg.parts.index(p)
                if t.shape != (pin.stop - pin.start, cfg.levels[i]) or t.dtype.kind not in "iu":
                    raise MotionTokensError(f"pin tokens of the {p} are {t.shape} {t.dtype}, expected "
                                            f"{pin.stop - pin.start} frames of {cfg.levels[i]} integer codes")
                if t.size and (t.min() < 0 or t.max() >= cfg.vocab[i]):
                    raise MotionTokensError(f"pin tokens of the {p} lie outside [0, {cfg.vocab[i]})")
                tokens[p][pin.start : pin.stop] = t
                known[p][pin.start : pin.stop] = True
        return tokens, known

    def generate_steps(self, features, seed: int = 0, temperature: float = 1.0, top_k: int = 0, pins=(),
                       batch: int = BATCH_WINDOWS, decode_steps: int | None = None) -> Steps:
        """Steps generating the tokens of `features` (T, C) at 30 fps; returns part -> tokens
        ((T_tok,) or (T_tok, Q) int64, T_tok = ceil(T / audio_frames_per_token)). decode_steps:
        masked-decoding iterations per window (None: the bundle's model_config.decode_steps).
        Raises MotionTokensError/OptionError for bad features, seed, temperature, top_k, decode_steps or pins."""
        cfg = self.config
        audio = pool_audio(self.check_features(features), cfg.audio_frames_per_token)
        check_seed("seed", seed)
        if not (isinstance(temperature, (int, float)) and 0 <= temperature <= 100):
            raise MotionTokensError(f"temperature must be from 0 to 100, got {temperature!r}")
        if not (isinstance(top_k, int) and top_k >= 0):
            raise MotionTokensError(f"top_k must be a whole number >= 0 (0: all codes), got {top_k!r}")
        steps = cfg.decode_steps if decode_steps is None else decode_steps
        if not (isinstance(steps, int) and not isinstance(steps, bool) and 1 <= steps <= MAX_DECODE_STEPS):
            raise MotionTokensError(f"decode_steps must be a whole number from 1 to {MAX_DECODE_STEPS}, got {steps!r}")
        frames = len(audio)
        plan = plan_windows(frames, cfg.window, cfg.overlap)
        pad = plan.padded - frames
        audio = np.pad(audio, ((0, pad), (0, 0)), mode="edge")
        tokens, known = self._pin_arrays(pins, frames)
        tokens = {p: np.pad(t, ((0, pad), (0, 0))) for p, t in tokens.items()}
        known = {p: np.pad(k, (0, pad)) for p, k in known.items()}
        mask_ids = {p: cfg.mask_id(p) for p in cfg.parts}
        L, done = plan.length, 0
        for indices in (i for group in plan.passes for i in batches(group, batch)):
            yield Progress(min(done, frames), frames, f"generating gestures, windows {indices[0] + 1}-"
                           f"{indices[-1] + 1} of {len(plan.starts)}")
            rows = np.asarray([plan.starts[i] for i in indices])[:, None] + np.arange(L)  # (B, L) frames
            out = masked_decode(
                self.forward, cfg.parts, mask_ids, {p: tokens[p][rows] for p in cfg.parts},
                {p: known[p][rows] for p in cfg.parts}, audio[rows], np.ones(len(indices), bool),
                [np.random.default_rng([seed, i]) for i in indices], steps, float(temperature), top_k)
            for p in cfg.parts:  # the windows of one pass share no frame, so they are written at once
                tokens[p][rows] = out[p]
                known[p][rows] = True
            done += len(indices) * (L - cfg.overlap)
        return {p: self._as_codec_tokens(p, tokens[p][:frames]) for p in cfg.parts}

    def seams(self, token_frames: int) -> tuple[int, ...]:
        """The token frames where a fill window's own frames begin or end (windows.py) for an
        input of `token_frames`: where core.inertialization smooths the decoded motion."""
        cfg = self.config
        plan = plan_windows(token_frames, cfg.window, cfg.overlap)
        return tuple(b for i in plan.passes[1] for b in (plan.starts[i] + cfg.overlap, plan.starts[i] + cfg.window - cfg.overlap)
                     if b < token_frames)

    def generate(self, features, seed: int = 0, temperature: float = 1.0, top_k: int = 0, pins=(),
                 decode_steps: int | None = None) -> dict:
        """`generate_steps` run to the end: part -> tokens."""
        return run_steps(self.generate_steps(features, seed, temperature, top_k, pins, decode_steps=decode_steps))


def generator_folder(name_or_folder: str | os.PathLike, models_dir: str | os.PathLike | None = None) -> Path:
    """A folder path as given when it is a folder, else `models_dir/name` (default MODELS_DIR)."""
    path = Path(name_or_folder)
    if path.is_dir() and (path / MANIFEST).is_file():
        return path
    return Path(MODELS_DIR if models_dir is None else models_dir) / str(name_or_folder)


def load_generator(name_or_folder: str | os.PathLike, models_dir: str | os.PathLike | None = None,
                   check_codecs: bool = True) -> Generator:
    """The generator bundle `name_or_folder` (a folder, or a name under `models_dir`), its
    hashes verified and, with check_codecs, its codec bundles installed in `models_dir`
    (default MODELS_DIR) with the weights it was trained with. Raises BundleError naming the file and the problem."""
    folder = generator_folder(name_or_folder, models_dir)
    bundle: Bundle = load_bundle(folder)
    check_generator_manifest(bundle)
    if check_codecs:
        check_codec_bundles(bundle, Path(MODELS_DIR if models_dir is None else models_dir))
    try:
        return Generator(bundle.manifest, bundle.tensors(), folder)
    except (KeyError, ValueError) as exc:
        raise BundleError(folder / WEIGHTS, f"does not fit the manifest's model_config ({exc}); "
                          "retrain the generator") from None


_LOADED: dict = {}  # (folder, models_dir) -> (files' signature, Generator)


def _signature(folders) -> tuple:
    """(path, size, mtime) of every file in `folders`: changes whenever a bundle is rewritten."""
    out = []
    for folder in folders:
        if folder.is_dir():
            out += [(str(f), st.st_size, st.st_mtime_ns) for f in sorted(folder.iterdir()) if f.is_file()
                    for st in (f.stat(),)]
    return tuple(out)


def cached_generator(name_or_folder: str | os.PathLike, models_dir: str | os.PathLike | None = None) -> Generator:
    """load_generator's Generator, loaded once per process (hashes, onnxruntime session) and
    again whenever a file of the bundle or of its codec bundles changed size or time: the
    operator and `generate` ask for the same bundle on every input, and verifying its 16 MB of
    weights and network each time was most of a 10 s input's wall time."""
    import json

    folder = generator_folder(name_or_folder, models_dir)
    models = Path(MODELS_DIR if models_dir is None else models_dir)
    try:
        codecs = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("codecs", {})
        names = [models / entry["name"] for entry in codecs.values()]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return load_generator(folder, models_dir)  # the loader names what is wrong
    key, signature = (str(folder.resolve()), str(models.resolve())), _signature([folder, *names])
    hit = _LOADED.get(key)
    if hit is not None and hit[0] == signature:
        return hit[1]
    generator = load_generator(folder, models_dir)
    _LOADED.clear()  # one bundle at a time: a session switching generators reloads, memory stays bounded
    _LOADED[key] = (signature, generator)
    return generator
