"""Making the motion-encoder bundle (models/motion-encoder): read the shared data, keep the
codec split's training takes, train (encoder_training.py, torch), measure the held-out
reconstruction loss, and write manifest.json + weights.safetensors (core/codecs/bundle.py:
sha256 of every file, checked on loading)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..codecs.bundle import Bundle, write_bundle
from ..codecs.training.dataset import load_split, read_takes, split_takes
from .encoder import FAMILY, KIND, LAYERS, NAME, WINDOW
from .poses import ENCODER_JOINTS, METRIC_FPS, encoder_input

#: Take sources (folder names) whose takes are speech gestures, windowed densely.
SPEECH_SOURCES = ("beat2",)


def train_encoder_bundle(data_dirs, out: str | os.PathLike, seed: int = 0, epochs: int | None = None,
                         command: str | None = None, progress: Callable[[str], None] = print) -> Bundle:
    """Train the encoder on the training takes under `data_dirs` and write its bundle to `out`."""
    from . import encoder_training as et

    epochs = et.EPOCHS if epochs is None else int(epochs)
    progress("reading the motion takes")
    train, held = split_takes(read_takes(data_dirs), load_split())
    arrays = [encoder_input(t.motion) for t in train]
    strides = [et.SPEECH_STRIDE if t.source in SPEECH_SOURCES else et.BANDAI_STRIDE for t in train]
    held_arrays = [encoder_input(t.motion) for t in held]
    tensors, log = et.train_encoder(arrays, strides, seed, epochs, progress, held_out=held_arrays)
    sources: dict[str, dict] = {}
    for t, a in zip(train, arrays):
        s = sources.setdefault(t.source, {"takes": 0, "frames": 0})
        s["takes"] += 1
        s["frames"] += len(a)
    frames = int(sum(len(a) for a in arrays))
    manifest = {
        "name": NAME, "kind": KIND, "family": FAMILY, "fps": METRIC_FPS, "seed": int(seed),
        "command": command or f"python -m motion_tokens train-motion-encoder --seed {seed}",
        "input": {"joints": list(ENCODER_JOINTS), "rotation": "6d (first two matrix columns), local",
                  "window_frames": WINDOW, "normalisation": "per-value mean and std of the training frames "
                  "(tensors mean, std; std floored at 0.01)"},
        "model_config": {"window": WINDOW, "layers": [list(layer[:4]) for layer in LAYERS],
                         "hidden": int(tensors["conv1.weight"].shape[0]), "latent": int(tensors["conv3.weight"].shape[0]),
                         "features": "every latent frame (8 per 32-frame window) is one FGD sample"},
        "training": {"takes": len(train), "frames": frames, "seconds": round(frames / METRIC_FPS, 1),
                     "sources": sources, "split": "core/codecs/split.json training takes (BEAT2: its first 75%)",
                     "strides": {"speech (beat2)": et.SPEECH_STRIDE, "other": et.BANDAI_STRIDE}, **log},
        "evaluation": {"held_out_loss": log["held_out_loss"], "held_out_takes": len(held),
                       "loss": "mean squared error of the normalised window plus that of its frame differences"},
        "notes": ["Trained on 20 minutes of Bandai actions (no fingers: their hands rest) and 47.6 s of BEAT2 speech "
                  "gestures (the only speech motion here); a feature space of this data, not EMAGE's, so FGD figures "
                  "are comparable within our reports only."],
    }
    return write_bundle(Path(out), manifest, tensors)
