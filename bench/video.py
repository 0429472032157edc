"""Video to motion: speed end to end with each stage timed apart, and how closely the fit follows
its landmarks on the signing clip and on every fingerspelling letter, per language.

    .venv/bin/python bench/video.py [--repeats 3] [--out bench/results/video.md] [--no-accuracy]

Speed, on shared/data/sign/video/signing_clip.mp4 (58 frames, 540x720), all in one run:
- decoding alone (OpenCV, every frame, no MediaPipe);
- MediaPipe alone: Holistic (model_complexity=1) on the decoded frames held in memory;
- the reader the capture job uses (core.capture.video: decoding + MediaPipe) with 1 and 2 workers;
- the fit (core.capture.fit), coding and decoding through kmeans-10 and rqvae-10 (the capture
  job's code_motion_steps, joint position error included), keying the decoded motion and the raw
  fit on an SMPL-X armature (scene.actions.write_motion, bpy);
and the share of the rest (fit + coding + keys) against MediaPipe alone: the issue's budget is
under 5%. Best of --repeats for each stage.

Accuracy (core.capture.fit_errors): forward kinematics of the fitted skeleton against the
MediaPipe landmarks it was fitted to, after scale alignment: body points (cm) and bone
directions (degrees), each hand's finger points (cm, relative to the wrist, the landmarks scaled
per frame) and finger bone directions (degrees), on the frames each part was found in. This is
agreement with the input, not with a ground truth (the synthetic round trip in
tests/test_capture_fit.py is that): on the lexicon files the depth is nearly flat (see
core/formats/pose.py), so a direction error there includes what a 2D input cannot say.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "video.md"

from motion_tokens.core.machine import machine_line  # noqa: E402
from motion_tokens.core.paths import data_dir  # noqa: E402

FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def best(fn, repeats: int):
    """(the fastest wall time of `repeats` calls in seconds, the last result)."""
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def decoded_frames(path: Path) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def mediapipe_alone(frames) -> int:
    import cv2
    import mediapipe as mp

    found = 0
    with mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1) as holistic:
        for frame in frames:
            found += holistic.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).pose_world_landmarks is not None
    return found


def read_landmarks(path: Path, workers: int):
    from motion_tokens.core.capture.video import VideoLandmarkReader

    reader = VideoLandmarkReader(path, workers=workers)
    try:
        while reader.read(16):
            pass
        return reader.landmarks()
    finally:
        reader.close()


def speed(clip: Path, repeats: int) -> tuple[list[str], dict]:
    import bpy  # noqa: F401  (keying below; imported first so its start-up is not timed)
    from motion_tokens.core.capture.fit import fit_landmarks
    from motion_tokens.core.steps import run_steps
    from motion_tokens.pipelines.encode import code_motion_steps
    from motion_tokens.scene.actions import write_motion
    from motion_tokens.core.skeleton import smplx_skeleton
    from motion_tokens.scene.armature import create_armature

    t_decode, frames = best(lambda: decoded_frames(clip), repeats)
    n = len(frames)
    t_mp, found = best(lambda: mediapipe_alone(frames), repeats)
    t_read1, landmarks = best(lambda: read_landmarks(clip, 1), repeats)
    t_read2, landmarks2 = best(lambda: read_landmarks(clip, 2), repeats)
    t_fit, fit = best(lambda: fit_landmarks(landmarks), max(repeats, 5))
    raw30 = fit.motion.resampled(30.0)
    rows = {}
    for codec in ("kmeans-10", "rqvae-10"):
        codecs = {"body": codec, "hands": codec}
        t_code, coded = best(lambda: run_steps(code_motion_steps(raw30, codecs)), max(repeats, 5))
        rows[codec] = (t_code, coded)

    def keys():
        obj = create_armature(smplx_skeleton(), name="bench")
        write_motion(obj, rows["kmeans-10"][1].encoded.decoded, action_name="decoded")
        write_motion(obj, raw30, action_name="raw")
        return obj

    t_keys, _ = best(keys, repeats)
    t_code = rows["kmeans-10"][0]
    rest = t_fit + t_code + t_keys
    lines = [
        f"Clip: {clip.name}, {n} frames ({landmarks.found_summary()}; with 2 workers {landmarks2.found_summary()}).",
        "",
        "| stage | seconds | frames/s | share of MediaPipe alone |",
        "|---|---|---|---|",
        f"| decoding alone (OpenCV) | {t_decode:.3f} | {n / t_decode:.0f} | {100 * t_decode / t_mp:.1f}% |",
        f"| **MediaPipe alone** (Holistic on decoded frames) | {t_mp:.3f} | {n / t_mp:.1f} | 100% |",
        f"| reader, 1 worker (decoding + MediaPipe) | {t_read1:.3f} | {n / t_read1:.1f} | {100 * t_read1 / t_mp:.0f}% |",
        f"| reader, 2 workers | {t_read2:.3f} | {n / t_read2:.1f} | {100 * t_read2 / t_mp:.0f}% |",
        f"| fit (smoothing, body, hands, gaps) | {t_fit:.4f} | {n / t_fit:.0f} | {100 * t_fit / t_mp:.2f}% |",
    ]
    for codec, (t, _) in rows.items():
        lines.append(f"| coding + decoding + error, {codec} | {t:.4f} | {n / t:.0f} | {100 * t / t_mp:.2f}% |")
    lines += [
        f"| keying decoded + raw actions (bpy) | {t_keys:.4f} | {n / t_keys:.0f} | {100 * t_keys / t_mp:.2f}% |",
        f"| **fit + coding (kmeans-10) + keys** | {rest:.4f} | {n / rest:.0f} | **{100 * rest / t_mp:.2f}%** |",
        "",
        f"End to end with 1 worker: {n / (t_read1 + rest):.1f} frames/s; with 2 workers: {n / (t_read2 + rest):.1f} "
        f"frames/s (MediaPipe alone {n / t_mp:.1f} frames/s).",
    ]
    differences = _worker_difference(landmarks, landmarks2)
    lines += ["", differences, "", "## Coded against the fit", "",
              "Joint position RMSE (cm) of the decoded motion against the raw fit it was coded from (the capture "
              "job's own figure), on the clip, per codec at 30 fps:", "",
              "| codec | body cm | hands cm |", "|---|---|---|"]
    for codec in ("kmeans-6", "rqvae-6", "kmeans-10", "rqvae-10", "rqvae4-10", "kmeans-12", "rqvae-12", "rqvae4-12"):
        try:
            coded = run_steps(code_motion_steps(raw30, {"body": codec, "hands": codec}))
        except Exception as error:  # a bundle not installed: say so in the table
            lines.append(f"| {codec} | {type(error).__name__} | |")
            continue
        lines.append(f"| {codec} | {coded.rmse_cm['body']:.2f} | {coded.rmse_cm['hands']:.2f} |")
    return lines, {"landmarks": landmarks, "fit": fit}


def _worker_difference(a, b) -> str:
    both = a.body_found & b.body_found
    wrist = np.linalg.norm(a.body[both][:, 15:17] - b.body[both][:, 15:17], axis=-1)
    return (f"Landmarks with 2 workers against 1: body found {int(b.body_found.sum())} / {int(a.body_found.sum())}, "
            f"right hand {int(b.right_found.sum())} / {int(a.right_found.sum())}, left hand "
            f"{int(b.left_found.sum())} / {int(a.left_found.sum())}; wrist world landmarks differ by "
            f"{100 * wrist.mean():.2f} cm on average (max {100 * wrist.max():.2f} cm) over {int(both.sum())} frames.")


def _fingerspelling_files(data: Path) -> list[tuple[str, str, Path]]:
    """(language, letter, path) for ASL (file name = letter) and the nine lexicons (index.csv)."""
    out = [("ase", p.stem, p) for p in sorted((data / "sign" / "fingerspelling").glob("*.pose"))]
    lexicon = data / "sign" / "lexicons" / "fingerspelling"
    with open(lexicon / "index.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.append((row["signed_language"], row["words"], lexicon / row["path"]))
    return out


def _errors(landmarks):
    from motion_tokens.core.capture.fit import fit_landmarks
    from motion_tokens.core.capture.fit_errors import fit_errors

    fit = fit_landmarks(landmarks)
    return fit_errors(fit, landmarks)


def _hand_cells(errs: list[dict]) -> list[str]:
    """Frame-weighted means over the files' hands that were found, per finger (degrees) and
    the finger points (cm)."""
    cells = []
    hands = [h for e in errs for h in (e["left_hand"], e["right_hand"]) if h["frames"]]
    frames = sum(h["frames"] for h in hands)
    if not frames:
        return ["-"] * (len(FINGERS) + 2)
    cells.append(f"{sum(h['mean_position_cm'] * h['frames'] for h in hands) / frames:.2f}")
    for finger in FINGERS:
        cells.append(f"{sum(h['direction_deg'][finger] * h['frames'] for h in hands) / frames:.1f}")
    cells.append(f"{sum(h['mean_direction_deg'] * h['frames'] for h in hands) / frames:.1f}")
    return cells


def _body_cells(errs: list[dict]) -> list[str]:
    bodies = [e["body"] for e in errs if e["body"]["frames"]]
    frames = sum(b["frames"] for b in bodies)
    if not frames:
        return ["-", "-"]
    pos = sum(b["mean_position_cm"] * b["frames"] for b in bodies) / frames
    ang = sum(b["mean_direction_deg"] * b["frames"] for b in bodies) / frames
    return [f"{pos:.2f}", f"{ang:.1f}"]


def accuracy(clip_landmarks, data: Path) -> list[str]:
    from motion_tokens.core.formats.pose import read_pose_landmarks

    header = ("| input | files | frames | hand frames | body points cm | body bones deg | finger points cm | "
              + " | ".join(f"{f} deg" for f in FINGERS) + " | fingers mean deg |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    clip_err = _errors(clip_landmarks)
    hand_frames = clip_err["left_hand"]["frames"] + clip_err["right_hand"]["frames"]
    lines.append(f"| signing clip (video) | 1 | {clip_landmarks.num_frames} | {hand_frames} | "
                 + " | ".join(_body_cells([clip_err]) + _hand_cells([clip_err])) + " |")
    by_language = defaultdict(list)
    frames = defaultdict(int)
    for language, letter, path in _fingerspelling_files(data):
        landmarks = read_pose_landmarks(path)
        by_language[language].append(_errors(landmarks))
        frames[language] += landmarks.num_frames
    for language in sorted(by_language):
        errs = by_language[language]
        hand_frames = sum(e["left_hand"]["frames"] + e["right_hand"]["frames"] for e in errs)
        lines.append(f"| {language} fingerspelling | {len(errs)} | {frames[language]} | {hand_frames} | "
                     + " | ".join(_body_cells(errs) + _hand_cells(errs)) + " |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-accuracy", action="store_true", help="the speed table only")
    args = parser.parse_args(argv)
    data = data_dir()
    clip = data / "sign" / "video" / "signing_clip.mp4"
    if not clip.is_file():
        print(f"bench/video.py: the signing clip is not at {clip} (set MOTION_TOKENS_DATA)", file=sys.stderr)
        return 2
    out = ["# Video to motion", "", f"Measured by `.venv/bin/python bench/video.py --repeats {args.repeats}` on "
           f"{machine_line()}; load average before: {os.getloadavg()[0]:.2f}.", "", "## Speed", ""]
    lines, made = speed(clip, args.repeats)
    out += lines
    if not args.no_accuracy:
        out += ["", "## Fit accuracy: the fitted skeleton against its landmarks", "",
                "Forward kinematics of the fit (one-euro smoothing on, the defaults) against the MediaPipe "
                "landmarks, after scale alignment, on the frames each part was found in (frame-weighted "
                "means over files; fingers over both hands where found). Agreement with the input, not "
                "ground truth: see the module docstring of bench/video.py.", ""]
        out += accuracy(made["landmarks"], data)
    text = "\n".join(out) + "\n"
    print(text)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
