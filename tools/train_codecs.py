"""Train every codec bundle of a table (family x bits x part) into models/, skipping the done ones.

    python tools/train_codecs.py [--families kmeans rqvae rqvae4] [--bits 6 9 10 12]
                                 [--parts body hands face] [--data DIR...] [--models models]
                                 [--checkpoint-dir DIR] [--jobs N] [--dry-run]

`make codecs` runs it. Each bundle is `python -m motion_tokens train-codec ...` run in this
process (the command each manifest records); a bundle whose manifest records the same command
and, for an RQ-VAE, the same optimisation settings and model version as this code's defaults
is skipped, so an interrupted run continues where it stopped, and an RQ-VAE interrupted
mid-training resumes from its checkpoint (--checkpoint-dir, default
$XDG_CACHE_HOME/motion_tokens/checkpoints). Progress: one line per bundle with the count and
the time so far, then the trainer's own lines. Data: --data for every part, else
$MOTION_TOKENS_DATA (default ../shared/data) with `PART_DATA` per part.

--jobs N trains N bundles at once, each its own `train-codec` process on one thread
(OMP_NUM_THREADS=1), longest first by the time the bundle's manifest last recorded, each line
prefixed with the bundle's name. On a GPU when torch sees one (a few minutes for all); on 2
CPU cores (--jobs 2) the RQ-VAEs take about the sum of their manifests' `seconds` over two
(--estimate prints it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import MISSING, asdict, fields
from pathlib import Path

from motion_tokens.core.codecs.registry import FAMILY_CLASSES, codec_name
from motion_tokens.core.codecs.training.fitted import command_line
from motion_tokens.core.codecs.training.rqvae_fit import RQVAETraining, default_training
from motion_tokens.core.errors import MotionTokensError
from motion_tokens.core.parts import PARTS
from motion_tokens.core.paths import data_dir
from motion_tokens.pipelines.train_codec import TrainOptions, train_codec

#: The data folders (under the data folder) each part is trained on by default.
PART_DATA = {"body": ("bandai", "beat2"),
             "hands": ("beat2", "hands/manipnet", "sign/fingerspelling", "sign/lexicons/fingerspelling"),
             "face": ("beat2",)}
BITS = (6, 9, 10, 12)


def _default_checkpoints() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "motion_tokens" / "checkpoints"


def _data_for(part: str, data) -> list[Path]:
    if data:
        return list(data)
    root = Path(os.path.relpath(data_dir())) if data_dir().is_absolute() else data_dir()
    return [root / name for name in PART_DATA.get(part, ("bandai", "beat2"))]


def is_done(folder: Path, family: str, bits: int, part: str, command: str) -> bool:
    """Whether the bundle in `folder` was made by `command` with this code's default
    settings (for an RQ-VAE: its optimisation settings and a 6D model)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("command") != command:
        return False
    cls = FAMILY_CLASSES[family]
    if any(manifest.get(key) != value for key, value in cls.sizes_at(bits, part).items()):
        return False
    if family == "kmeans":
        return True
    settings = asdict(default_training(part, cls.FRAMES_PER_LATENT, bits))
    # A setting added since a bundle was trained took its default value there.
    recorded = {f.name: f.default for f in fields(RQVAETraining) if f.default is not MISSING}
    recorded.update(manifest.get("training", {}).get("optimisation", {}))
    recorded.pop("optimizer", None)
    return recorded == settings and manifest.get("model_config", {}).get("rotation") == "6d"


