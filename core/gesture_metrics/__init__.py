"""Metrics of generated speech gestures (issue 13): FGD with a motion feature encoder of our
own (encoder.py; trained by encoder_training.py), Beat Alignment as EMAGE computes it, L1
diversity, body-part synchronisation (after SpeechCAT's BPSS) and jerk, on SMPL-X motion at
30 fps (poses.py). numpy and scipy only, except encoder_training (torch)."""

from .beat_alignment import SIGMA, beat_alignment, gaussian_hit_rate, motion_beats, onset_frames, peak_pick
from .diversity import l1_diversity, pairwise_l1
from .encoder import MotionEncoder, load_motion_encoder
from .fgd import fgd, frechet_distance, gaussian_stats
from .jerk import jerk_at, jerk_elsewhere, jerk_profile, mean_jerk
from .poses import METRIC_FPS, encoder_input, pelvis_positions
from .synchrony import PAIRS, PairSync, pair_synchrony, part_speeds, synchrony

__all__ = [
    "METRIC_FPS", "PAIRS", "SIGMA", "MotionEncoder", "PairSync", "beat_alignment", "encoder_input", "fgd",
    "frechet_distance", "gaussian_hit_rate", "gaussian_stats", "jerk_at", "jerk_elsewhere", "jerk_profile",
    "l1_diversity", "load_motion_encoder", "mean_jerk", "motion_beats", "onset_frames", "pair_synchrony",
    "pairwise_l1", "part_speeds", "peak_pick", "pelvis_positions", "synchrony",
]
