"""Edit by tokens (core/inspect/token_edit.py): an edit changes only its range plus the blend
margin, the range decodes to the replacement, the blend is continuous, bad input is refused,
and the decoder reach the margins rest on is the one measured here.

The motion is demo/beat2_excerpt.npz (150 frames) played forward, backward, forward, backward
(600 frames, 20 s, no jump where the copies meet), so that ranges longer than twice an RQ-VAE's
reach fit; it is encoded with the shipped body bundles kmeans-6, rqvae-6 and rqvae4-9 (64 codes a
level, so a range of rows leaves codes of every level unused to edit in).
"""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.codecs.coding import encode_parts, load_tokens_codecs, write_encoded
from motion_tokens.core.codecs.features import part_features
from motion_tokens.core.errors import MotionTokensError, OptionError
from motion_tokens.core.formats.npz import read_smplx_npz
from motion_tokens.core.formats.tokens import read_tokens_file
from motion_tokens.core.inspect.token_edit import (
    MEASURED_DECODER_REACH, copied_tokens, decoded_edit, decoder_reach_frames, default_margin_frames,
    edit_motion_tokens, edit_window, encoded_tokens_file, edited_tokens, min_margin_frames, token_rows)
from motion_tokens.core.parts import get_part

DEMO = Path(__file__).resolve().parents[1] / "demo" / "beat2_excerpt.npz"
CODECS = ["kmeans-6", "rqvae-6", "rqvae4-9"]
BODY = list(get_part("body").joints)
START, STOP = 60, 90


@pytest.fixture(scope="module")
def motion():
    demo = read_smplx_npz(DEMO)
    order = np.concatenate([np.arange(demo.num_frames), np.arange(demo.num_frames)[::-1]] * 2)
    expressions = None if demo.expressions is None else demo.expressions[order]
    return replace(demo, rotations=demo.rotations[order], trans=demo.trans[order], expressions=expressions)


@pytest.fixture(scope="module")
def encoded_by(motion):
    cache = {}

    def encoded(name, part="body", more=None):
        key = (name, part, tuple(sorted((more or {}).items())))
        if key not in cache:
            cache[key] = encode_parts(motion, {part: name, **(more or {})})
        return cache[key]

    return encoded


def a_code(codec, tokens, rows):
    """A code no row of `rows` holds (so the edit changes every replaced row): an int, or Q ints."""
    held = tokens[rows]
    if held.ndim == 1:
        return int(next(c for c in range(codec.codebook_size) if c not in held))
    return tuple(int(next(c for c in range(codec.codebook_size) if c not in held[:, q])) for q in range(held.shape[1]))


def joint_steps(rotations):
    """(T - 1, J) angle (rad) between consecutive frames of (T, J, 4) quaternions."""
    return rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(rotations[:-1]), rotations[1:]))


def angles_between(a, b):
    return rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(a), b))


def quats(features):
    return rot.axis_angle_to_quat(features[:, : 3 * len(BODY)].reshape(len(features), len(BODY), 3))


@pytest.mark.parametrize("name", CODECS)
def test_edit_changes_only_the_range_and_margin(encoded_by, name):
    enc = encoded_by(name)
    codec, tokens = enc.codecs["body"], enc.tokens["body"]
    T = enc.decoded.num_frames
    out = edit_motion_tokens(enc, "body", START, STOP, a_code(codec, tokens, token_rows(codec, START, STOP)))
    window = edit_window(codec, START, STOP, T)
    M = default_margin_frames(codec)
    assert (window.start, window.stop) == (max(START - M, 0), STOP + M)  # rqvae4's 75 reach frame 0
    before, after = enc.decoded.rotations, out.decoded.rotations
    # (a) outside [start - M, stop + M) the decoded motion is the unedited decode, bit for bit
    np.testing.assert_array_equal(after[: window.start], before[: window.start])
    np.testing.assert_array_equal(after[window.stop:], before[window.stop:])
    others = [j for j in range(before.shape[1]) if j not in BODY]
    np.testing.assert_array_equal(after[:, others], before[:, others])
    np.testing.assert_array_equal(out.decoded.trans, enc.decoded.trans)
    assert np.all(np.any(after[START:STOP] != before[START:STOP], axis=(1, 2)))  # the range did change
    rows = token_rows(codec, START, STOP)
    changed = np.flatnonzero(np.any((out.tokens["body"] != tokens).reshape(len(tokens), -1), axis=1))
    np.testing.assert_array_equal(changed, np.arange(rows.start, rows.stop))


