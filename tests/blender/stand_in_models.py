"""A models folder for the Blender tests that must not depend on the shipped hands bundles'
figures: shipped bundles linked or copied in, and a small kmeans-6 hands bundle whose 64
centroids are frames of the demo excerpt (each nudged so no two are equal)."""

from __future__ import annotations

import shutil

import numpy as np
from motion_tokens.core.codecs.bundle import write_bundle
from motion_tokens.core.codecs.features import part_features
from motion_tokens.core.formats import read_motion
from motion_tokens.core.paths import MODELS_DIR


def stand_in_models(folder, excerpt, shipped=("kmeans-6-body",), link=False):
    """`folder` holding the `shipped` bundles (symlinked when `link`, else copied) and the
    stand-in kmeans-6 hands bundle made from `excerpt`; returns `folder`."""
    for name in shipped:
        if link:
            (folder / name).symlink_to(MODELS_DIR / name, target_is_directory=True)
        else:
            shutil.copytree(MODELS_DIR / name, folder / name)
    x = part_features(read_motion(excerpt), "hands")
    k = 64
    centroids = x[np.arange(k) % len(x)] + np.arange(k)[:, None] * 1e-3
    write_bundle(folder / "kmeans-6-hands", {"name": "kmeans-6", "kind": "codec", "family": "kmeans",
                                             "part": "hands", "k": k, "fps": 30.0},
                 {"centroids": centroids.astype(np.float32), "mean": np.zeros(x.shape[1], np.float32),
                  "std": np.ones(x.shape[1], np.float32)})
    return folder
