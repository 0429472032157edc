"""Training an RQ-VAE codec (core/codecs/rqvae.py) on a part's training takes.

The model codes each joint's 6D rotation (issue 14: a continuous input, where axis-angle jumps
at pi), normalised per dimension. Random windows of the training takes; the loss, on the
decoded 6D made rotations by Gram-Schmidt:

    feature MSE (normalised 6D and expressions)
    + rot_weight x mean squared Frobenius distance of each joint's rotation matrix to the
      truth (the chordal distance, 8 sin^2(theta / 2) for an error of theta: it sees the twists
      of end joints (wrists, head, feet) that move no error point)
    + fk_weight x mean squared position error (cm^2) of the part's `part_positions` points
    + vel_weight x mean squared error of their frame-to-frame velocity (cm/frame)^2
    + reach_weight x mean squared position error (cm^2) of each wrist at the frames of the
      window where the truth reaches furthest along each of 26 directions (the frames its
      trajectory's convex hull, the report's wrist reach, is made of). Quantisation pulls the
      rare extreme poses towards code means, and the per-frame position loss weighs them as
      little as any other frame, so without it the hull shrinks by ~10%. (Matching the support
      function itself, max over the decoded frames, pushes whichever decoded frame is
      furthest, not the one the truth is at: it cost rqvae4-10 positions and rotation.)
    + commit_weight x commitment (+ entropy_weight x the entropy loss when entropy-guided).

AdamW with linear warm-up and cosine decay, a fixed number of steps (not a time limit), so a
seed gives the same bundle on a given device and thread count. Every `checkpoint_every`
steps the model, the optimiser, the data sampler's and torch's random states are written to
the checkpoint folder (safetensors and JSON, nothing pickled, checkpoint.py); a run resumed
from one gives the weights of the run that was not interrupted. On a GPU when torch sees one.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from ...parts import get_part
from ..base import ResidualCodec, features_to_sixd
from ..features import CODEC_FPS, Normalisation, part_positions
from .checkpoint import Checkpointer
from .fitted import FitJob, Fitted, data_notes


@dataclass(frozen=True)
class RQVAETraining:
    """Optimisation settings of an RQ-VAE (saved in the manifest)."""

    steps: int
    batch: int = 32
    window: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 50
    fk_weight: float = 0.05
    rot_weight: float = 10.0
    vel_weight: float = 0.5
    reach_weight: float = 0.0
    commit_weight: float = 0.25
    entropy_weight: float = 0.1
    hidden: int = 64
    latent: int = 16
    #: A code whose EMA usage (vectors a batch) falls below this is replaced by a batch vector:
    #: higher keeps the codebook's usage more even (RQVAEConfig.dead_code_threshold).
    dead_code_threshold: float = 2.0
    #: Storage of the model weights: "float16" halves the bundle (the figures are measured on
    #: the stored, rounded weights).
    weights: str = "float32"


#: Steps and sizes per (part, frames per latent). Measured on the body (training split, 800
#: steps, 2 shared cores, held-out / in-sample: cm position RMSE, mean geodesic degrees):
#: rqvae-10 rot_weight 1: 7.73 / 6.92 cm, 11.7 / 11.7 deg; rot_weight 10: 7.79 / 6.92 cm,
#: 10.6 / 10.6 deg; rqvae4-6: 6.52 / 5.32 cm, 10.0 / 9.8 deg; rqvae4-10: 5.67 / 4.63 cm,
#: 9.8 / 9.4 deg; rqvae4-12: 5.73 / 4.40 cm, 9.6 / 9.1 deg (kmeans-6/10/12: 12.83 / 11.24,
#: 10.83 / 5.01, 10.28 / 2.88 cm; 11.1 / 9.6, 8.7 / 3.7, 8.2 / 2.1 deg). 3000 steps: estimated
#: 5 minutes a bundle on 2 unshared cores (0.1 s a step), not measured: the cores were shared.
#: The hands and face were trained with the fewer steps below to fit 2 shared cores
#: (2026-12-02: 300 steps took 50-250 s there); the rqvae4 body bundles with 3000 (245-397 s a
#: bundle there; 1500 before, and 3000 took rqvae4-12's held-out rotation error from 8.78 to
#: 8.12 deg and its in-sample one from 7.50 to 6.11). More steps do not help the hands: 3000
#: instead of 1000 gave rqvae4-6-hands 1.615 cm / 12.04 deg / 66% lowest held-out level usage
#: against 1.608 / 11.66 / 77% (in-sample 1.625 against 1.688 cm; 2026-12-02). Neither do a
#: wider model nor other code replacement (rqvae4-12-hands, 1000 steps, held-out cm / deg /
#: lowest level usage %, codec_variants.md; shipped 1.522 / 11.10 / 75): hidden 128 1.884 /
#: 13.23 / 78, latent 32 1.968 / 13.82 / 81, dead-code threshold 1 1.529 / 11.24 / 77, 6
#: 1.553 / 11.37 / 78; rotation weight 40 1.577 / 11.27 / 73. A heavier position loss trades
#: rotation for position (fk_weight 1: 1.382 / 11.69 / 83; 5: 1.355 / 13.06 / 84) unless
#: trained longer: fk_weight 1 with 3000 steps gave 1.333 / 11.03 / 73 (in-sample 1.293 / 10.63
#: against 1.572 / 11.26; 2026-12-03).
RQVAE_TRAINING = {
    ("body", 1): RQVAETraining(steps=3000),
    ("body", 4): RQVAETraining(steps=6000, batch=16, window=128),
    # 9 and 10 bits: twice the width and steps and a heavier rotation loss, so that in-sample
    # the rotations beat k-means' (bench/results/codec_variants.md: hidden 128 alone took
    # rqvae4-10's in-sample error from 5.50 to 4.05 deg, a rotation weight of 40 alone to 4.60,
    # against kmeans-10's 3.75); float16 weights keep the bundle under 4 MB.
    ("body", 4, 9): RQVAETraining(steps=12000, batch=16, window=128, hidden=128, rot_weight=30.0, weights="float16"),
    # 10 bits: the wrists' reach term (a 1500-step trial, 2026-12-04, held out / in-sample:
    # weight 0 hull 86.4/90.7% and 82.2/93.2%, 5.16 / 3.23 cm, 7.66 / 5.76 deg; 0.02
    # 92.6/102.1% and 95.4/100.0%, 5.01 / 3.27 cm, 8.16 / 6.10 deg; 0.05 97.1/94.1%, 5.17 / 3.80
    # cm, 8.81 / 7.14 deg; 0.2 7.27 / 6.04 cm). Matching the support function itself, or adding
    # the term half-way through training, cost more rotation for less hull.
    # At 12000 steps (bench/results/wrist_reach.md), 8 levels of 32 codes: rotation 40 + reach
    # 0.02 hull 97.0/96.5%, in-sample 4.10 deg; rotation 60 + reach 0.01 3.54 deg but its first
    # level 93.8% used held out; with 10 levels of 16 (codebook_sizes) 100%, 3.25 deg, hull 93.2/97.2.
    ("body", 4, 10): RQVAETraining(steps=12000, batch=16, window=128, hidden=128, rot_weight=60.0,
                                   reach_weight=0.01, weights="float16"),
    # 12 bits: hidden 128 alone (codec_variants.md: held-out usage 95.3% against 92.2%, in-sample
    # rotation 3.87 against 5.16 deg; kmeans-12 memorises its 4,096 training poses at 2.10).
    # Tried by tools/train_codecs.py (1 thread, 2584 s / 2500 s / 2321 s): rotation weight 40
    # gave rqvae4-12 in-sample 3.31 deg and held out 7.34 deg / 4.98 cm, but its first level's
    # held-out usage fell to 84.4%; with the reach term 0.02 and a dead-code threshold of 4 as
    # well the wrist hull came to 98.7/101.8% held out (bench/results/wrist_reach.md), but
    # held out 6.23 cm / 8.46 deg (worse than kmeans-12's 8.17), in-sample 3.98 deg, first level
    # 87.5% (2026-12-04); rqvae4-10 with fk_weight 0.2 gave held out 5.03 cm / 8.52 deg,
    # in-sample 4.77 deg (worse than kmeans-10's 3.75): none kept. 12 levels of 16 codes with
    # rotation 60 (or 100) + reach 0.01 (2026-12-08, bench/results/wrist_reach.md): every code
    # used, hull 91.7/96.3% (90.9/97.4), in-sample 3.45 (3.28) deg, but held out 5.63 (6.27) cm
    # against 4.67, about 1.6x k-means instead of 1.93x: not kept.
    ("body", 4, 12): RQVAETraining(steps=12000, batch=16, window=128, hidden=128, weights="float16"),
    ("hands", 1): RQVAETraining(steps=1000),
    ("hands", 4): RQVAETraining(steps=1000, batch=16, window=128),
    # 6, 10 and 12 bits: a heavier position loss, trained longer (above: rqvae4-12-hands 1.333 cm /
    # 11.03 deg against 1.522 / 11.10; rqvae4-10-hands 1.287 / 10.46 / 94% against 1.631 / 11.81 / 84;
    # rqvae4-6-hands codebook_sizes). At 9 bits (2026-12-08) 1.276 / 10.36 against 1.553 / 11.56,
    # but its first level 93.8% used held out; 9 levels of 16 codes 1.583 / 14.82: neither kept.
    **{("hands", 4, bits): RQVAETraining(steps=3000, batch=16, window=128, fk_weight=1.0) for bits in (6, 10, 12)},
    ("face", 1): RQVAETraining(steps=800),
    ("face", 4): RQVAETraining(steps=800, batch=16, window=128),
}


def default_training(part: str, frames_per_latent: int, bits: int | None = None) -> RQVAETraining:
    """The shipped settings for a part, rate and bits per frame: the (part, rate, bits) entry,
    else the (part, rate) one, else the body's."""
    return (RQVAE_TRAINING.get((part, frames_per_latent, bits)) or RQVAE_TRAINING.get((part, frames_per_latent))
            or RQVAE_TRAINING[("body", frames_per_latent)])


