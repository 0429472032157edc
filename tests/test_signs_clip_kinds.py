"""Lexicon clips and queries of every kind the spot job reads: SMPL-X motion (.npz, and .bvh
read back onto SMPL-X) made from the ASL letters' fits, mixed with .pose clips, recover a word
joined from the letters' .pose files; a video (sign/video/signing_clip.mp4, through MediaPipe)
is found in itself, as a lexicon clip and as the query."""

import json
import shutil
from dataclasses import replace

import numpy as np
from motion_tokens.core.capture.fit import fit_landmarks
from motion_tokens.core.formats import write_motion
from motion_tokens.core.formats.pose import read_pose_landmarks
from motion_tokens.core.signs.features import SIGN_FPS, motion_sign_features, sign_features
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES
from motion_tokens.pipelines.spot import SpotOptions, spot
from sign_queries import WORD, joined_pose, letters
from test_cli_spot import assert_found


def test_motion_file_clips_recover_the_word(data_dir, tmp_path):
    folder = tmp_path / "lexicon"
    folder.mkdir()
    kinds = {"B": ".npz", "A": ".bvh", "L": ".npz", "V": ".bvh"}
    for clip in letters(data_dir).glob("*.pose"):
        suffix = kinds.get(clip.stem)
        if suffix is None:
            shutil.copy(clip, folder / clip.name)
        else:
            write_motion(folder / f"{clip.stem}{suffix}", fit_landmarks(read_pose_landmarks(clip)).motion)
    query = tmp_path / "balvy.pose"
    truth = joined_pose(data_dir, query)
    out = tmp_path / "found.json"
    result = spot(SpotOptions(query, folder, out))
    assert_found(json.loads(out.read_text()), truth)
    assert [d.label for d in result.detections] == list(WORD)


def test_a_motion_clip_signs_with_the_hand_that_moves(data_dir):
    fit = fit_landmarks(read_pose_landmarks(letters(data_dir) / "V.pose"))
    from_motion = motion_sign_features(fit.motion)
    from_fit = sign_features(fit)
    assert from_motion.dominant == from_fit.dominant == "right"
    assert from_motion.num_found == round(fit.motion.num_frames * SIGN_FPS / fit.motion.fps)
    # Where the hand was found the two agree row for row.
    np.testing.assert_allclose(from_motion.values[from_fit.frames], from_fit.values, atol=1e-9)
    mirrored = motion_sign_features(mirror_image(fit.motion))
    assert mirrored.dominant == "left"
    np.testing.assert_allclose(mirrored.values, from_motion.values, atol=1e-9)


def mirror_image(motion):
    """The motion reflected across the body's YZ plane: left and right joints swapped, each
    local rotation (w, x, y, z) made (w, x, -y, -z)."""
    names = list(SMPLX_JOINT_NAMES)
    swap = [names.index(n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")) for n in names]
    q = motion.rotations[:, swap] * np.array([1.0, 1.0, -1.0, -1.0])
    return replace(motion, rotations=q)


def test_a_video_is_found_in_itself(data_dir, tmp_path):
    folder = tmp_path / "lexicon"
    folder.mkdir()
    video = data_dir / "sign" / "video" / "signing_clip.mp4"
    shutil.copy(video, folder / "CLIP.mp4")
    for letter in "ABLVY":
        shutil.copy(letters(data_dir) / f"{letter}.pose", folder / f"{letter}.pose")
    out = tmp_path / "found.json"
    spot(SpotOptions(video, folder, out))
    detections = json.loads(out.read_text())
    best = max(detections, key=lambda d: d["confidence"])
    assert best["label"] == "CLIP" and best["confidence"] > 0.9, detections
    # A window is the lexicon's median clip (a letter, about 1 s), so the 1.9 s clip is found
    # as about a window of it, inside it.
    assert best["end"] - best["start"] > 0.8 and 0.0 <= best["start"] and best["end"] <= 58 / 30 + 1e-6
