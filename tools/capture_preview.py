"""A picture of the capture path for the README: frames of a video with the MediaPipe landmarks
drawn on them, above the fitted SMPL-X skeleton (the raw fit) and the skeleton decoded through
a codec, seen from the camera.

    .venv/bin/python tools/capture_preview.py [VIDEO] [--codecs kmeans-10 rqvae-10] [--frames 8 30 50]
                                              [--out docs/capture.png]

VIDEO defaults to the shared signing clip (MOTION_TOKENS_DATA/sign/video/signing_clip.mp4).
The skeleton is drawn by forward kinematics of the motions the capture job makes
(pipelines.capture), projected orthographically onto the camera's image plane (x right, y up).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

from motion_tokens.core.kinematics import forward_kinematics  # noqa: E402
from motion_tokens.core.paths import data_dir  # noqa: E402
from motion_tokens.core.steps import run_steps  # noqa: E402
from motion_tokens.pipelines.capture import CaptureOptions, capture_one_steps, capture_codecs  # noqa: E402

# Bones drawn (joint pairs of SMPL-X): legs, spine, head, arms; and each finger's chain.
BODY_BONES = [(0, 1), (1, 4), (4, 7), (7, 10), (0, 2), (2, 5), (5, 8), (8, 11), (0, 3), (3, 6), (6, 9), (9, 12), (12, 15), (9, 13), (13, 16), (16, 18), (18, 20),
              (9, 14), (14, 17), (17, 19), (19, 21)]


def finger_bones(parents) -> list[tuple[int, int]]:
    return [(int(parents[j]), j) for j in range(25, 55)]


def frame_images(path: Path, indices) -> dict[int, np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    out, i = {}, 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i in indices:
            out[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        i += 1
    cap.release()
    return out


def draw_landmarks(ax, image, landmarks, k) -> None:
    ax.imshow(image)
    for hand, colour in ((landmarks.left_hand, "tab:blue"), (landmarks.right_hand, "tab:red")):
        if np.isfinite(hand[k]).all():
            ax.scatter(hand[k, :, 0], hand[k, :, 1], s=4, c=colour)
    ax.set_axis_off()


def draw_skeleton(ax, motion, k, parents, colour) -> None:
    _, pos = forward_kinematics(motion.rotations[k:k + 1], motion.skeleton.offsets, motion.skeleton.parents,
                                motion.root_positions()[k:k + 1])
    p = pos[0]
    for a, b in BODY_BONES + finger_bones(parents):
        # The camera looks along -Z at a person facing +Z: their left is on the image's right.
        ax.plot([p[a, 0], p[b, 0]], [p[a, 1], p[b, 1]], color=colour, linewidth=1.5 if b < 25 else 0.8)
    ax.set_xlim(p[0, 0] - 0.6, p[0, 0] + 0.6)
    ax.set_ylim(p[0, 1] - 1.05, p[15, 1] + 0.25)  # feet to above the head
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", nargs="?", type=Path, default=None)
    parser.add_argument("--codecs", nargs="+", default=["kmeans-10", "rqvae-10"])
    parser.add_argument("--frames", nargs="+", type=int, default=[8, 30, 50])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "capture.png")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    video = args.video or data_dir() / "sign" / "video" / "signing_clip.mp4"
    runs = []
    for codec in args.codecs:
        options = CaptureOptions((video,), codec)
        runs.append(run_steps(capture_one_steps(Path(video), options, capture_codecs(options))))
    captured = runs[0]
    lm = captured.landmarks
    images = frame_images(video, set(args.frames))
    parents = np.asarray(captured.raw.skeleton.parents)
    n = len(args.frames)
    rows = 2 + len(runs)
    fig, axes = plt.subplots(rows, n, figsize=(2.6 * n, 2.6 * rows + 0.4),
                             gridspec_kw={"height_ratios": [1.35] + [1] * (rows - 1)})
    for c, k in enumerate(args.frames):
        draw_landmarks(axes[0, c], images[k], lm, k)
        axes[0, c].set_title(f"frame {k}: hands found L {bool(lm.left_found[k])} R {bool(lm.right_found[k])}",
                             fontsize=8)
        # The fitted motion is at 30 fps like the clip; the frame nearest in time.
        j = min(int(round(k / lm.fps * captured.raw.fps)), captured.raw.num_frames - 1)
        draw_skeleton(axes[1, c], captured.raw, j, parents, "black")
        for r, run in enumerate(runs):
            draw_skeleton(axes[2 + r, c], run.decoded, j, parents, ("tab:green", "tab:purple", "tab:orange")[r % 3])
    axes[1, 0].set_ylabel("raw fit", fontsize=9)
    for r, run in enumerate(runs):
        errors = ", ".join(f"{part} {cm:.1f} cm" for part, cm in run.coded.rmse_cm.items())
        axes[2 + r, 0].set_ylabel(f"{run.codec_label}\n({errors})", fontsize=8)
    fig.suptitle(f"{video.name}: MediaPipe landmarks -> SMPL-X fit -> tokens -> decoded", fontsize=10)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"{args.out}: frames {args.frames} of {video.name}; {lm.found_summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