def recorded_seconds(folder: Path) -> float:
    """The training time the bundle's manifest records (0 when there is none)."""
    try:
        return float(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["training"]["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def longest_first(seconds: dict[str, float]) -> list[str]:
    """The names by recorded time, longest first (ties by name)."""
    return sorted(seconds, key=lambda n: (-seconds[n], n))


def lanes_of(seconds: dict[str, float], jobs: int) -> list[list[str]]:
    """The names split over `jobs` workers, longest first, each to the least loaded worker
    (the order a pool taking the longest waiting job first runs them in)."""
    lanes, loads = [[] for _ in range(jobs)], [0.0] * jobs
    for name in longest_first(seconds):
        i = loads.index(min(loads))
        lanes[i].append(name)
        loads[i] += seconds[name]
    return lanes


def run_parallel(commands: dict[str, list[str]], jobs: int, order: list[str], env=None, out=sys.stdout) -> list[str]:
    """Run the commands (name -> argv), `jobs` at a time in `order`, each output line prefixed
    with `[name] `; the names of those that failed (a non-zero exit status)."""
    pending, lock, failed = list(order), threading.Lock(), []

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                name = pending.pop(0)
            proc = subprocess.Popen(commands[name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    env=env, bufsize=1)
            for line in proc.stdout:
                with lock:
                    print(f"[{name}] {line.rstrip()}", file=out, flush=True)
            if proc.wait() != 0:
                with lock:
                    failed.append(name)

    threads = [threading.Thread(target=worker) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failed


def _train_command(family: str, bits: int, part: str, data, out: Path, seed: int, checkpoints: Path) -> list[str]:
    argv = [sys.executable, "-m", "motion_tokens", "train-codec", "--family", family, "--bits", str(bits),
            "--part", part, "--data", *map(str, data), "--out", str(out), "--seed", str(seed)]
    return argv + (["--checkpoint-dir", str(checkpoints), "--resume"] if family != "kmeans" else [])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILY_CLASSES), choices=list(FAMILY_CLASSES))
    parser.add_argument("--bits", nargs="+", type=int, default=list(BITS), choices=BITS)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--data", nargs="+", type=Path, default=None, help="motion folders for every part")
    parser.add_argument("--models", type=Path, default=Path("models"), help="where the bundles go (models)")
    parser.add_argument("--checkpoint-dir", type=Path, default=None, help="RQ-VAE checkpoints (default: the cache)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="bundles trained at once, one thread each (1)")
    parser.add_argument("--estimate", action="store_true",
                        help="print the time the manifests record, in all and over --jobs workers, and stop")
    parser.add_argument("--dry-run", action="store_true", help="list what would be trained and stop")
    args = parser.parse_args(argv)
    if not 1 <= args.jobs <= (os.cpu_count() or 1):
        print(f"error: --jobs must be between 1 and this machine's {os.cpu_count()} cores, got {args.jobs}",
              file=sys.stderr)
        return 2
    jobs = [(f, b, p) for f in args.families for p in args.parts for b in args.bits]
    checkpoints = args.checkpoint_dir or _default_checkpoints()
    if args.estimate:
        return _estimate(jobs, args)
    if args.jobs > 1:
        return _main_parallel(jobs, args, checkpoints)
    start, trained = time.perf_counter(), 0
    for i, (family, bits, part) in enumerate(jobs, 1):
        name, data = codec_name(family, bits), _data_for(part, args.data)
        out = args.models / f"{name}-{part}"
        command = command_line(family, bits, part, data, out, args.seed, False)
        elapsed = time.perf_counter() - start
        if is_done(out, family, bits, part, command):
            print(f"[{i}/{len(jobs)}] {out.name}: up to date, skipped ({elapsed:.0f} s so far)", flush=True)
            continue
        if not all(Path(d).exists() for d in data):
            print(f"[{i}/{len(jobs)}] {out.name}: no data ({', '.join(map(str, data))}), skipped", flush=True)
            continue
        print(f"[{i}/{len(jobs)}] {out.name}: training ({elapsed:.0f} s so far)", flush=True)
        if args.dry_run:
            continue
        options = TrainOptions(family, bits, part, tuple(data), out, args.seed, checkpoint_dir=checkpoints,
                               resume=family != "kmeans")
        try:
            result = train_codec(options, progress=lambda line: print(line, flush=True))
        except MotionTokensError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        trained += 1
        print(*result.lines, sep="\n", flush=True)
    print(f"{trained} bundles trained, {len(jobs) - trained} up to date or skipped, "
          f"{time.perf_counter() - start:.0f} s in all", flush=True)
    return 0


def _estimate(jobs, args) -> int:
    seconds = {f"{codec_name(f, b)}-{p}": recorded_seconds(args.models / f"{codec_name(f, b)}-{p}")
               for f, b, p in jobs}
    lanes = lanes_of(seconds, args.jobs)
    busiest = max(sum(seconds[n] for n in lane) for lane in lanes)
    print(f"{len(seconds)} bundles: {sum(seconds.values()):.0f} s recorded in all; over {args.jobs} worker(s) "
          f"the busiest takes {busiest:.0f} s ({busiest / 3600:.2f} h)")
    return 0


def _main_parallel(jobs, args, checkpoints: Path) -> int:
    commands, seconds = {}, {}
    for family, bits, part in jobs:
        name, data = codec_name(family, bits), _data_for(part, args.data)
        out = args.models / f"{name}-{part}"
        if is_done(out, family, bits, part, command_line(family, bits, part, data, out, args.seed, False)):
            print(f"{out.name}: up to date, skipped", flush=True)
        elif not all(Path(d).exists() for d in data):
            print(f"{out.name}: no data ({', '.join(map(str, data))}), skipped", flush=True)
        else:
            commands[out.name] = _train_command(family, bits, part, data, out, args.seed, checkpoints)
            seconds[out.name] = recorded_seconds(out)
    order = longest_first(seconds)
    print(f"{len(order)} bundles to train, {args.jobs} at a time: {', '.join(order) or 'none'}", flush=True)
    if args.dry_run or not order:
        return 0
    start = time.perf_counter()
    failed = run_parallel(commands, args.jobs, order, env=os.environ | {"OMP_NUM_THREADS": "1"})
    print(f"{len(order) - len(failed)} bundles trained, {len(failed)} failed"
          + (f" ({', '.join(failed)})" if failed else "") + f", {time.perf_counter() - start:.0f} s in all", flush=True)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
