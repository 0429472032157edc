"""Exporting a generator's network to ONNX for onnxruntime (onnx_network.py): training time only
(torch and onnx; the extension needs neither).

`export_network` traces the torch model (model.py) rebuilt from the bundle's weights in eval
mode with torch.onnx's TorchScript exporter (opset 17; batch and frames dynamic), then checks
that onnxruntime's logits equal torch's on a probe batch within 1e-4. `add_network` writes the
file into a bundle folder and records it in the manifest (`files`, so load_bundle verifies its
sha256, and `network`), atomically: a bundle trained before the export existed gets its network
by `python tools/export_onnx.py models/gen-...` without retraining, with the same weights.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..codecs.bundle import MANIFEST, load_bundle, sha256_of
from .bundle import split_tensors
from .config import GeneratorConfig
from .onnx_network import ONNX_FILE, OnnxGestureTransformer, input_names, output_names

OPSET = 17
_TOLERANCE = 1e-4


def export_network(cfg: GeneratorConfig, model_arrays: dict, path: str | Path) -> float:
    """Write the network of `cfg` with `model_arrays` (state_dict names) to `path`; the largest
    difference of onnxruntime's logits from torch's on a probe batch. RuntimeError above 1e-4."""
    import torch

    from .model import model_from_arrays

    model = model_from_arrays(cfg, model_arrays)

    class Positional(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *args):
            out = self.model(dict(zip(cfg.parts, args[: len(cfg.parts)])), args[-2], args[-1])
            return tuple(out[p] for p in cfg.parts)

    rng = np.random.default_rng(0)
    B, T = 3, cfg.window
    tokens = [rng.integers(0, k + 1, (B, T, q)) for k, q in zip(cfg.vocab, cfg.levels)]
    audio = rng.standard_normal((B, T, cfg.audio_dims)).astype(np.float32)
    has = np.array([True, False, True])
    args = (*[torch.from_numpy(t) for t in tokens], torch.from_numpy(audio), torch.from_numpy(has))
    names, outputs = input_names(cfg), output_names(cfg)
    axes = {n: {0: "batch", 1: "frames"} for n in names[:-1]} | {"has_audio": {0: "batch"}}
    axes |= {n: {0: "batch", 1: "frames"} for n in outputs}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes read as Python numbers
        torch.onnx.export(Positional().eval(), args, str(path), input_names=names, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    with torch.no_grad():
        want = Positional().eval()(*args)
    got = OnnxGestureTransformer(cfg, path)(dict(zip(cfg.parts, tokens)), audio, has)
    gap = max(float(np.abs(w.numpy() - got[p]).max()) for w, p in zip(want, cfg.parts))
    if gap > _TOLERANCE:
        raise RuntimeError(f"the exported network's logits differ from torch's by {gap:g}")
    return gap


def add_network(folder: str | Path) -> Path:
    """Export the generator bundle in `folder` to `folder/network.onnx` and record it in the
    manifest (module docstring); the file's path."""
    from .bundle import check_generator_manifest

    folder = Path(folder)
    bundle = load_bundle(folder)
    cfg = check_generator_manifest(bundle)
    model_arrays, _ = split_tensors(bundle.tensors())
    fd, tmp = tempfile.mkstemp(prefix=".network-", suffix=".onnx", dir=folder)
    os.close(fd)
    try:
        gap = export_network(cfg, model_arrays, tmp)
        import torch

        manifest = dict(bundle.manifest)
        manifest["files"] = dict(manifest["files"], **{ONNX_FILE: sha256_of(Path(tmp))})
        manifest["network"] = {"file": ONNX_FILE, "runtime": "onnxruntime", "opset": OPSET,
                               "exported_with": f"torch {torch.__version__.split('+')[0]} (torch.onnx, TorchScript)",
                               "max_logit_difference_from_torch": float(f"{gap:.2g}")}
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would keep it from other users of an installed extension
        os.replace(tmp, folder / ONNX_FILE)
        tmp_manifest = folder / f".{MANIFEST}.tmp"
        tmp_manifest.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp_manifest, folder / MANIFEST)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    load_bundle(folder)  # verifies every hash, the network's too
    return folder / ONNX_FILE
