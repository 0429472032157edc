"""Sign queries and lexicons for the spot tests (CLI, pipeline and Blender): the ASL letters of
the shared fingerspelling data joined into one .pose (pose-format: body data and confidence
concatenated along frames), and a lexicon folder of the letters with a recorded 'word' for each
letter of WORD, a tone of its own pitch, so a spoken track or a sound strip says which word it is."""

import shutil

import numpy as np
import numpy.ma as ma
from pose_format import Pose

WORD = "BALVY"


def letters(data_dir):
    return data_dir / "sign" / "fingerspelling"


def joined_pose(data_dir, path):
    """Write the word's letters joined into one .pose; [(letter, start s, end s)] at the file's fps."""
    poses = [Pose.read((letters(data_dir) / f"{c}.pose").read_bytes()) for c in WORD]
    lengths = [p.body.data.shape[0] for p in poses]  # before the first's data become the whole word's
    first = poses[0]
    fps = float(first.body.fps)
    first.body.data = ma.concatenate([p.body.data for p in poses], axis=0)
    first.body.confidence = np.concatenate([p.body.confidence for p in poses], axis=0)
    with open(path, "wb") as f:
        first.write(f)
    truth, frame = [], 0
    for c, n in zip(WORD, lengths):
        truth.append((c, frame / fps, (frame + n) / fps))
        frame += n
    return truth


TONES_HZ = {"B": 300.0, "A": 500.0, "L": 700.0, "V": 900.0, "Y": 1100.0}
TONE_S, TONE_RATE = 0.4, 22050


def lexicon_with_words(data_dir, folder):
    """The ASL letters' clips, with a recorded 'word' for each letter of WORD: a tone of its own
    pitch (TONES_HZ), so the spoken track says which word lies where."""
    import soundfile

    folder.mkdir()
    for clip in letters(data_dir).glob("*.pose"):
        shutil.copy(clip, folder / clip.name)
    t = np.arange(int(TONE_S * TONE_RATE)) / TONE_RATE
    for letter, hz in TONES_HZ.items():
        soundfile.write(folder / f"{letter}.wav", 0.5 * np.sin(2 * np.pi * hz * t), TONE_RATE)
    return folder
