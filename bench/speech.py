"""Speech to keyframes, how fast: seconds of speech per second of wall time, from a wav on
disk to keyframes on a new SMPL-X armature, through the operator's own path.

    .venv/bin/python bench/speech.py [--seconds 10,60,600] [--generator gen-kmeans-10] [--repeats 3]

For each length: a fresh process (started by this script) adds the wav as a sound strip,
then runs Gestures from Sound Strips' job 1 + --repeats times: scene.sound.strip_speech (Blender's aud
decodes the strip's samples), pipelines.generate.generate_steps (features, generation,
decoding) into scene.gestures.StripTarget (the keyframes, the face properties, the tokens
on the action). The first call is cold (the first in a fresh process: bundles loaded, caches
empty), the fastest of the others warm. Each step's time is put to the stage its Progress names; the peak
resident memory is the process's (resource.getrusage, every call). The inputs are the
shared BEAT2 wavs (MOTION_TOKENS_DATA, default ../shared/data) concatenated and repeated to
each length, in a temporary folder; without the data, the demo excerpt repeated.
Prints the figures and writes bench/results/speech_speed.md (--out).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "speech_speed.md"
WAVS = ("beat2/2_scott_0_1_1.wav", "beat2/2_scott_0_2_2.wav", "beat2/2_scott_0_3_3.wav")
RATE = 16000
STAGES = ("load", "read", "features", "generation", "decoding", "keyframes")
#: The issue's floor and aim for the warm ratio on 2 cores.
FLOOR, AIM = 50.0, 200.0


def source_speech() -> tuple[np.ndarray, str]:
    """16 kHz mono samples to build the inputs from, and where they came from."""
    import soundfile

    from motion_tokens.core.paths import data_dir

    data = data_dir()
    paths = [data / w for w in WAVS if (data / w).is_file()]
    names = ", ".join(p.name for p in paths)
    if not paths:
        paths, names = [REPO / "demo" / "speech_excerpt.wav"], "demo/speech_excerpt.wav (no shared data)"
    chunks = []
    for path in paths:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        if rate != RATE:
            raise SystemExit(f"{path}: {rate} Hz, the bench expects {RATE} Hz speech")
        chunks.append(samples.mean(axis=1))
    return np.concatenate(chunks), names


def build_input(folder: Path, seconds: float, samples: np.ndarray) -> Path:
    """A 16-bit wav of `seconds` of `samples` repeated end to end."""
    import soundfile

    n = int(round(seconds * RATE))
    reps = -(-n // len(samples))
    path = folder / f"speech_{seconds:g}s.wav"
    soundfile.write(str(path), np.tile(samples, reps)[:n], RATE, subtype="PCM_16")
    return path


def stage_of(what: str) -> str:
    """The stage a step belongs to, from the Progress announced before it."""
    if what.startswith("loading the generator"):
        return "load"
    if what.startswith("reading"):
        return "read"
    if what.startswith("audio features"):
        return "features"
    if " s of speech" in what:
        return "generation"
    if what.startswith("decoding"):
        return "decoding"
    return "keyframes"


def one_call(wav: Path, generator: str, decode_steps: int | None) -> dict:
    """Wav to keyframes once, in a fresh empty scene; wall seconds in all and per stage."""
    import bpy

    from motion_tokens.pipelines.generate import GenerateOptions, generate_steps
    from motion_tokens.pipelines.progress import Stepper
    from motion_tokens.scene import compat
    from motion_tokens.scene.gestures import StripTarget
    from motion_tokens.scene.sound import strip_speech, strip_timing

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    strip = compat.sequence_strip_collection(scene).new_sound("Speech", str(wav), 1, 1)
    stages = dict.fromkeys(STAGES, 0.0)
    cpu = time.process_time()
    started = time.perf_counter()
    read = strip_speech(strip_timing(strip, scene))
    stages["read"] += time.perf_counter() - started
    sink = StripTarget(bpy.context, [read.timing])
    options = GenerateOptions((read.speech,), generator) if decode_steps is None else \
        GenerateOptions((read.speech,), generator, decode_steps=decode_steps)
    stepper = Stepper(generate_steps(options, sink))
    while True:
        before = stepper.progress
        t = time.perf_counter()
        done = stepper.step() is None
        stages[stage_of(before.what) if before is not None else "load"] += time.perf_counter() - t
        if done:
            break
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    action = stepper.result.targets[0].action
    return {"wall": wall, "cpu": cpu, "stages": stages, "seconds": read.timing.seconds,
            "frames": int(round(action.frame_range[1] - action.frame_range[0])) + 1}


def child(wav: Path, generator: str, repeats: int, decode_steps: int | None) -> None:
    """The fresh process: import, then a cold call and `repeats` warm ones (the fastest kept:
    the other jobs on the machine only ever slow a call down); one JSON line on stdout."""
    t0 = time.perf_counter()
    import bpy  # noqa: F401  (its start-up is part of a cold start)

    import_s = time.perf_counter() - t0
    cold = one_call(wav, generator, decode_steps)
    warm = min((one_call(wav, generator, decode_steps) for _ in range(max(repeats, 1))), key=lambda r: r["wall"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(json.dumps({"import_s": import_s, "cold": cold, "warm": warm, "peak_mb": peak_mb}))


def run_child(wav: Path, generator: str, repeats: int, decode_steps: int | None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(wav), "--generator", generator,
           "--repeats", str(repeats)] + ([] if decode_steps is None else ["--decode-steps", str(decode_steps)])
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"bench child failed on {wav.name}:\n{done.stderr[-3000:]}")
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
    return json.loads(line)


def network_line(generator: str) -> str:
    """The generator's network as its manifest states it (what the speed depends on)."""
    from motion_tokens.pipelines.generate import resolve_generator

    from motion_tokens.core.generate import load_generator

    folder = resolve_generator(generator)
    manifest = json.loads((folder / "manifest.json").read_text())
    c = manifest.get("model_config", {})
    keys = ("parts", "layers", "d_model", "heads", "ff", "window", "overlap", "decode_steps", "cross_attention")
    return ("Network: " + ", ".join(f"{k} {c[k]}" for k in keys if k in c) + " (the bundle's decode_steps; the run's "
            f"below), run by {load_generator(folder).runtime}.")