@pytest.mark.parametrize("name", CODECS)
def test_range_decodes_to_the_replacement(encoded_by, name):
    """(b) the range is the decode of the edited tokens; for k-means exactly the code's centroid."""
    enc = encoded_by(name)
    codec, tokens = enc.codecs["body"], enc.tokens["body"]
    code = a_code(codec, tokens, token_rows(codec, START, STOP))
    edited = edited_tokens(codec, tokens, START, STOP, code, enc.decoded.num_frames)
    original = part_features(enc.decoded, "body")
    features = decoded_edit(codec, original, tokens, edited, START, STOP)
    T = len(original)
    np.testing.assert_allclose(features[START:STOP], codec.decode(edited, T)[START:STOP], atol=1e-5)
    out = edit_motion_tokens(enc, "body", START, STOP, code)
    np.testing.assert_allclose(part_features(out.decoded, "body")[START:STOP], features[START:STOP], atol=1e-5)
    if codec.family == "kmeans":
        centroid = codec.centroids[code] * codec.normalisation.std + codec.normalisation.mean
        np.testing.assert_array_equal(features[START:STOP], np.broadcast_to(centroid, (STOP - START, len(centroid))))


@pytest.mark.parametrize("name", ["rqvae-6", "rqvae4-9"])
def test_long_range_interior_is_the_codes_steady_pose(encoded_by, name):
    """(b) for RQ-VAE: frames farther than the reach from both ends of a long range decode as if
    every row held the code (one latent held constant decodes to one pose)."""
    enc = encoded_by(name)
    codec, tokens = enc.codecs["body"], enc.tokens["body"]
    m = min_margin_frames(codec)
    start, stop = START, START + 2 * m + 32
    code = a_code(codec, tokens, token_rows(codec, start, stop))
    out = edit_motion_tokens(enc, "body", start, stop, code)
    steady = codec.decode(np.tile(np.asarray(code), (len(tokens), 1)))[len(tokens) * codec.frames_per_latent // 2]
    interior = part_features(out.decoded, "body")[start + m : stop - m]
    np.testing.assert_allclose(interior, np.broadcast_to(steady, interior.shape), atol=1e-5)


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("margin", [None, "least"])
def test_blend_is_continuous(encoded_by, name, margin):
    """(c) Every per-joint frame-to-frame rotation of the edited motion is at most
        max(largest step of the unedited decode, largest step of the blend target)
        + 1.5 / (M + 1) x the largest angle between the unedited decode and the target in the margins
    (+1e-6 rad): the bound of slerping two moving poses by a smoothstep weight that moves at most
    1.5 / (M + 1) a frame. The target is the decode of the edited tokens held beyond the frames the
    edit reaches (module docstring), so for k-means with one code its steps are 0 and the bound is
    the unedited motion's own largest step plus the pose change spread over the margin."""
    enc = encoded_by(name)
    codec, tokens = enc.codecs["body"], enc.tokens["body"]
    M = default_margin_frames(codec) if margin is None else max(min_margin_frames(codec), 2)
    code = a_code(codec, tokens, token_rows(codec, START, STOP))
    out = edit_motion_tokens(enc, "body", START, STOP, code, margin_frames=M)
    T = enc.decoded.num_frames
    edited = out.tokens["body"]
    rows, reach, fpl = token_rows(codec, START, STOP), decoder_reach_frames(codec), codec.frames_per_latent
    lo, hi = rows.start * fpl - reach, rows.stop * fpl + reach
    target = quats(codec.decode(edited, T)[np.clip(np.arange(T), lo, hi - 1)])
    original = enc.decoded.rotations[:, BODY]
    first, last = max(START - M, 0), min(STOP + M, T)
    margins = np.r_[first:START, STOP:last]
    spread = 1.5 / (M + 1) * angles_between(original[margins], target[margins]).max()
    bound = max(joint_steps(original).max(), joint_steps(target[first:last]).max()) + spread + 1e-6
    result = joint_steps(out.decoded.rotations[:, BODY])
    assert result.max() <= bound
    if codec.family == "kmeans":  # the blend does smooth: without it the range's first frame jumps by this
        jump = angles_between(original[START - 1], target[START]).max()
        assert result[START - M - 1 : START].max() < jump


@pytest.mark.parametrize("name", CODECS)
def test_copied_sequence_reproduces_its_source(encoded_by, name):
    """(d) rows copied from one range and pasted at another decode, in the paste's middle, to the
    source's decoded poses: exactly for k-means (0-30 at 100-130); for RQ-VAE, whose frames depend
    on their neighbours' tokens, at the frames farther than the reach from both ends (to 1e-5)."""
    enc = encoded_by(name)
    codec, tokens = enc.codecs["body"], enc.tokens["body"]
    T = enc.decoded.num_frames
    m = min_margin_frames(codec)
    length = 30 if codec.family == "kmeans" else 32 + 2 * m  # rqvae4: a whole number of latents
    source, paste = (0, length), (100 if codec.family == "kmeans" else 200, None)
    paste = (paste[0], paste[0] + length)
    rows = copied_tokens(codec, tokens, *source, T)
    np.testing.assert_array_equal(rows, tokens[token_rows(codec, *source)])
    edited = edited_tokens(codec, tokens, *paste, rows, T)
    np.testing.assert_array_equal(edited[token_rows(codec, *paste)], rows)
    features = decoded_edit(codec, part_features(enc.decoded, "body"), tokens, edited, *paste)
    unedited = codec.decode(tokens, T)
    if codec.family == "kmeans":
        np.testing.assert_array_equal(features[paste[0] : paste[1]], unedited[source[0] : source[1]])
    else:
        np.testing.assert_allclose(features[paste[0] + m : paste[1] - m], unedited[source[0] + m : source[1] - m], atol=1e-5)


def test_sequence_is_tiled_or_cut_to_the_range(encoded_by):
    enc = encoded_by("kmeans-6")
    codec, tokens = enc.codecs["body"], enc.tokens["body"]
    np.testing.assert_array_equal(edited_tokens(codec, tokens, 10, 17, [1, 2, 3])[10:17], [1, 2, 3, 1, 2, 3, 1])
    np.testing.assert_array_equal(edited_tokens(codec, tokens, 10, 12, [1, 2, 3])[10:12], [1, 2])
    enc4 = encoded_by("rqvae4-9")
    codec4, tokens4 = enc4.codecs["body"], enc4.tokens["body"]
    out = edited_tokens(codec4, tokens4, 5, 13, (1, 2, 3, 4, 5, 6))  # frames 5-12: latents 1-3 (frames 4-15)
    np.testing.assert_array_equal(np.flatnonzero(np.any(out != tokens4, axis=1)), [1, 2, 3])


@pytest.mark.parametrize("name, start, stop, code, problem", [
    ("kmeans-6", -1, 30, 3, "start frame -1 is outside"),
    ("kmeans-6", 600, 610, 3, "start frame 600 is outside"),
    ("kmeans-6", 30, 601, 3, "stop frame 601 must be"),
    ("kmeans-6", 30, 30, 3, "stop frame 30 must be after"),
    ("kmeans-6", 30.5, 40, 3, "start frame must be a whole frame number"),
    ("kmeans-6", 30, 40, 64, "code 64 is not one of codec kmeans-6-body's 64 codes"),
    ("kmeans-6", 30, 40, -1, "code -1 is not one of"),
    ("kmeans-6", 30, 40, 1.5, "must be whole numbers"),
    ("kmeans-6", 30, 40, [], "sequence is empty"),
    ("kmeans-6", 30, 40, [[1, 2]], "one code or a sequence"),
    ("rqvae-6", 30, 40, 3, "wrong number of levels: RQ-VAE codec rqvae-6-body has 2 levels"),
    ("rqvae-6", 30, 40, (1, 2, 3), "wrong number of levels"),
    ("rqvae-6", 30, 40, [(1, 2), (3, 4, 5)], "rows must all hold the same number of codes"),
    ("rqvae-6", 30, 40, (1, 8), "code 8 at level 1 is not one of codec rqvae-6-body's 8 codes"),
    ("rqvae4-9", 30, 40, (1, 2, 3, 64, 0, 0), "code 64 at level 3"),
])
def test_bad_ranges_and_codes_are_refused(encoded_by, name, start, stop, code, problem):
    """(e) OptionError naming the problem, before anything is decoded."""
    enc = encoded_by(name)
    with pytest.raises(OptionError, match=problem.replace("(", r"\(")):
        edit_motion_tokens(enc, "body", start, stop, code)


def test_bad_margin_part_and_tokens_are_refused(encoded_by):
    enc = encoded_by("rqvae-6")
    codec, tokens = enc.codecs["body"], enc.tokens["body"]
    with pytest.raises(OptionError, match="margin_frames must be a whole number of frames from 42"):
        edit_motion_tokens(enc, "body", START, STOP, (1, 2), margin_frames=41)
    with pytest.raises(OptionError, match="part 'hands' is not coded here; the coded parts are body"):
        edit_motion_tokens(enc, "hands", START, STOP, (1, 2))
    edited = tokens.copy()
    edited[10] = (edited[10] + 1) % codec.codebook_size
    with pytest.raises(MotionTokensError, match="differ from the original at row 10, outside rows 60-89"):
        decoded_edit(codec, part_features(enc.decoded, "body"), tokens, edited, START, STOP)
    with pytest.raises(MotionTokensError, match="the token array has shape"):
        edited_tokens(codec, tokens[:, :1], START, STOP, (1, 2))


def test_other_parts_untouched_and_face_blends_linearly(encoded_by):
    """Editing the body leaves the face's tokens and decoded motion as they were; editing the
    face (k-means, jaw + expression coefficients) sets the range's expressions to the code's
    centroid and keeps them bit for bit outside the window."""
    enc = encoded_by("kmeans-6", "body", {"face": "kmeans-6"})
    out = edit_motion_tokens(enc, "body", START, STOP, 7)
    assert out.tokens["face"] is enc.tokens["face"]
    np.testing.assert_array_equal(out.decoded.expressions, enc.decoded.expressions)
    np.testing.assert_array_equal(out.decoded.rotations[:, 22], enc.decoded.rotations[:, 22])
    codec = enc.codecs["face"]
    code = a_code(codec, enc.tokens["face"], token_rows(codec, START, STOP))
    face = edit_motion_tokens(enc, "face", START, STOP, code)
    window = edit_window(codec, START, STOP, enc.decoded.num_frames)
    before, after = enc.decoded.expressions, face.decoded.expressions
    np.testing.assert_array_equal(after[: window.start], before[: window.start])
    np.testing.assert_array_equal(after[window.stop:], before[window.stop:])
    E = get_part("face").expressions
    centroid = codec.centroids[code] * codec.normalisation.std + codec.normalisation.mean
    np.testing.assert_allclose(after[START:STOP, :E], np.broadcast_to(centroid[-E:], (STOP - START, E)), atol=1e-6)
    np.testing.assert_array_equal(face.decoded.rotations[:, BODY], enc.decoded.rotations[:, BODY])
    # the margin is a linear blend: each frame's expressions lie between the unedited and the centroid
    f = window.start + 2
    w = (after[f, :E] - before[f, :E]) / (centroid[-E:] - before[f, :E])
    np.testing.assert_allclose(w, w[0], atol=1e-6)
    assert 0 < w[0] < 1


@pytest.mark.parametrize("name", ["kmeans-6", "rqvae-6", "rqvae4-6"])
def test_measured_decoder_reach_is_the_constant(encoded_by, name):
    """(f) Decoding random tokens with one code of the middle latent changed (each level, to
    three other codes) changes no frame farther than MEASURED_DECODER_REACH from that latent's
    own frames, and the farthest change reaches it; the default margin covers it."""
    codec = encoded_by(name).codecs["body"]
    fpl = codec.frames_per_latent
    rows = 400 // fpl
    middle = rows // 2
    rng = np.random.default_rng(0)
    farthest = 0
    for _ in range(2):
        tokens = rng.integers(0, codec.codebook_size, codec.token_shape(rows))
        decoded = codec.decode(tokens)
        for level in range(codec.codebooks):
            for shift in (1, 2, 3):
                changed = tokens.copy()
                changed.reshape(rows, -1)[middle, level] = (tokens.reshape(rows, -1)[middle, level] + shift) % codec.codebook_size
                frames = np.flatnonzero(np.any(codec.decode(changed) != decoded, axis=1))
                farthest = max(farthest, middle * fpl - frames[0], frames[-1] - (middle * fpl + fpl - 1))
    assert farthest == MEASURED_DECODER_REACH[codec.family] == decoder_reach_frames(codec)
    assert default_margin_frames(codec) >= farthest + fpl - 1


def test_tokens_file_edits_like_its_encoding(encoded_by, tmp_path):
    """A tokens file read back edits as the EncodedMotion it was written from."""
    enc = encoded_by("rqvae-6")
    tokens_file = read_tokens_file(write_encoded(tmp_path / "take.npz", enc))
    from_file = encoded_tokens_file(tokens_file, load_tokens_codecs(tokens_file))
    a = edit_motion_tokens(from_file, "body", START, STOP, (1, 2))
    b = edit_motion_tokens(enc, "body", START, STOP, (1, 2))
    np.testing.assert_array_equal(a.tokens["body"], b.tokens["body"])
    window = edit_window(enc.codecs["body"], START, STOP, enc.decoded.num_frames)
    np.testing.assert_array_equal(a.decoded.rotations[window.stop:], from_file.decoded.rotations[window.stop:])
    np.testing.assert_allclose(a.decoded.rotations[START:STOP], b.decoded.rotations[START:STOP], atol=1e-5)
