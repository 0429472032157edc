"""How the sampling settings shape the generated motion, against the recorded take: token
change rate per part, wrist speed, and the difference between two seeds.

    .venv/bin/python bench/speech_sampling.py [--generator gen-kmeans-10] [--temperatures 1,0.7,0.5]
        [--top-k 0,16,64] [--steps 4,8,12] [--out bench/results/speech_sampling.md]

Held-out speech only (never trained on): the BEAT2 take's held-out tail (core/codecs/split.json:
its last 25%) and demo/speech_excerpt.wav (5 s from inside that tail, at 53 s). For each
temperature x top-k x decode steps and two seeds, the speech becomes tokens (the generator),
the tokens motion (its codecs, onto pipelines.generate's rest template), and the figures are:

- change: the share of consecutive token frames whose token differs, per part (any level for RQ-VAE);
- wrist m/s: the mean speed of the two wrists (SMPL-X FK, world frame, 30 fps);
- seed gap m: the mean distance between the wrists of seed 0's and seed 1's motion, frame by
  frame, root-relative (0 would mean the seed does not matter: no variety);
- score: |ln(wrist / recorded wrist)| + the mean over parts of |ln(change / recorded change)|,
  0 when speed and token change rate equal the recorded take's (lower is closer).

The recorded take's figures: its motion (wrist speed), and its tokens under the same codecs
(token change rate; the decoded take's wrist speed too, the best the codec allows).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "speech_sampling.md"
TAKE = "2_scott_0_1_1"
EXCERPT = REPO / "demo" / "speech_excerpt.wav"
EXCERPT_START = 53.0  # seconds into the take (tools/demo.py's SPEECH_START)
WRISTS = ("left_wrist", "right_wrist")
SEEDS = (0, 1)


def held_out_inputs():
    """[(label, samples float32 16 kHz, recorded Motion of the same seconds at 30 fps)]."""
    import soundfile

    from motion_tokens.core.codecs.training.dataset import load_split
    from motion_tokens.core.formats import read_motion
    from motion_tokens.core.paths import data_dir

    folder = data_dir() / "beat2"
    motion = read_motion(folder / f"{TAKE}.npz")
    samples, rate = soundfile.read(str(folder / f"{TAKE}.wav"), dtype="float32")
    if rate != 16000 or motion.fps != 30:
        raise SystemExit(f"{folder}: expected 16 kHz speech and 30 fps motion, got {rate} Hz, {motion.fps} fps")
    cut = math.floor(motion.num_frames * (1.0 - load_split().held_out_tails[TAKE]))
    tail_frames = min(motion.num_frames, len(samples) * 30 // rate) - cut
    tail = samples[cut * rate // 30 : (cut + tail_frames) * rate // 30]
    excerpt, _ = soundfile.read(str(EXCERPT), dtype="float32")
    first = int(round(EXCERPT_START * 30))
    count = len(excerpt) * 30 // rate
    return [(f"BEAT2 held-out tail ({tail_frames / 30:.1f} s from {cut / 30:.1f} s)", tail,
             motion.frames(cut, cut + tail_frames)),
            (f"demo excerpt ({count / 30:.1f} s from {EXCERPT_START:g} s)", excerpt, motion.frames(first, first + count))]


def wrist_paths(motion, root_relative: bool = False) -> np.ndarray:
    """(T, 2, 3) the wrists' world positions (minus the root's when root_relative)."""
    positions = motion.positions()
    idx = [motion.skeleton.index(n) for n in WRISTS]
    return positions[:, idx] - positions[:, :1] if root_relative else positions[:, idx]


def wrist_speed(motion) -> float:
    """Mean speed (m/s) of the two wrists between consecutive frames."""
    return float(np.linalg.norm(np.diff(wrist_paths(motion), axis=0), axis=-1).mean() * motion.fps)


def change_rate(tokens: np.ndarray) -> float:
    """Share of consecutive frames whose token (any level) differs."""
    t = np.asarray(tokens).reshape(len(tokens), -1)
    return float((t[1:] != t[:-1]).any(axis=1).mean())


def generated(gen, codecs, samples, settings) -> tuple[dict, object]:
    """(tokens, decoded motion) of `samples` under settings (temperature, top_k, steps, seed)."""
    from motion_tokens.core.audio import num_feature_frames, speech_features
    from motion_tokens.core.codecs.coding import decode_parts_steps
    from motion_tokens.core.steps import run_steps
    from motion_tokens.pipelines.generate import rest_template

    temperature, top_k, steps, seed = settings
    features = speech_features(samples, 16000, fps=30.0, filters=gen.filters)
    tokens = gen.generate(features, seed=seed, temperature=temperature, top_k=top_k, decode_steps=steps)
    n = num_feature_frames(len(samples), 16000, 30.0)
    return tokens, run_steps(decode_parts_steps(tokens, codecs, rest_template(n, "generated")))


def recorded_row(motion, codecs) -> dict:
    """The recorded take's figures: wrist speed, its tokens' change rate, the decoded take's speed."""
    from motion_tokens.core.codecs.coding import encode_parts_steps
    from motion_tokens.core.steps import run_steps

    encoded = run_steps(encode_parts_steps(motion, codecs))
    return {"wrist": wrist_speed(motion), "decoded_wrist": wrist_speed(encoded.decoded),
            "change": {p: change_rate(t) for p, t in encoded.tokens.items()}}


