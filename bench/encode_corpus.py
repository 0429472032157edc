"""Frames per second of `encode DIR --out DIR --jobs N` on a corpus: 1 process against a pool.

    .venv/bin/python bench/encode_corpus.py [--data DIR] [--codec kmeans-6] [--jobs 1 2] [--repeats 3] [--note TEXT]

The corpus is the Bandai BVH folder of the shared data (MOTION_TOKENS_DATA, default
../shared/data; 216 takes), or --data. Each run is the real command in a fresh process into an
empty output folder; the figures are the command's own final line (input frames over the time
from the first file started to the last finished, the pool's start-up included) and the
process's wall time (interpreter, imports and planning included). The --jobs settings take
turns within each repeat (the order reversed every other repeat) so that a load that changes
over time touches them alike; the load average before each run is recorded. Then the same
command once more onto a finished folder: the resumed run that skips everything. Writes
bench/results/encode_corpus.md.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from motion_tokens.core.machine import machine_line
from motion_tokens.core.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "encode_corpus.md"
_RATE = re.compile(r"(\d+) files, (\d+) frames in ([\d.]+) s: (\d+) frames/s")


def run_command(data: Path, codec: str, out: Path, jobs: int) -> dict:
    """One run of the command: its files, frames, seconds and frames/s, the wall time and load."""
    load = os.getloadavg()[0]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "motion_tokens", "encode", str(data), "--codec", codec, "--out",
                          str(out), "--jobs", str(jobs)], capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if run.returncode not in (0, 1):
        raise SystemExit(f"the command failed ({run.returncode}): {run.stderr.strip()}")
    match = _RATE.search(run.stdout)
    files, frames, seconds, rate = (float(g) for g in match.groups()) if match else (0, 0, 0.0, 0)
    return {"jobs": jobs, "files": int(files), "frames": int(frames), "seconds": seconds, "rate": rate,
            "wall": wall, "cpu": cpu, "load": load, "failed": run.returncode == 1}


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (the command and its workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


#: Codecs whose loading (verifying every bundle) is timed beside the one coded.
LOADED = ("kmeans-12", "rqvae-12", "rqvae4-12")


def codec_load_seconds(name: str) -> float:
    """Best of 5: loading and verifying the bundles of codec `name` for every part it has."""
    from motion_tokens.core.codecs.coding import load_codecs
    from motion_tokens.core.codecs.registry import installed_parts

    names = {part: name for part in installed_parts(name)}
    times = []
    for _ in range(5):
        started = time.perf_counter()
        load_codecs(names)
        times.append(time.perf_counter() - started)
    return min(times)


def _median_seconds_per_file(out: Path) -> float:
    import json

    rows = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    return statistics.median(row["seconds"] for row in rows if row.get("seconds") is not None)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=data_dir() / "bandai")
    ap.add_argument("--codec", default="kmeans-6")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--note", default="", help="what else ran on the machine, for the report")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"{args.data}: no such folder (set MOTION_TOKENS_DATA or pass --data)", file=sys.stderr)
        return 2
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            order = args.jobs if repeat % 2 == 0 else args.jobs[::-1]
            for jobs in order:
                out = Path(tmp) / f"r{repeat}-j{jobs}"
                runs.append(run_command(args.data, args.codec, out, jobs))
                r = runs[-1]
                print(f"jobs {jobs}: {r['frames']} frames in {r['seconds']:.2f} s = {r['rate']:.0f} frames/s "
                      f"(wall {r['wall']:.2f} s, CPU {r['cpu']:.2f} s, load {r['load']:.2f})", flush=True)
        resumed = run_command(args.data, args.codec, Path(tmp) / f"r0-j{args.jobs[0]}", args.jobs[-1])
        print(f"resumed onto a finished folder: wall {resumed['wall']:.2f} s", flush=True)
        per_file = _median_seconds_per_file(Path(tmp) / f"r0-j{args.jobs[0]}")
    loads = {name: codec_load_seconds(name) for name in dict.fromkeys([args.codec, *LOADED])}
    print("codec loading (all parts): " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in loads.items()))
    write_report(args, runs, resumed, loads, per_file)
    print(f"wrote {RESULTS}")
    return 0


def write_report(args, runs: list[dict], resumed: dict, loads: dict[str, float], per_file: float) -> None:
    first = runs[0]
    data = args.data.relative_to(data_dir()) if args.data.is_relative_to(data_dir()) else args.data
    lines = [
        "# Corpus to tokens: `encode DIR --out DIR --jobs N`",
        "",
        f"Made by `bench/encode_corpus.py`: the shared data's `{data}` ({first['files']} files, "
        f"{first['frames']:,} frames at 30 fps) coded with {args.codec} into an empty folder by "
        "`python -m motion_tokens encode DIR --codec NAME --out OUT --jobs N`, each run a fresh process; "
        "frames/s is the command's own figure (input frames over the time from the first file started to the "
        "last written, the pool's start-up included), wall the whole process, CPU the user + system seconds of "
        "the command and its workers (the work a pool adds, whatever the load).",
        "",
        f"Command: `.venv/bin/python bench/encode_corpus.py --codec {args.codec} --jobs "
        f"{' '.join(map(str, args.jobs))} --repeats {args.repeats}{' --note ...' if args.note else ''}`. "
        f"{machine_line()}",
        "",
        "| jobs | frames/s per run | median frames/s | median wall s | median CPU s | load average before |",
        "| ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for jobs in args.jobs:
        sel = [r for r in runs if r["jobs"] == jobs]
        rates = ", ".join(f"{r['rate']:.0f}" for r in sel)
        load_averages = ", ".join(f"{r['load']:.1f}" for r in sel)
        lines.append(f"| {jobs} | {rates} | **{statistics.median(r['rate'] for r in sel):,.0f}** | "
                     f"{statistics.median(r['wall'] for r in sel):.2f} | {statistics.median(r['cpu'] for r in sel):.2f} | "
                     f"{load_averages} |")
    low, high = min(r["load"] for r in runs), max(r["load"] for r in runs)
    lines += [f"\n{args.note}"] if args.note else []
    lines += ["", f"The load average before the runs was {low:.1f}-{high:.1f} on {os.cpu_count()} cores: where it is at "
                  "or above the cores, other work holds them and a pool can only win what it leaves; the CPU seconds "
                  "say what the pool itself costs."]
    base = args.jobs[0]
    for jobs in args.jobs[1:]:
        ratios = [runs[i + k]["rate"] / runs[i + j]["rate"] for i in range(0, len(runs), len(args.jobs))
                  for j, k in [_positions(runs[i:i + len(args.jobs)], base, jobs)]]
        lines += ["", f"jobs {jobs} against jobs {base} in the same repeat (the runs next to each other): "
                      f"{', '.join(f'{x:.2f}x' for x in ratios)}; median **{statistics.median(ratios):.2f}x**."]
    lines += [
        "",
        f"Resumed onto a finished folder (every file up to date, no pool started): wall {resumed['wall']:.2f} s.",
        "",
        "Why each worker loads the codecs once (its initializer) rather than per file: loading and verifying "
        "the bundles of every part takes " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in loads.items())
        + f" (best of 5), against a median {per_file * 1e3:.0f} ms to read, code and write one file here.",
        "",
    ]
    RESULTS.write_text("\n".join(lines) + "\n")


def _positions(repeat: list[dict], base: int, jobs: int) -> tuple[int, int]:
    """Where the runs of `base` and `jobs` processes are within one repeat's runs."""
    order = [r["jobs"] for r in repeat]
    return order.index(base), order.index(jobs)


if __name__ == "__main__":
    sys.exit(main())