def steps_line() -> str:
    """The decode steps the run used: --decode-steps, else the pipeline's default."""
    from motion_tokens.pipelines import generate as pipeline

    asked = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--decode-steps=")), None)
    if "--decode-steps" in sys.argv:
        asked = sys.argv[sys.argv.index("--decode-steps") + 1]
    return asked if asked is not None else str(getattr(pipeline, "DEFAULT_DECODE_STEPS", "the bundle's"))


def report(rows: list[tuple[float, dict]], generator: str, source: str, command: str, repeats: int) -> str:
    from motion_tokens.core.machine import machine_line

    load = os.getloadavg()
    lines = [line.replace("REPEATS", str(repeats)) for line in [
        "# Speech to keyframes: seconds of speech per second of wall time",
        "",
        "Made by `bench/speech.py` (`make bench` runs it). A wav on disk to keyframes on a new SMPL-X "
        "armature through the operator's path: a sound strip, its samples decoded by Blender's aud "
        "(scene.sound), pipelines.generate (features, generation, decoding) into scene.gestures.StripTarget "
        "(bone keys, face properties, tokens on the action). Cold: the first call in a fresh process "
        "(after `import bpy`); warm: the fastest of the next REPEATS calls in it. CPU s: the process's CPU time (all threads) "
        "in the warm call, which the other jobs on the machine change less than the wall time; "
        "x per CPU s is speech seconds per CPU second. Peak memory: the process's peak resident set "
        "(every call).",
        "",
        f"Generator: `{generator}`. {network_line(generator)} Inputs: {source}, concatenated and "
        f"repeated to each length. {machine_line()}",
        f"Command: `{command}`. Decode steps per window: {steps_line()}; OMP_NUM_THREADS "
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}.",
        f"Load average when the report was written: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} "
        f"(1, 5, 15 min) on {os.cpu_count()} cores: the machine was shared with training jobs, so "
        "these figures are lower than an idle machine gives.",
        "",
        "| speech s | frames | cold s | cold x real time | warm s | warm x real time | peak MB | "
        + " | ".join(f"warm {s} s" for s in STAGES) + " | warm CPU s | x per CPU s |",
        "| ---: " * (9 + len(STAGES)) + "|",
    ]]
    for seconds, r in rows:
        cold, warm = r["cold"], r["warm"]
        lines.append(
            f"| {seconds:g} | {warm['frames']} | {cold['wall']:.2f} | {seconds / cold['wall']:.0f}x | "
            f"{warm['wall']:.3f} | **{seconds / warm['wall']:.0f}x** | {r['peak_mb']:.0f} | "
            + " | ".join(f"{warm['stages'][s]:.3f}" for s in STAGES)
            + f" | {warm['cpu']:.3f} | {seconds / warm['cpu']:.0f}x |")
    lines += ["", verdict(rows), "", reading(rows, generator), ""]
    return "\n".join(lines)