def _window_sampler(arrays, targets, window: int, rng: np.random.Generator):
    """sample(batch) -> (batch, window, W) model frames, (batch, window, P, 3) target
    positions and (batch, window) mask, drawn from the concatenated takes; short takes repeat
    their last frame (masked out of the loss)."""
    lengths = np.array([len(a) for a in arrays])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    data = np.concatenate(arrays).astype(np.float32)
    target = np.concatenate(targets).astype(np.float32)
    p = lengths / lengths.sum()

    def sample(batch: int):
        take = rng.choice(len(arrays), size=batch, p=p)
        offset = (rng.random(batch) * np.maximum(lengths[take] - window + 1, 1)).astype(np.int64)
        steps = np.arange(window)
        mask = steps[None, :] < (lengths[take] - offset)[:, None]
        idx = starts[take, None] + np.minimum(offset[:, None] + steps[None, :], lengths[take, None] - 1)
        return data[idx], target[idx], mask.astype(np.float32)

    return sample


class PartPoints:
    """(..., J, 3, 3) rotations of the part's joints -> (..., P, 3) metres: the part's
    `part_positions` points (core.nn.kinematics.PartPositions from matrices instead of
    axis-angle), with forward kinematics on the joints from each origin down to the points
    only (features._point_tree: 25 joints for the body, not 55), each origin a root at zero."""

    def __init__(self, part: str, device):
        import torch

        from ...skeleton import SMPLX_PARENTS, smplx_skeleton
        from ..features import _point_tree

        spec = get_part(part)
        keep, self.parents, index = _point_tree(part, tuple(SMPLX_PARENTS))
        self.size = len(keep)
        self.moved = [i for i, j in enumerate(spec.joints) if j in index]
        self.rows = [index[spec.joints[i]] for i in self.moved]
        self.points = [index[j] for j in spec.points]
        self.tips = [index[j] for j in spec.tips_from]
        offsets = np.asarray(smplx_skeleton().offsets, dtype=np.float64)[list(keep)]
        self.offsets = torch.from_numpy(offsets).to(device)

    def __call__(self, R):
        import torch

        from ...nn.kinematics import forward_kinematics

        lead = R.shape[:-3]
        local = torch.eye(3, dtype=R.dtype, device=R.device).expand(*lead, self.size, 3, 3).clone()
        local[..., self.rows, :, :] = R[..., self.moved, :, :]
        offsets = self.offsets.to(R.dtype)
        G, P = forward_kinematics(local, offsets, self.parents, R.new_zeros(*lead, 3))
        points = P[..., self.points, :]
        if self.tips:
            tips = P[..., self.tips, :] + (G[..., self.tips, :, :] @ offsets[self.tips][..., None])[..., 0]
            points = torch.cat([points, tips], dim=-2)
        return points


