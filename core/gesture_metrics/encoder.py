"""The motion feature encoder FGD is measured with: a small 1-D convolutional autoencoder
over windows of SMPL-X local rotations, run in numpy (no torch) from its bundle.

Input: WINDOW (32) frames at 30 fps of the 6D local rotations of body joints 1-21 and hand
joints 25-54 (poses.encoder_input: 51 joints x 6 = 306 values a frame), normalised by the
training frames' per-value mean and standard deviation (stored in the bundle). The encoder:

    conv k3 s1 (306 -> H), LeakyReLU(0.2)
    conv k4 s2 p1 (H -> H), LeakyReLU(0.2)       32 -> 16 frames
    conv k4 s2 p1 (H -> L)                        16 -> 8 frames: the latent

so a window gives 8 latent frames of L values (each about 4 frames of motion, seeing 14);
the features FGD compares are those latent frames, one sample each (EMAGE's FGD also takes
per-latent-frame features of its motion VAE). The decoder (training only, encoder_training)
mirrors it with transposed convolutions. Tensor names: `mean`, `std`, `conv{1,2,3}.weight`
(out, in, k) and `.bias`; the window, strides and widths are in the manifest's model_config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..codecs.bundle import Bundle, load_bundle
from ..errors import BundleError, MotionTokensError
from ..motion import Motion
from ..paths import MODELS_DIR
from .poses import ENCODER_JOINTS, encoder_input

WINDOW = 32
NAME = "motion-encoder"
KIND = "feature-encoder"
FAMILY = "conv1d-autoencoder"
NUM_INPUTS = 6 * len(ENCODER_JOINTS)
_LEAK = 0.2
#: (name, kernel, stride, padding, activation) of the encoder's layers, in order.
LAYERS = (("conv1", 3, 1, 1, True), ("conv2", 4, 2, 1, True), ("conv3", 4, 2, 1, False))


def default_folder() -> Path:
    """models/motion-encoder in the extension."""
    return MODELS_DIR / NAME


def windows(x, window: int = WINDOW, stride: int = WINDOW) -> np.ndarray:
    """(N, window, F) windows of (T, F) frames every `stride` frames (a tail shorter than a
    window is dropped, as EMAGE's FGD drops it); N = 0 when T < window."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise MotionTokensError(f"encoder windows are cut from (T, F) frames, got shape {x.shape}")
    if len(x) < window:
        return np.zeros((0, window, x.shape[1]), dtype=x.dtype)
    return np.lib.stride_tricks.sliding_window_view(x, window, axis=0)[::stride].transpose(0, 2, 1)


def conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """torch.nn.functional.conv1d in numpy: x (N, C, W), weight (O, C, K) -> (N, O, W')."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    cols = np.lib.stride_tricks.sliding_window_view(xp, weight.shape[2], axis=2)[:, :, ::stride]  # (N, C, W', K)
    return np.einsum("ncwk,ock->now", cols, weight, optimize=True) + bias[None, :, None]


@dataclass(frozen=True)
class MotionEncoder:
    """The numpy encoder of a verified bundle; `tensors` hold float32 arrays (module docstring)."""

    tensors: dict[str, np.ndarray]
    bundle: Bundle | None = None

    @property
    def latent_width(self) -> int:
        return int(self.tensors["conv3.weight"].shape[0])

    def encode_windows(self, batch) -> np.ndarray:
        """(N, WINDOW, F) raw 6D frames -> (N, WINDOW // 4, L) float32 latent frames."""
        x = (np.asarray(batch, dtype=np.float32) - self.tensors["mean"]) / self.tensors["std"]
        h = x.transpose(0, 2, 1)
        for name, _k, stride, padding, act in LAYERS:
            h = conv1d(h, self.tensors[f"{name}.weight"], self.tensors[f"{name}.bias"], stride, padding)
            if act:
                h = np.where(h > 0, h, _LEAK * h)
        return h.transpose(0, 2, 1).astype(np.float32)

    def features(self, frames, stride: int = WINDOW) -> np.ndarray:
        """(M, L) features of (T, F) encoder-input frames: every latent frame of the windows
        cut every `stride` frames; M = 0 for fewer than WINDOW frames."""
        w = windows(frames, WINDOW, stride)
        if not len(w):
            return np.zeros((0, self.latent_width), dtype=np.float32)
        return self.encode_windows(w).reshape(-1, self.latent_width)

    def motion_features(self, motions, stride: int = WINDOW) -> np.ndarray:
        """(M, L) features of 30 fps SMPL-X motions, pooled."""
        parts = [self.features(encoder_input(m), stride) for m in motions]
        return np.concatenate(parts, axis=0) if parts else np.zeros((0, self.latent_width), np.float32)


def check_encoder_tensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """BundleError naming `path` unless the tensors have the names and shapes a motion
    encoder needs."""
    need = ["mean", "std"] + [f"{n}.{p}" for n, *_ in LAYERS for p in ("weight", "bias")]
    missing = [n for n in need if n not in tensors]
    if missing:
        raise BundleError(path, f"lacks the tensors {', '.join(missing)}: not a motion-encoder bundle")
    width = NUM_INPUTS
    for name, k, *_ in LAYERS:
        w, b = tensors[f"{name}.weight"], tensors[f"{name}.bias"]
        if w.ndim != 3 or w.shape[1:] != (width, k) or b.shape != (w.shape[0],):
            raise BundleError(path, f"tensor {name}.weight is {w.shape}, {name}.bias {b.shape}: expected (O, {width}, "
                                    f"{k}) and (O,)")
        width = w.shape[0]
    if tensors["mean"].shape != (NUM_INPUTS,) or tensors["std"].shape != (NUM_INPUTS,) or (tensors["std"] <= 0).any():
        raise BundleError(path, f"mean and std must be ({NUM_INPUTS},) with std > 0")


def load_motion_encoder(folder: str | os.PathLike | None = None) -> MotionEncoder:
    """The verified encoder bundle at `folder` (default models/motion-encoder); BundleError
    for a missing, damaged or other kind of bundle."""
    bundle = load_bundle(default_folder() if folder is None else folder)
    if bundle.kind != KIND:
        raise BundleError(bundle.folder, f"is a {bundle.kind} bundle, not a {KIND}")
    config = bundle.manifest.get("model_config", {})
    if config.get("window") != WINDOW:
        raise BundleError(bundle.folder, f"model_config.window is {config.get('window')!r}; this code reads {WINDOW}")
    tensors = {k: np.asarray(v, dtype=np.float32) for k, v in bundle.tensors().items()}
    check_encoder_tensors(bundle.folder, tensors)
    return MotionEncoder(tensors, bundle)


def motion_windows_count(motion: Motion, stride: int = WINDOW) -> int:
    """How many encoder windows a motion gives at `stride`."""
    return 0 if motion.num_frames < WINDOW else (motion.num_frames - WINDOW) // stride + 1