def reading(rows, generator: str) -> str:
    """What the figures say beyond the ratios: cores used, where the time goes, memory, and
    whether the generator is a shipped bundle."""
    seconds, longest = rows[-1]
    warm = longest["warm"]
    cores = warm["cpu"] / max(warm["wall"], 1e-9)
    share = warm["stages"]["generation"] / max(warm["wall"], 1e-9)
    text = (f"On {seconds:g} s the warm call kept {cores:.1f} cores busy on average (CPU s / wall s) and "
            f"spent {100 * share:.0f}% of its time in generation (the numpy transformer's windows); "
            f"the process peaked at {longest['peak_mb']:.0f} MB (from {rows[0][1]['peak_mb']:.0f} MB at "
            f"{rows[0][0]:g} s).")
    from motion_tokens.core.paths import MODELS_DIR

    if Path(generator).is_dir() and Path(generator).resolve().parent != Path(MODELS_DIR).resolve():
        text += (f" The generator is a bundle outside models/ ({generator}), not the shipped one; the "
                 "speed depends on its network (above), not on its training.")
    return text


def verdict(rows) -> str:
    """The warm ratios against the issue's floor (50x) and aim (200x), said plainly."""
    parts = []
    for seconds, r in rows:
        ratio = seconds / r["warm"]["wall"]
        if ratio < FLOOR:
            word = f"**misses the {FLOOR:.0f}x floor**"
        elif ratio < AIM:
            word = f"meets the {FLOOR:.0f}x floor, short of the {AIM:.0f}x aim"
        else:
            word = f"meets the {AIM:.0f}x aim"
        parts.append(f"{seconds:g} s: {ratio:.0f}x real time warm, {word}")
    worst = max(rows, key=lambda row: max(row[1]["warm"]["stages"].values()) / row[1]["warm"]["wall"])
    stage = max(worst[1]["warm"]["stages"].items(), key=lambda kv: kv[1])[0]
    return "; ".join(parts) + f". The largest warm stage is {stage}."


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", default="10,60,600", help="input lengths, comma separated")
    ap.add_argument("--generator", default="gen-kmeans-10", help="generator bundle name or folder")
    ap.add_argument("--out", type=Path, default=RESULTS, help="the report to write")
    ap.add_argument("--repeats", type=int, default=3, help="warm calls per length, the fastest kept (default 3)")
    ap.add_argument("--decode-steps", type=int, default=None,
                    help="masked-decoding steps per window (default: pipelines.generate's DEFAULT_DECODE_STEPS)")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        child(args.child, args.generator, args.repeats, args.decode_steps)
        return 0
    lengths = [float(s) for s in args.seconds.split(",") if s.strip()]
    samples, source = source_speech()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-speech-") as tmp:
        for seconds in lengths:
            r = run_child(build_input(Path(tmp), seconds, samples), args.generator, args.repeats, args.decode_steps)
            rows.append((seconds, r))
            print(f"{seconds:g} s: cold {r['cold']['wall']:.2f} s ({seconds / r['cold']['wall']:.0f}x), "
                  f"warm {r['warm']['wall']:.3f} s ({seconds / r['warm']['wall']:.0f}x real time), "
                  f"peak {r['peak_mb']:.0f} MB; warm stages "
                  + ", ".join(f"{s} {r['warm']['stages'][s]:.3f}" for s in STAGES), flush=True)
    command = "python bench/speech.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = report(rows, args.generator, source, command.strip(), args.repeats)
    args.out.write_text(text)
    print(verdict(rows))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