class _Loss:
    """The training loss of a batch (module docstring) on `device`."""

    def __init__(self, part: str, norm: Normalisation, settings: RQVAETraining, entropy_guided: bool, device):
        import torch

        from ..metrics import WRISTS

        spec = get_part(part)
        self.J = len(spec.joints)
        self.fk = PartPoints(part, device)
        self.wrists = [spec.points.index(j) for j in WRISTS if j in spec.points]
        self.directions = torch.from_numpy(_support_directions()).to(device)
        self.mean = torch.from_numpy(norm.mean).to(device)
        self.std = torch.from_numpy(norm.std).to(device)
        self.settings, self.entropy_guided, self.device = settings, entropy_guided, device

    def _rotations(self, normalised):
        from ..rqvae import sixd_to_matrix

        x = normalised * self.std + self.mean
        return sixd_to_matrix(x[..., : 6 * self.J].reshape(*x.shape[:-1], self.J, 6))

    def __call__(self, model, batch):
        """(total loss, [feature mse, position rms cm, rotation rms (Frobenius), commitment, entropy])."""
        import torch

        x, target, mask = (torch.from_numpy(a).to(self.device) for a in batch)
        s = self.settings
        out = model(x)
        m = mask[..., None]
        frames = mask.sum()
        rec = ((out.recon - x) ** 2 * m).sum() / (frames * x.shape[-1])
        R, R_true = self._rotations(out.recon), self._rotations(x)
        rot = (((R - R_true) ** 2).sum((-1, -2)) * m).sum() / (frames * self.J)
        pos = self.fk(R) * 100.0
        fk_loss = (((pos - target) ** 2).sum(-1) * m).sum() / (frames * pos.shape[-2])
        vm = (mask[:, 1:] * mask[:, :-1])[..., None]
        dv = (pos[:, 1:] - pos[:, :-1]) - (target[:, 1:] - target[:, :-1])
        vel = ((dv**2).sum(-1) * vm).sum() / (vm.sum().clamp_min(1.0) * pos.shape[-2])
        loss = rec + s.rot_weight * rot + s.fk_weight * fk_loss + s.vel_weight * vel + s.commit_weight * out.commit_loss
        if s.reach_weight and self.wrists:
            loss = loss + s.reach_weight * _reach_error(pos[..., self.wrists, :], target[..., self.wrists, :], mask,
                                                        self.directions)
        if self.entropy_guided:
            loss = loss + s.entropy_weight * out.entropy_loss
        figures = [rec.item(), math.sqrt(fk_loss.item()), math.sqrt(rot.item()), out.commit_loss.item(),
                   out.entropy_loss.item()]
        return loss, figures


