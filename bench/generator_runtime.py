"""Which runtime the generator's network runs on inside the extension: numpy (numpy_model.py,
shipped) against onnxruntime (the same network exported from torch), measured in one run.

    python bench/generator_runtime.py [--generator gen-kmeans-10] [--seconds 10 60]
        [--repeats 3] [--out bench/results/generator_runtime.md] [--append]

Runs in the project's .venv (torch, onnx 1.17 and onnxruntime 1.22.1, the versions the
extension ships). The environment's BLAS thread settings and the load average are printed with
each run: numpy's OpenBLAS threads spin against other jobs on the cores, so the figures depend
on them. For each length of speech features (the held-out part of the BEAT2 take's, repeated to the length), the whole
masked decoding (core/generate/inference.py, the shipped sampling settings) is timed with the
network on:

- numpy: numpy_model.py, the fallback where onnxruntime does not import (the audio term once per
  batch, the last layer on the masked frames only);
- onnxruntime: the exported full forward pass (every frame's logits; CPU provider, 2 threads and
  1; the generator bundles ship it, run on 1 thread);
- torch: the model the bundle was trained as (the reference, eval mode, no grad).

It checks first that onnxruntime's logits equal numpy's within 1e-4, so the timings compare the
same work, and reports the share of tokens that come out equal for the seed (not all need to: a
logit a few 1e-6 away from numpy's can flip a sampled token near a threshold). Best of --repeats runs each.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

from motion_tokens.core.generate import load_generator  # noqa: E402
from motion_tokens.core.generate.model import model_from_arrays  # noqa: E402
from motion_tokens.core.generate.numpy_model import NumpyGestureTransformer  # noqa: E402
from motion_tokens.core.generate.onnx_export import export_network  # noqa: E402
from motion_tokens.core.generate.onnx_network import OnnxGestureTransformer  # noqa: E402
from motion_tokens.pipelines.generate import DEFAULT_DECODE_STEPS, DEFAULT_TEMPERATURE, DEFAULT_TOP_K  # noqa: E402

TAKE = "2_scott_0_1_1"


def _features(seconds: float, filters) -> np.ndarray:
    from motion_tokens.core.audio import read_speech, speech_features
    from motion_tokens.core.paths import data_dir

    speech = read_speech(data_dir() / "beat2" / f"{TAKE}.wav")
    feats = speech_features(speech.samples, speech.sample_rate, 30.0, filters)
    held = feats[int(0.75 * len(feats)):]
    n = int(round(seconds * 30))
    return np.resize(held, (n, held.shape[1])).astype(np.float32) if n > len(held) else held[:n]


class TorchForward:
    def __init__(self, model):
        self.model = model

    def __call__(self, tokens, audio, has_audio):
        import torch

        with torch.no_grad():
            out = self.model({p: torch.from_numpy(np.ascontiguousarray(t)) for p, t in tokens.items()},
                             torch.from_numpy(np.ascontiguousarray(audio)), torch.from_numpy(has_audio))
        return {p: v.numpy() for p, v in out.items()}


def _timed(gen, forward, features, repeats: int):
    gen.forward = forward
    best, tokens = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        tokens = gen.generate(features, seed=0, temperature=DEFAULT_TEMPERATURE, top_k=DEFAULT_TOP_K,
                              decode_steps=DEFAULT_DECODE_STEPS)
        best = min(best, time.perf_counter() - t0)
    return best, tokens


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", default="gen-kmeans-10")
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "generator_runtime.md")
    parser.add_argument("--append", action="store_true", help="add this run's section to --out instead of replacing it")
    args = parser.parse_args(argv)
    import onnxruntime
    import torch

    torch.set_num_threads(2)
    gen = load_generator(args.generator)
    numpy_forward = NumpyGestureTransformer(gen.config, gen.model_tensors)
    model = model_from_arrays(gen.config, gen.model_tensors)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generator.onnx"
        export_network(gen.config, gen.model_tensors, path)
        onnx_mb = path.stat().st_size / 1e6
        runtimes = {"numpy": numpy_forward, "onnxruntime, 2 threads": OnnxGestureTransformer(gen.config, path, threads=2),
                    "onnxruntime, 1 thread": OnnxGestureTransformer(gen.config, path, threads=1), "torch": TorchForward(model)}
        cfg = gen.config
        rng = np.random.default_rng(0)
        probe_tokens = {p: rng.integers(0, k + 1, (4, cfg.window, q)) for p, k, q in zip(cfg.parts, cfg.vocab, cfg.levels)}
        probe_audio = rng.standard_normal((4, cfg.window, cfg.audio_dims)).astype(np.float32)
        probe_has = np.array([True, True, False, True])
        ref = numpy_forward(probe_tokens, probe_audio, probe_has)
        got = runtimes["onnxruntime, 2 threads"](probe_tokens, probe_audio, probe_has)
        gap = max(float(np.abs(ref[p] - got[p]).max()) for p in cfg.parts)
        if gap > 1e-4:
            raise SystemExit(f"onnxruntime's logits differ from numpy's by {gap:g}")
        rows = []
        for seconds in args.seconds:
            features = _features(seconds, gen.filters)
            times, tokens = {}, {}
            for name, forward in runtimes.items():
                times[name], tokens[name] = _timed(gen, forward, features, args.repeats)
                print(f"{seconds:g} s: {name}: {times[name]:.3f} s", flush=True)
            # a logit a few 1e-6 away can flip a sampled token, and masked decoding carries the flip on
            same = float(np.mean(np.concatenate([(tokens["numpy"][p] == tokens["onnxruntime, 1 thread"][p]).ravel()
                                                 for p in cfg.parts])))
            rows.append((seconds, times, same))
    names = list(runtimes)
    threads = {k: os.environ.get(k, "unset") for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "# Generator runtime: numpy against onnxruntime",
        "",
        f"## {', '.join(f'{k}={v}' for k, v in threads.items())} (load average {load} on {os.cpu_count()} cores)",
        "",
        f"Command: `{' '.join(f'{k}={v}' for k, v in threads.items() if v != 'unset')} python bench/generator_runtime.py --generator {args.generator} --seconds "
        f"{' '.join(f'{s:g}' for s in args.seconds)} --repeats {args.repeats}` (onnxruntime "
        f"{onnxruntime.__version__}, torch {torch.__version__.split('+')[0]}, numpy {np.__version__}). The exported "
        f"network is {onnx_mb:.1f} MB; its logits equal numpy's within {gap:.1e} on a probe batch.",
        "",
        "Whole masked decoding of the speech features (best of the repeats; temperature "
        f"{DEFAULT_TEMPERATURE:g}, top-k {DEFAULT_TOP_K}, {DEFAULT_DECODE_STEPS} decode steps); seconds, and in "
        "brackets the time over numpy's (measured in the same run):",
        "",
        "| speech | " + " | ".join(names) + " | tokens of onnxruntime (1 thread) equal to numpy's |",
        "| ---: | " + " | ".join("---:" for _ in names) + " | --- |",
    ]
    for seconds, times, same in rows:
        cells = [f"{times[n]:.3f} ({times[n] / times['numpy']:.2f}x)" for n in names]
        lines.append(f"| {seconds:g} s | " + " | ".join(cells) + f" | {100 * same:.1f}% |")
    faster = min(names[:3], key=lambda n: sum(t[n] for _, t, _ in rows))
    lines += ["", f"Faster of the runtimes an extension can ship: **{faster}**."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.append and args.out.is_file():
        lines = [args.out.read_text(encoding="utf-8").rstrip("\n"), ""] + lines[2:]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
