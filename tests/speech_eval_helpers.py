"""A motion-encoder bundle with random weights, for tests that need one without training."""

import numpy as np
from motion_tokens.core.codecs.bundle import write_bundle
from motion_tokens.core.gesture_metrics.encoder import FAMILY, KIND, LAYERS, NUM_INPUTS, WINDOW


def random_encoder_tensors(seed=0, hidden=16, latent=8):
    rng = np.random.default_rng(seed)
    widths = (NUM_INPUTS, hidden, hidden, latent)
    tensors = {"mean": rng.normal(scale=0.1, size=NUM_INPUTS).astype(np.float32),
               "std": rng.uniform(0.5, 1.5, NUM_INPUTS).astype(np.float32)}
    for i, (name, k, *_rest) in enumerate(LAYERS):
        tensors[f"{name}.weight"] = rng.normal(scale=1 / np.sqrt(widths[i] * k), size=(widths[i + 1], widths[i], k)).astype(np.float32)
        tensors[f"{name}.bias"] = rng.normal(scale=0.1, size=widths[i + 1]).astype(np.float32)
    return tensors


def write_random_encoder(folder, seed=0):
    manifest = {"name": "motion-encoder", "kind": KIND, "family": FAMILY, "model_config": {"window": WINDOW}}
    return write_bundle(folder, manifest, random_encoder_tensors(seed))
