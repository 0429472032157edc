"""The generator network on onnxruntime: the bundle's `network.onnx` (onnx_export.py made it from
the same weights), run as a core.generate.sampling.Forward.

Measured against the numpy network (numpy_model.py) on the whole masked decoding of 10 s and
60 s of speech, 2 cores (bench/results/generator_runtime.md): on an idle machine onnxruntime
with two intra-op threads is 1.6-1.8x faster than numpy (and than itself on one thread, 1.2x).
So generation runs here wherever onnxruntime imports and the bundle
carries the network; the numpy network is the fallback (a bundle without `network.onnx`, a
platform without an onnxruntime wheel) and the reference the tests hold this one to.

The logits equal numpy's and torch's within about 1e-5, so a sampled token can differ where a
draw falls within that of a code's cumulative probability (measured: 99.9-100% of the tokens
equal numpy's for the same seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import GeneratorConfig

#: The bundle file holding the exported network.
ONNX_FILE = "network.onnx"


def onnxruntime_available() -> bool:
    """Whether onnxruntime imports here (the extension carries it where a wheel exists)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def input_names(cfg: GeneratorConfig) -> list[str]:
    """The exported graph's inputs, in order: each part's tokens, the audio, has_audio."""
    return [f"tokens_{p}" for p in cfg.parts] + ["audio", "has_audio"]


def output_names(cfg: GeneratorConfig) -> list[str]:
    return [f"logits_{p}" for p in cfg.parts]


class OnnxGestureTransformer:
    """forward(tokens part -> (B, T, Q_p) int, audio (B, T, C), has_audio (B,)) -> logits part ->
    (B, T, Q_p, K_p) float32, on onnxruntime's CPU provider. RuntimeError (onnxruntime's) for a
    file that is not a graph with the config's inputs."""

    runtime = "onnxruntime"

    def __init__(self, cfg: GeneratorConfig, path: str | Path, threads: int = 2):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.cfg = cfg
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        wanted, got = input_names(cfg), [i.name for i in self.session.get_inputs()]
        if got != wanted:
            raise RuntimeError(f"{path}: the network's inputs are {got}, the model_config gives {wanted}")

    def __call__(self, tokens: dict, audio: np.ndarray, has_audio: np.ndarray) -> dict:
        feeds = {f"tokens_{p}": np.ascontiguousarray(tokens[p], dtype=np.int64) for p in self.cfg.parts}
        feeds["audio"] = np.ascontiguousarray(audio, dtype=np.float32)
        feeds["has_audio"] = np.ascontiguousarray(has_audio, dtype=bool)
        return dict(zip(self.cfg.parts, self.session.run(None, feeds)))
