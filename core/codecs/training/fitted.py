"""What a family's trainer hands back to `train_codec`, and the manifest parts every family shares."""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ...parts import get_part
from ...skeleton import SMPLX_JOINT_NAMES
from ..base import Codec
from ..features import CODEC_FPS, part_positions
from ..evaluation.feature_errors import FeatureSums
from ..metrics import code_usage, joint_angle_errors_deg, perplexity, whole_tokens
from .dataset import PartDataset

#: k-means fitting: below this many training vectors per code, fit on takes resampled to 90 fps.
MIN_VECTORS_PER_CODE = 2
UPSAMPLED_FPS = 90.0
#: Above this many whole-token symbols (D^Q) their usage is counted by distinct tuples, not
#: by a histogram of every symbol.
_MAX_WHOLE_SYMBOLS = 1 << 24

#: What the shipped data holds for each part, said in every manifest of that part (prose about
#: the data folders, not a property of the part).
_DATA_NOTES = {
    "hands": (
        "Hands data: BEAT2 (one take of one speaker, 1,906 frames = 63.5 s; its last 25% held out, within-take), "
        "ManipNet (8 two-handed takes of grasping cups, mugs, teapots, a wine glass, a cube and a cylinder, "
        "read from per-hand BVH through the manipnet bone map, 120 fps resampled to 30; whole objects held out) "
        "and fingerspelling in ten sign languages (318 MediaPipe .pose files fitted by core.capture, the frames "
        "with a hand found, a one-handed frame's other hand mirrored from the signing one; whole letters held "
        "out in every language, see split.json); the Bandai BVH has no fingers. Training saw the training "
        "takes plus their left/right mirror images. ManipNet's hand shapes are grasps and the fingerspelling "
        "ones are fitted from video (landmark noise, depth estimated): they widen the codebook's hand shapes "
        "beyond BEAT2's one speaker, not its gesturing."
    ),
    "face": (
        "Face data is tiny: BEAT2 alone (one take of one speaker, 1,906 frames = 63.5 s; jaw and the first "
        "expression coefficients), Bandai and ManipNet having no face. Training saw its first 75%; the "
        "held-out figures are on its last 25% (same speaker and session), so they are optimistic."
    ),
    "body": (
        "Body data: Bandai dataset-1 and dataset-2 (retargeted from BVH; spine2 and the fingers are at rest "
        "in them) and BEAT2 (one speaker); about 22 minutes in all. The Bandai held-out takes are unseen "
        "styles of seen contents; the BEAT2 held-out block is within-take."
    ),
}


@dataclass(frozen=True)
class FitJob:
    """What a family's trainer fits on.

    bits, part: the codec's rate and part. takes: the training takes (MotionTake), for trainers
    that read them again at another rate. data: their features at 30 fps, mirrored copies
    included where the part is `mirrored_in_training`. seed: every random draw. entropy_guided:
    an RQ-VAE option. progress: called with a line per step. rqvae: RQ-VAE optimisation
    settings (`rqvae_fit.RQVAETraining`; None: the part's default). family: the codec family
    (checkpoint names). checkpoint_dir: where RQ-VAE training writes a checkpoint every
    checkpoint_every steps (None: none); resume: continue from the checkpoint there.
    """

    bits: int
    part: str
    takes: list
    data: PartDataset
    seed: int
    entropy_guided: bool
    progress: Callable[[str], None]
    rqvae: object = None
    family: str = ""
    checkpoint_dir: object = None
    checkpoint_every: int = 500
    resume: bool = False


@dataclass(frozen=True)
class Fitted:
    """A fitted codec before it is a bundle.

    shape: the manifest's size fields ({"k": k} or {"D", "Q", "model_config"}). tensors: the
    weights file's arrays by name. fitting: the manifest's training fields of this family
    (method, fit_fps, train_vectors, ...). normalisation: the words for `input.normalisation`.
    notes: the manifest's notes.
    """

    shape: dict
    tensors: dict[str, np.ndarray]
    fitting: dict
    normalisation: str
    notes: list[str] = field(default_factory=list)


def command_line(family, bits, part, data_dirs, out, seed, entropy_guided) -> str:
    """The `python -m motion_tokens train-codec ...` line that makes the bundle (for its manifest)."""
    args = ["python", "-m", "motion_tokens", "train-codec", "--family", family, "--bits", str(bits), "--part", part,
            "--data", *map(str, data_dirs), "--out", str(out), "--seed", str(seed)]
    if entropy_guided:
        args.append("--entropy-guided")
    return shlex.join(args)