def _support_directions():
    """(26, 3) unit vectors: the faces, edges and corners of a cube seen from its centre."""
    grid = np.stack(np.meshgrid(*[np.array([-1.0, 0.0, 1.0])] * 3, indexing="ij"), -1).reshape(-1, 3)
    grid = grid[np.any(grid != 0, axis=1)]
    return (grid / np.linalg.norm(grid, axis=1, keepdims=True)).astype(np.float32)


def _reach_error(pos, target, mask, directions):
    """Mean squared position error (cm^2) of each point at the frames where its true
    trajectory reaches furthest along each direction: pos, target (B, T, P, 3) cm, mask (B, T)
    of the frames that count, directions (U, 3) unit vectors. Ties go to the earliest frame."""
    import torch

    hidden = (mask[..., None, None] == 0)  # (B, T, 1, 1): masked frames reach nowhere
    along = (target @ directions.T).masked_fill(hidden, -torch.inf)  # (B, T, P, U)
    furthest = along.argmax(1)  # (B, P, U)
    index = furthest[..., None].expand(*furthest.shape, 3)  # (B, P, U, 3)
    at = lambda x: torch.gather(x.transpose(1, 2), 2, index)  # noqa: E731  (B, P, U, 3)
    return ((at(pos) - at(target)) ** 2).sum(-1).mean()