def measure(gen, codecs, inputs, grid) -> tuple[list, list]:
    """(per input its recorded row, rows of (settings, per input the figures))."""
    truth = [recorded_row(motion, codecs) for _, _, motion in inputs]
    rows = []
    for temperature, top_k, steps in grid:
        per_input = []
        for (_, samples, _), ref in zip(inputs, truth):
            made = [generated(gen, codecs, samples, (temperature, top_k, steps, s)) for s in SEEDS]
            change = {p: float(np.mean([change_rate(t[p]) for t, _ in made])) for p in made[0][0]}
            wrist = float(np.mean([wrist_speed(m) for _, m in made]))
            gap = float(np.linalg.norm(wrist_paths(made[0][1], True) - wrist_paths(made[1][1], True), axis=-1).mean())
            score = abs(math.log(wrist / ref["wrist"])) + float(np.mean(
                [abs(math.log(max(change[p], 1e-3) / max(ref["change"][p], 1e-3))) for p in change]))
            per_input.append({"change": change, "wrist": wrist, "gap": gap, "score": score})
        rows.append(((temperature, top_k, steps), per_input))
        print(f"T {temperature:g} top-k {top_k} steps {steps}: " + "; ".join(
            f"wrist {r['wrist']:.2f} m/s, change " + "/".join(f"{v:.2f}" for v in r["change"].values())
            + f", gap {r['gap']:.3f} m, score {r['score']:.2f}" for r in per_input), flush=True)
    return truth, rows


def report(gen_name, inputs, truth, rows, command, seconds) -> str:
    from motion_tokens.core.machine import machine_line

    parts = list(rows[0][1][0]["change"])
    lines = ["# Sampling settings against the recorded take: token change rate, wrist speed, seed variety", "",
             f"Made by `bench/speech_sampling.py` (its docstring defines every column). Generator `{gen_name}`; "
             f"seeds {SEEDS[0]} and {SEEDS[1]} (figures are their mean; the seed gap is between them). "
             f"Held-out speech only. {machine_line()} {seconds:.0f} s to run.", f"Command: `{command}`.", ""]
    for i, (label, _, _) in enumerate(inputs):
        ref = truth[i]
        lines += [f"## {label}", "",
                  f"Recorded: wrist {ref['wrist']:.2f} m/s (decoded through the codecs: {ref['decoded_wrist']:.2f} m/s); "
                  "token change " + ", ".join(f"{p} {ref['change'][p]:.2f}" for p in parts) + ".", "",
                  "| temperature | top-k | steps | " + " | ".join(f"{p} change" for p in parts)
                  + " | wrist m/s | seed gap m | score |",
                  "| ---: " * (6 + len(parts)) + "|"]
        for (t, k, s), per in sorted(rows, key=lambda r: r[1][i]["score"]):
            r = per[i]
            lines.append(f"| {t:g} | {k} | {s} | " + " | ".join(f"{r['change'][p]:.2f}" for p in parts)
                         + f" | {r['wrist']:.2f} | {r['gap']:.3f} | {r['score']:.2f} |")
        lines.append("")
    best = min(rows, key=lambda r: np.mean([x["score"] for x in r[1]]))
    (t, k, s), per = best
    lines += [f"Closest on both inputs (mean score {np.mean([x['score'] for x in per]):.2f}): temperature {t:g}, "
              f"top-k {k}, {s} decode steps; seed gap " + ", ".join(f"{x['gap']:.3f} m" for x in per) + "."]
    shipped = dict(rows)[shipped_defaults()]
    t, k, s = shipped_defaults()
    lines += ["", f"The shipped defaults (pipelines.generate: temperature {t:g}, top-k {k}, {s} decode steps): "
              + "; ".join(f"{label.split(' (')[0]}: wrist {x['wrist']:.2f} m/s, body change {x['change'].get('body', 0):.2f}, "
                          f"seed gap {x['gap']:.3f} m, score {x['score']:.2f}" for (label, _, _), x in zip(inputs, shipped))
              + ". More decode steps come closer still, but each step is a pass of the network over every "
              "window: generation time grows in proportion (bench/results/speech_speed.md).", ""]
    return "\n".join(lines)


def shipped_defaults() -> tuple[float, int, int]:
    """(temperature, top-k, decode steps) the panel and the CLI start from (pipelines.generate)."""
    from motion_tokens.pipelines.generate import DEFAULT_DECODE_STEPS, DEFAULT_TEMPERATURE, DEFAULT_TOP_K

    return (DEFAULT_TEMPERATURE, DEFAULT_TOP_K, DEFAULT_DECODE_STEPS)


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", default="gen-kmeans-10", help="generator bundle name or folder")
    ap.add_argument("--temperatures", default="1,0.7,0.5")
    ap.add_argument("--top-k", default="0,16,64")
    ap.add_argument("--steps", default="4,8,12", help="decode steps per window")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    from motion_tokens.core.codecs.coding import load_codecs
    from motion_tokens.core.generate import load_generator
    from motion_tokens.pipelines.generate import codec_names, resolve_generator

    started = time.perf_counter()
    gen = load_generator(resolve_generator(args.generator))
    codecs = load_codecs(codec_names(gen))
    inputs = held_out_inputs()
    grid = list(itertools.product(floats(args.temperatures), [int(k) for k in floats(args.top_k)],
                                  [int(s) for s in floats(args.steps)]))
    if shipped_defaults() not in grid:
        grid.append(shipped_defaults())
    truth, rows = measure(gen, codecs, inputs, grid)
    command = "python bench/speech_sampling.py " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.write_text(report(args.generator, inputs, truth, rows, command.strip(), time.perf_counter() - started))
    print(f"wrote {args.out} (load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