def data_notes(part: str, fit_fps: float, train_vectors: int, codes: int) -> list[str]:
    """The manifest's notes: what the part's data is, and whether fitting needed resampled takes."""
    notes = [_DATA_NOTES[part]] if part in _DATA_NOTES else []
    if fit_fps != CODEC_FPS:
        notes.append(
            f"Fewer than {MIN_VECTORS_PER_CODE} training frames per code at 30 fps, so the codebook was fitted "
            f"on the training takes resampled to {fit_fps:g} fps (slerp): {train_vectors} vectors for "
            f"{codes} codes. Many codes are near-duplicates (in-between poses of the same frames); the "
            "codebook is as large as its name says but holds no more information than the data."
        )
    return notes


def input_description(part: str, normalisation: str) -> dict:
    """The manifest's `input` block: joints, rotation form, normalisation, error points."""
    spec = get_part(part)
    points = spec.points + tuple(f"tip beyond {SMPLX_JOINT_NAMES[j]}" for j in spec.tips_from)
    return {
        "joints": list(spec.joints),
        "joint_names": [SMPLX_JOINT_NAMES[j] for j in spec.joints],
        "rotation": "axis-angle (radians) local rotations, x y z per joint in the order of `joints`",
        "features": spec.num_features,
        "normalisation": normalisation,
        "not_coded": "root orientation (joint 0) and root translation are carried through unchanged as side "
        "information (the global trajectory); bits per frame count the pose only",
        "error_points": [SMPLX_JOINT_NAMES[p] if isinstance(p, int) else p for p in points],
    }


def _usage_figures(tokens: np.ndarray, codes: int) -> dict:
    """Usage (% of `codes` used) and perplexity of (N,) tokens, rounded for the manifest."""
    return {"usage_percent": round(code_usage(tokens, codes).mean, 2),
            "perplexity": round(perplexity(tokens, codes).mean, 2)}


def _token_figures(tokens: np.ndarray, codebook_size: int) -> dict:
    """Usage and perplexity of (N,) or (N, Q) tokens: of whole tokens (one of D^Q symbols), and
    per layer where there are Q > 1 columns."""
    if tokens.ndim == 1:
        return _usage_figures(tokens, codebook_size)
    q = tokens.shape[1]
    if codebook_size**q > _MAX_WHOLE_SYMBOLS:  # 2^40 tuples (rqvae4): count the distinct ones
        _, counts = np.unique(tokens, axis=0, return_counts=True)
        p = counts / counts.sum()
        out = {"usage_percent": round(100.0 * len(counts) / float(codebook_size) ** q, 6),
               "perplexity": round(float(np.exp(-np.sum(p * np.log(p)))), 2)}
    else:
        out = _usage_figures(whole_tokens(tokens, codebook_size), codebook_size**q)
    out["per_layer"] = [_usage_figures(tokens[:, i], codebook_size) for i in range(q)]
    return out


def rotation_error_deg(features_a, features_b, part: str) -> np.ndarray:
    """(T, J) geodesic angle (degrees) between the part's joint rotations in two (T, F)
    axis-angle feature arrays: the angle of R_a^T R_b (metrics.joint_angle_errors_deg)."""
    return joint_angle_errors_deg(features_a, features_b, len(get_part(part).joints))


def evaluate_codec(codec: Codec, data: PartDataset) -> dict:
    """The manifest's figures of `codec` on `data`: position RMSE (cm) of the part's
    `part_positions` points, per source too; the joints' geodesic rotation error (degrees, mean,
    95th percentile and per joint), the velocity error of the points (cm/s) and, for a part
    with expression coefficients (the face), their RMSE (evaluation.feature_errors); code usage
    and perplexity."""
    if data.num_takes == 0:
        return {"frames": 0}
    sq_sum, count = 0.0, 0
    per_source: dict[str, list[float]] = {}
    all_tokens = []
    feature_sums = FeatureSums(codec.part, CODEC_FPS)
    for source, f in zip(data.sources, data.arrays):
        tokens = codec.encode(f)
        all_tokens.append(tokens)
        decoded = codec.decode(tokens, len(f))
        feature_sums.add(f, decoded)
        d = part_positions(f, codec.part) - part_positions(decoded, codec.part)
        s, n = float(np.sum(d * d)), d.shape[0] * d.shape[1]
        sq_sum += s
        count += n
        acc = per_source.setdefault(source, [0.0, 0])
        acc[0] += s
        acc[1] += n
    return {
        "frames": data.num_frames,
        "rmse_cm": round(math.sqrt(sq_sum / count) * 100.0, 3),
        "rmse_cm_by_source": {k: round(math.sqrt(s / n) * 100.0, 3) for k, (s, n) in sorted(per_source.items())},
        **feature_sums.figures().manifest_block(),
        **_token_figures(np.concatenate(all_tokens), codec.codebook_size),
    }