def _set_lr(opt, settings: RQVAETraining, step: int) -> None:
    warm = min(1.0, (step + 1) / settings.warmup)
    for g in opt.param_groups:
        g["lr"] = settings.lr * warm * 0.5 * (1.0 + math.cos(math.pi * step / settings.steps))


def _optimise(model, loss_of, sample, rng, job: FitJob, settings: RQVAETraining) -> dict:
    """settings.steps AdamW steps (linear warm-up, cosine decay), a progress line every tenth,
    a checkpoint every job.checkpoint_every steps (resumed from when job.resume). Returns
    {"resumed_from_step", "seconds_before_resume"} for a resumed run, else {}."""
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    checkpoints = Checkpointer.of(job, settings)
    first, earlier = checkpoints.restore(model, opt, rng) if checkpoints and job.resume else (0, 0.0)
    if first:
        job.progress(f"  resumed from step {first} ({checkpoints.folder}; {earlier:.0f} s before)")
    model.train()
    start, log_every = time.perf_counter(), max(1, settings.steps // 10)
    running, count = np.zeros(5), 0
    for step in range(first, settings.steps):
        _set_lr(opt, settings, step)
        loss, figures = loss_of(model, sample(settings.batch))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running += figures
        count += 1
        if (step + 1) % log_every == 0 or step + 1 == settings.steps:
            r = running / count
            running[:], count = 0, 0
            job.progress(f"  step {step + 1}/{settings.steps}: feature mse {r[0]:.4f}, position rms {r[1]:.2f} cm, "
                         f"rotation rms {r[2]:.3f}, commit {r[3]:.4f}"
                         + (f", entropy {r[4]:.4f}" if job.entropy_guided else "")
                         + f" ({time.perf_counter() - start:.0f} s)")
        if checkpoints and (step + 1) % checkpoints.every == 0 and step + 1 < settings.steps:
            checkpoints.save(model, opt, rng, step + 1, earlier + time.perf_counter() - start)
    if checkpoints:
        checkpoints.clear()
    model.eval()
    return {"resumed_from_step": first, "seconds_before_resume": round(earlier, 1)} if first else {}


def _tensors(model, norm: Normalisation, feature_norm: Normalisation, arrays, D: int, Q: int, device,
             weights: str = "float32"):
    """The weights file's arrays: the model's state (floats stored as `weights`), the
    normalisations, and (Q, D) code frequencies per layer on the (normalised) training takes.
    The tokens are those of the stored weights."""
    import torch

    if weights not in ("float32", "float16"):
        raise ValueError(f"weights are stored as float32 or float16, not {weights!r}")
    state = model.state_dict()
    if weights == "float16":
        # Round once, and code with the rounded weights, so the usage below is the bundle's.
        rounded = {k: v.to(torch.float16).to(v.dtype) if v.is_floating_point() else v for k, v in state.items()}
        model.load_state_dict(rounded)
        state = model.state_dict()
    tensors = {f"model.{k}": (v.detach().cpu().numpy().astype(np.float16) if weights == "float16" and
                              v.is_floating_point() else v.detach().cpu().numpy()) for k, v in state.items()}
    fpl = model.config.frames_per_latent
    tokens = []
    with torch.no_grad():
        for a in arrays:
            pad = (-len(a)) % fpl
            a = np.concatenate([a, np.repeat(a[-1:], pad, axis=0)]) if pad else a
            tokens.append(model.tokens(torch.from_numpy(a)[None].to(device))[0].cpu().numpy())
    tokens = np.concatenate(tokens)
    usage = np.stack([np.bincount(tokens[:, q], minlength=D) for q in range(Q)]).astype(np.float64)
    tensors.update(mean=feature_norm.mean, std=feature_norm.std, input_mean=norm.mean, input_std=norm.std,
                   usage=(usage / usage.sum(axis=1, keepdims=True)).astype(np.float32))
    return tensors


#: Environment variable that names the training device ("cpu", "cuda"); default: cuda when seen.
DEVICE_ENV = "MOTION_TOKENS_TRAIN_DEVICE"


def device_for_training():
    """$MOTION_TOKENS_TRAIN_DEVICE when set, else cuda when torch sees a GPU, else the CPU.
    (On a GPU a resumed run continues from the CPU random state only: equal, not bit-exact.)"""
    import os

    import torch

    wanted = os.environ.get(DEVICE_ENV)
    return torch.device(wanted or ("cuda" if torch.cuda.is_available() else "cpu"))


def train_rqvae_codec(job: FitJob, family: type[ResidualCodec] = ResidualCodec) -> Fitted:
    """An RQ-VAE of `family` (per frame, or rqvae4's 4 frames per latent) with D^Q whole
    tokens for the job's bits per frame and part, trained for the settings' steps (job.rqvae,
    default default_training(part, frames per latent, bits))."""
    import torch

    from ..rqvae import RQVAE, RQVAEConfig

    fpl = family.FRAMES_PER_LATENT
    settings = job.rqvae or default_training(job.part, fpl, job.bits)
    D, Q = (family.sizes_at(job.bits, job.part)[key] for key in family.SIZE_FIELDS)
    config = RQVAEConfig(part=job.part, D=D, Q=Q, entropy_guided=job.entropy_guided, rotation="6d",
                         frames_per_latent=fpl, hidden=settings.hidden, latent=settings.latent,
                         dead_code_threshold=settings.dead_code_threshold)
    device = device_for_training()
    train = job.data
    sixd = [features_to_sixd(a, job.part).astype(np.float32) for a in train.arrays]
    norm = Normalisation.fit(np.concatenate(sixd))
    arrays = [norm.normalise(a) for a in sixd]
    targets = [part_positions(a, job.part) * 100.0 for a in train.arrays]  # cm
    rng = np.random.default_rng(job.seed)
    sample = _window_sampler(arrays, targets, settings.window, rng)
    torch.manual_seed(job.seed)
    model = RQVAE(config).to(device)
    loss_of = _Loss(job.part, norm, settings, job.entropy_guided, device)
    resumed = _optimise(model, loss_of, sample, rng, job, settings)
    model = model.cpu()
    fitting = {"method": "RQ-VAE (core/codecs/rqvae.py), vector-quantize-pytorch ResidualVQ", "fit_fps": CODEC_FPS,
               "train_vectors": train.num_frames, "device": device.type,
               "optimisation": asdict(settings) | {"optimizer": "AdamW, cosine schedule"},
               "parameters": int(sum(p.numel() for p in model.parameters()))} | resumed
    normalisation = ("the model codes each joint's 6D rotation (first two matrix columns) then the expression "
                     "coefficients, per dimension (x - mean) / std with the training split's statistics "
                     "(`input_mean`, `input_std`; std at least 1e-3); `mean`, `std` = the axis-angle features' "
                     "statistics; `usage` = frequency of each code per layer on the training frames"
                     + ("; `model.usage_ema` = the entropy-guided EMA of soft code usage" if job.entropy_guided else ""))
    shape = {"D": D, "Q": Q, "frames_per_latent": fpl, "model_config": config.to_dict()}
    tensors = _tensors(model, norm, Normalisation.fit(train.vectors()), arrays, D, Q, torch.device("cpu"),
                       settings.weights)
    return Fitted(shape, tensors, fitting, normalisation, data_notes(job.part, CODEC_FPS, train.num_frames, D))
