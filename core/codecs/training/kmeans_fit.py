"""Fitting a k-means codebook (MiniBatchKMeans) on a part's training frames.

Features are centred and divided by ONE pooled standard deviation (the root mean square of
the per-dimension ones), not per dimension: k-means clusters by Euclidean distance in that
space, and per-dimension scaling would give a joint that hardly moves (spine2, still in every
Bandai take) as much weight as the hips and knees; measured on the held-out body split it
raised the RMSE by about 10% at every k. The mean and std arrays (per dimension, all std
entries equal) go in the bundle. Where there are fewer than 2 training vectors per code
(hands at k = 4096: 2,858 frames, mirrored ones included), the training takes are resampled to
90 fps by slerp first, so the codebook is fitted on in-between poses too: more distinct
vectors than codes, but many codes are near-duplicates and say nothing the data did not; the
manifest says so.
"""

from __future__ import annotations

import numpy as np

from ...errors import MotionTokensError
from ..features import CODEC_FPS, Normalisation
from ..kmeans import KMeansCodec, fit_kmeans, nearest_centroid
from .dataset import PartDataset, part_dataset, training_dataset
from .fitted import MIN_VECTORS_PER_CODE, UPSAMPLED_FPS, FitJob, Fitted, data_notes

_NORMALISATION = ("centred per dimension (`mean`), divided by one pooled standard deviation (`std`, all "
                  "entries equal: the RMS of the per-dimension ones) so Euclidean distances weigh joints as "
                  "the axis-angle does; `usage` = frequency of each code on the training frames")


def _pooled_normalisation(vectors: np.ndarray) -> Normalisation:
    """Per-dimension mean of (N, F) vectors, and one std for all F: the RMS of the per-dimension ones."""
    per_dim = Normalisation.fit(vectors)
    pooled = float(np.sqrt(np.mean(np.square(per_dim.std.astype(np.float64)))))
    return Normalisation(per_dim.mean, np.full_like(per_dim.std, pooled))


def _fit_data(job: FitJob, k: int) -> tuple[float, PartDataset]:
    """(fps, dataset) to fit k codes on: the 30 fps training data, or the takes at 90 fps where
    it has fewer than MIN_VECTORS_PER_CODE vectors per code."""
    if job.data.num_frames >= MIN_VECTORS_PER_CODE * k:
        return CODEC_FPS, job.data
    data = training_dataset(part_dataset(job.takes, job.part, fps=UPSAMPLED_FPS))
    job.progress(f"  {job.data.num_frames} training frames for {k} codes: fitting on the takes at "
                 f"{UPSAMPLED_FPS:g} fps ({data.num_frames} vectors)")
    return UPSAMPLED_FPS, data


def fit_kmeans_codec(job: FitJob) -> Fitted:
    """A k = 2^bits codebook of the job's part; usage is counted on the 30 fps training frames.

    Raises MotionTokensError when there are fewer training vectors than codes even at 90 fps.
    """
    k = KMeansCodec.BITRATES[job.bits]["k"]
    fit_fps, fit_data = _fit_data(job, k)
    vectors = fit_data.vectors()
    if len(vectors) < k:
        raise MotionTokensError(
            f"too little {job.part} data for k-means with k={k}: {len(vectors)} training vectors even at "
            f"{fit_fps:g} fps; give more motion files with {job.part} motion"
        )
    norm = _pooled_normalisation(vectors)
    centroids = fit_kmeans(norm.normalise(vectors), k, seed=job.seed)
    usage = np.bincount(nearest_centroid(norm.normalise(job.data.vectors()), centroids), minlength=k)
    tensors = {"centroids": centroids, "mean": norm.mean, "std": norm.std,
               "usage": (usage / usage.sum()).astype(np.float32)}
    fitting = {"method": "scikit-learn MiniBatchKMeans, k-means++ initialisation", "fit_fps": fit_fps,
               "train_vectors": int(len(vectors))}
    return Fitted({"k": k}, tensors, fitting, _NORMALISATION, data_notes(job.part, fit_fps, len(vectors), k))
