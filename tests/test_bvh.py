"""BVH reading and writing: hand-worked FK, an independent reference on the Bandai takes, round
trips, and every kind of broken file."""

import logging
import time
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.errors import (
    CorruptFileError,
    LayoutError,
    MissingFileError,
    OutputError,
    SkeletonError,
)
from motion_tokens.core.formats import read_motion, write_motion
from motion_tokens.core.formats.bvh import read_bvh, write_bvh
from motion_tokens.core.formats.npz import read_smplx_npz
from motion_tokens.core.motion import Motion
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, Skeleton
from scipy.spatial.transform import Rotation

REPO = Path(__file__).resolve().parents[1]
BANDAI_EXCERPT = REPO / "demo" / "bandai_excerpt.bvh"
BEAT2_EXCERPT = REPO / "demo" / "beat2_excerpt.npz"

# A 3-joint chain. The root turns in ZXY order, `mid` in XYZ order, `tip` has rotations only
# in a partial set (Y then Z). Frames (worked by hand below):
#  0: everything zero.
#  1: root at (1, 2, 3), root Z=90 X=90 Y=0 -> R_root = Rz90 @ Rx90; mid X=90 Y=0 Z=90 ->
#     R_mid = Rx90 @ Rz90.
#  2: root at 0 unrotated; mid X=0 Y=90 Z=90 -> R_mid = Ry90 @ Rz90.
TINY_BVH = """HIERARCHY
ROOT root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT mid
  {
    OFFSET 0 1 0
    CHANNELS 3 Xrotation Yrotation Zrotation
    JOINT tip
    {
      OFFSET 0 1 0
      CHANNELS 2 Yrotation Zrotation
      End Site
      {
        OFFSET 0 1 0
      }
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.04
0 0 0 0 0 0 0 0 0 0 0
1 2 3 90 90 0 90 0 90 0 0
0 0 0 0 0 0 0 90 90 0 0
"""
# Rz90: (x, y) -> (-y, x); Rx90: (y, z) -> (-z, y); Ry90: (z, x) -> (-x, z).
# Frame 1: mid = root + R_root (0,1,0) = (1,2,3) + Rz90 (0,0,1) = (1,2,4).
#          tip = mid + R_root R_mid (0,1,0): Rz90 (0,1,0) = (-1,0,0); Rx90 (-1,0,0) = (-1,0,0);
#          then R_root: Rx90 (-1,0,0) = (-1,0,0); Rz90 (-1,0,0) = (0,-1,0). tip = (1,1,4).
# Frame 2: tip = (0,1,0) + Ry90 Rz90 (0,1,0) = (0,1,0) + Ry90 (-1,0,0) = (0,1,0) + (0,0,1).
TINY_POSITIONS = np.array(
    [
        [[0, 0, 0], [0, 1, 0], [0, 2, 0]],
        [[1, 2, 3], [1, 2, 4], [1, 1, 4]],
        [[0, 0, 0], [0, 1, 0], [0, 1, 1]],
    ],
    dtype=float,
)


def write_text(tmp_path, text, name="tiny.bvh", newline="\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def test_tiny_chain_matches_hand_worked_positions(tmp_path):
    m = read_bvh(write_text(tmp_path, TINY_BVH), units="m")
    assert m.skeleton.names == ("root", "mid", "tip")  # the End Site is dropped
    assert m.skeleton.parents == (-1, 0, 1)
    assert m.fps == 25.0
    np.testing.assert_allclose(m.positions(), TINY_POSITIONS, atol=1e-12)
    # The tip's own rotation: Y then Z, none set here, so it stays the identity.
    np.testing.assert_allclose(np.abs(m.rotations[:, 2, 0]), 1.0, atol=1e-12)


def test_tiny_chain_local_rotations_match_scipy(tmp_path):
    m = read_bvh(write_text(tmp_path, TINY_BVH), units="m")
    # scipy's upper-case sequences are intrinsic: "ZXY" is Rz @ Rx @ Ry, the BVH meaning.
    expect_root = Rotation.from_euler("ZXY", [90, 90, 0], degrees=True).as_matrix()
    expect_mid = Rotation.from_euler("XYZ", [90, 0, 90], degrees=True).as_matrix()
    np.testing.assert_allclose(rot.quat_to_matrix(m.rotations[1, 0]), expect_root, atol=1e-12)
    np.testing.assert_allclose(rot.quat_to_matrix(m.rotations[1, 1]), expect_mid, atol=1e-12)


def test_windows_line_endings_tabs_and_trailing_spaces_read_the_same(tmp_path):
    plain = read_bvh(write_text(tmp_path, TINY_BVH), units="m")
    messy_text = "\n".join(("\t" * 2 + line.replace(" ", " \t ") + "  \t") for line in TINY_BVH.splitlines()) + "\n"
    messy = read_bvh(write_text(tmp_path, messy_text, "messy.bvh", newline="\r\n"), units="m")
    assert messy.skeleton.names == plain.skeleton.names
    np.testing.assert_allclose(messy.positions(), plain.positions(), atol=1e-12)


@pytest.mark.parametrize("units, scale", [("cm", 0.01), ("mm", 0.001), ("inch", 0.0254), ("m", 1.0)])
def test_units_scale_lengths_to_metres(tmp_path, units, scale):
    m = read_bvh(write_text(tmp_path, TINY_BVH), units=units)
    np.testing.assert_allclose(m.positions(), TINY_POSITIONS * scale, atol=1e-12)


def test_auto_units_read_a_cm_skeleton_as_cm_and_a_small_one_as_m(tmp_path):
    assert np.allclose(read_bvh(write_text(tmp_path, TINY_BVH)).positions(), TINY_POSITIONS)  # spans 2 units
    big = TINY_BVH.replace("OFFSET 0 1 0", "OFFSET 0 80 0")
    m = read_bvh(write_text(tmp_path, big, "big.bvh"))
    np.testing.assert_allclose(m.skeleton.rest_positions()[2], [0, 1.6, 0], atol=1e-12)


# --- the Bandai files ---------------------------------------------------------------------


def reference_bvh_positions(path: Path, scale: float) -> tuple[list[str], np.ndarray]:
    """Joint world positions (T, J, 3) metres by a plain reading of the BVH rules, written
    independently of the module: position channels replace OFFSET, rotations are intrinsic
    Euler angles in channel order (scipy), world = parent world + parent rotation @ local."""
    lines = path.read_text().splitlines()
    names, parents, offsets, chans, stack = [], [], [], [], []
    i = 0
    while not lines[i].strip().startswith("MOTION"):
        words = lines[i].split()
        if words and words[0] in ("ROOT", "JOINT"):
            names.append(words[1])
            parents.append(stack[-1] if stack else -1)
            stack.append(len(names) - 1)
        elif words and words[0] == "End":
            stack.append(None)
        elif words and words[0] == "OFFSET" and stack[-1] is not None:
            offsets.append([float(w) for w in words[1:4]])
        elif words and words[0] == "CHANNELS":
            chans.append(words[2:])
        elif words and words[0] == "}":
            stack.pop()
        i += 1
    data = np.array([[float(w) for w in line.split()] for line in lines[i + 3 :] if line.strip()])
    T, J = len(data), len(names)
    world_R = np.zeros((T, J, 3, 3))
    world_p = np.zeros((T, J, 3))
    col = 0
    for j in range(J):
        local_p = np.tile(offsets[j], (T, 1))
        seq, angles = "", []
        for c in chans[j]:
            if c.endswith("position"):
                local_p[:, "XYZ".index(c[0])] = data[:, col]
            else:
                seq += c[0]
                angles.append(data[:, col])
            col += 1
        local_R = Rotation.from_euler(seq, np.stack(angles, axis=1), degrees=True).as_matrix()
        p = parents[j]
        if p < 0:
            world_R[:, j], world_p[:, j] = local_R, local_p
        else:
            world_R[:, j] = world_R[:, p] @ local_R
            world_p[:, j] = world_p[:, p] + np.einsum("tij,tj->ti", world_R[:, p], local_p)
    return names, world_p * scale


def bandai_files(data_dir):
    files = sorted((data_dir / "bandai").glob("dataset-*/*.bvh"))
    assert len(files) > 200, "expected the 174 + 42 Bandai takes"
    return files


def test_bandai_excerpt_matches_the_reference_reading():
    m = read_bvh(BANDAI_EXCERPT)
    names, expect = reference_bvh_positions(BANDAI_EXCERPT, 0.01)  # Bandai is in cm
    assert m.skeleton.names == tuple(names)
    assert m.num_frames == 60 and m.fps == 30.0
    # joint_Root is a static ground node whose child Hips moves through its position channels;
    # that movement becomes the root translation, so only joint_Root itself is elsewhere.
    np.testing.assert_allclose(m.positions()[:, 1:], expect[:, 1:], atol=1e-9)


def test_bandai_takes_match_the_reference_reading(data_dir):
    files = bandai_files(data_dir)
    for path in files[::40] + [f for f in files if "dataset-2" in f.name][:2]:
        m = read_bvh(path)
        names, expect = reference_bvh_positions(path, 0.01)
        assert m.skeleton.names == tuple(names), path.name
        np.testing.assert_allclose(m.positions()[:, 1:], expect[:, 1:], atol=1e-9, err_msg=path.name)


def test_every_bandai_take_parses_quickly(data_dir):
    files = bandai_files(data_dir)
    start = time.perf_counter()
    frames = 0
    for path in files:
        m = read_bvh(path)
        frames += m.num_frames
        assert m.skeleton.num_joints == 22 and m.fps == 30.0
        assert np.all(np.isfinite(m.rotations)) and np.all(np.isfinite(m.trans))
        hips = m.skeleton.rest_positions()[m.skeleton.index("Hips")]
        assert 0.6 < hips[1] < 1.2, f"{path.name}: Hips {hips[1]:.2f} m high: not read as cm"
    elapsed = time.perf_counter() - start
    print(f"{len(files)} Bandai takes, {frames} frames, read in {elapsed:.2f} s")
    assert frames > 35_000
    assert elapsed < 15.0


def test_the_moving_hips_are_noted(caplog):
    with caplog.at_level(logging.INFO, logger="motion_tokens.core.formats.bvh"):
        read_bvh(BANDAI_EXCERPT)
    assert "'Hips' moves" in caplog.text and "root translation" in caplog.text
    assert "read as cm" in caplog.text


# --- writing and round trips ----------------------------------------------------------------


def same_rotation(a, b, atol=1e-6):
    """Quaternions equal up to sign."""
    return np.all(np.abs(np.abs(np.sum(a * b, axis=-1)) - 1.0) < atol)


@pytest.mark.parametrize("units, order", [("cm", "ZXY"), ("m", "XYZ"), ("mm", "YZX"), ("inch", "ZYX")])
def test_round_trip_keeps_positions_and_rotations(tmp_path, units, order):
    m = read_bvh(BANDAI_EXCERPT)
    path = write_bvh(tmp_path / "out.bvh", m, units=units, order=order)
    back = read_bvh(path, units=units)
    assert back.skeleton.names == m.skeleton.names  # Bandai's file order is depth first
    assert back.fps == m.fps and back.num_frames == m.num_frames
    assert np.abs(back.positions() - m.positions()).max() < 1e-4
    assert same_rotation(back.rotations, m.rotations)
    np.testing.assert_allclose(back.skeleton.offsets, m.skeleton.offsets, atol=1e-6)


def test_round_trip_of_an_smplx_motion_keeps_every_joint(tmp_path):
    m = read_smplx_npz(BEAT2_EXCERPT)
    back = read_bvh(write_bvh(tmp_path / "smplx.bvh", m), units="cm")
    # Depth-first order in the file: match the joints by name.
    index = [back.skeleton.index(n) for n in SMPLX_JOINT_NAMES]
    assert sorted(back.skeleton.names) == sorted(SMPLX_JOINT_NAMES)
    parent_names = [back.skeleton.names[back.skeleton.parents[i]] for i in index[1:]]
    assert parent_names == [SMPLX_JOINT_NAMES[p] for p in m.skeleton.parents[1:]]
    assert np.abs(back.positions()[:, index] - m.positions()).max() < 1e-4
    assert same_rotation(back.rotations[:, index], m.rotations)


def test_written_file_is_standard_bvh(tmp_path):
    m = read_bvh(write_text(tmp_path, TINY_BVH), units="m")
    text = write_bvh(tmp_path / "out.bvh", m, units="m").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert lines[:5] == ["HIERARCHY", "ROOT root", "{", "OFFSET 0.000000 0.000000 0.000000",
                         "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"]
    assert "CHANNELS 3 Zrotation Xrotation Yrotation" in lines
    assert lines.count("End Site") == 1 and text.count("{") == text.count("}") == 4
    assert lines[lines.index("MOTION") + 1 : lines.index("MOTION") + 3] == ["Frames: 3", "Frame Time: 0.04"]
    assert len(lines[-1].split()) == 6 + 3 + 3


def test_write_refuses_an_empty_motion_and_bad_paths(tmp_path):
    m = read_bvh(write_text(tmp_path, TINY_BVH), units="m")
    with pytest.raises(OutputError, match="no frames"):
        write_bvh(tmp_path / "empty.bvh", m.frames(0, 0))
    with pytest.raises(OutputError, match="does not exist"):
        write_bvh(tmp_path / "no" / "such" / "folder.bvh", m)


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_untouched(tmp_path, monkeypatch, step):
    from motion_tokens.core.formats import atomic

    m = read_bvh(write_text(tmp_path, TINY_BVH), units="m")
    path = tmp_path / "keep.bvh"
    path.write_text("old content")

    def no_space(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, step, no_space)
    with pytest.raises(OutputError, match=r"writing failed \(No space left on device\); nothing was changed") as info:
        write_bvh(path, m)
    assert str(path) in str(info.value)
    assert path.read_text() == "old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.bvh", "tiny.bvh"]  # no temporary left


# --- read_motion / write_motion -------------------------------------------------------------


def test_read_motion_gives_a_bvh_on_its_own_skeleton():
    m = read_motion(BANDAI_EXCERPT)
    own = read_bvh(BANDAI_EXCERPT)
    assert m.skeleton.names == own.skeleton.names and m.skeleton.names[0] == "joint_Root"
    assert m.num_frames == 60 and m.fps == 30.0
    np.testing.assert_allclose(m.positions(), own.positions())
    half = read_motion(BANDAI_EXCERPT, fps=15.0)
    assert half.num_frames == 30 and half.skeleton.names == own.skeleton.names


def test_read_motion_reads_a_skeleton_no_bone_map_fits(tmp_path):
    m = read_motion(write_text(tmp_path, TINY_BVH))
    assert m.skeleton.names == ("root", "mid", "tip")
    np.testing.assert_allclose(m.positions(), TINY_POSITIONS, atol=1e-9)


# --- notes reach the caller ------------------------------------------------------------------


def test_the_unit_guess_lands_in_the_warnings_list_and_is_not_logged(tmp_path, caplog):
    warnings = []
    with caplog.at_level(logging.INFO, logger="motion_tokens.core.formats.bvh"):
        read_bvh(write_text(tmp_path, TINY_BVH), warnings=warnings)
    assert warnings == ["units: the rest skeleton spans 2 units, read as m"]
    assert caplog.text == ""


def test_read_motion_hands_the_bvh_notes_to_the_caller():
    warnings = []
    read_motion(BANDAI_EXCERPT, warnings=warnings)
    assert any("read as cm" in w for w in warnings)
    assert any("'Hips' moves" in w and "root translation" in w for w in warnings)


def test_given_units_make_no_note(tmp_path):
    warnings = []
    read_bvh(write_text(tmp_path, TINY_BVH), units="m", warnings=warnings)
    assert warnings == []


def test_lines_after_the_declared_frames_are_noted(tmp_path):
    warnings = []
    m = read_bvh(write_text(tmp_path, TINY_BVH.replace("Frames: 3", "Frames: 2")), units="m", warnings=warnings)
    assert m.num_frames == 2
    assert warnings == ["1 lines after the 2 declared frames were ignored"]


def test_write_motion_dispatches_on_suffix(tmp_path):
    m = read_bvh(BANDAI_EXCERPT)
    back = read_bvh(write_motion(tmp_path / "out.BVH", m))
    assert np.abs(back.positions() - m.positions()).max() < 1e-4
    with pytest.raises(OutputError, match=r"\.npz or \.bvh"):
        write_motion(tmp_path / "out.fbx", m)
    with pytest.raises(SkeletonError, match="not the 55-joint"):
        write_motion(tmp_path / "out.npz", m)


# --- broken files -------------------------------------------------------------------------


def check_refusal(path, error, *fragments):
    with pytest.raises(error) as info:
        read_bvh(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_file(tmp_path):
    check_refusal(tmp_path / "nope.bvh", MissingFileError, "no such file")


def test_empty_file(tmp_path):
    check_refusal(write_text(tmp_path, ""), CorruptFileError, "empty")


def test_truncated_mid_line(tmp_path):
    text = BANDAI_EXCERPT.read_bytes()
    cut = tmp_path / "cut.bvh"
    cut.write_bytes(text[: len(text) - 700])  # about half of the last frame line
    check_refusal(cut, CorruptFileError, "truncated", "frame 60 of 60", "of 132 values", "line 194")


def test_truncated_at_a_line_end(tmp_path):
    lines = BANDAI_EXCERPT.read_bytes().splitlines(keepends=True)
    cut = tmp_path / "cut.bvh"
    cut.write_bytes(b"".join(lines[:-5]))
    check_refusal(cut, CorruptFileError, "truncated", "declares 60 frames but 55 are present")


def test_truncated_in_the_hierarchy(tmp_path):
    check_refusal(write_text(tmp_path, TINY_BVH[:200]), CorruptFileError, "no MOTION")


def test_bad_number_in_the_motion(tmp_path):
    path = write_text(tmp_path, TINY_BVH.replace("1 2 3 90 90", "1 2 3 9O 90"))
    check_refusal(path, CorruptFileError, "bad number '9O'", "line 25", "frame 2, value 4")


def test_bad_number_in_an_offset(tmp_path):
    path = write_text(tmp_path, TINY_BVH.replace("OFFSET 0 1 0", "OFFSET 0 one 0", 1))
    check_refusal(path, CorruptFileError, "bad number 'one'", "line 8")


def test_nan_in_the_motion(tmp_path):
    path = write_text(tmp_path, TINY_BVH.replace("1 2 3 90 90", "1 2 3 nan 90"))
    check_refusal(path, CorruptFileError, "NaN", "line 25")


def test_a_frame_line_with_too_many_values(tmp_path):
    path = write_text(tmp_path, TINY_BVH.replace("1 2 3 90 90", "1 2 3 4 90 90"))
    check_refusal(path, CorruptFileError, "line 25", "has 12 values", "declare 11")


def test_not_a_bvh_file(tmp_path):
    check_refusal(write_text(tmp_path, "hello\nworld\n"), CorruptFileError, "not a BVH file", "'hello'")


def test_missing_motion_section(tmp_path):
    check_refusal(write_text(tmp_path, TINY_BVH.split("MOTION")[0]), CorruptFileError, "no MOTION section")


def test_missing_frames_line(tmp_path):
    check_refusal(write_text(tmp_path, TINY_BVH.replace("Frames: 3\n", "")), CorruptFileError, "'Frames:'", "line 22")


def test_zero_frames(tmp_path):
    text = TINY_BVH.split("Frames:")[0] + "Frames: 0\nFrame Time: 0.04\n"
    check_refusal(write_text(tmp_path, text), LayoutError, "zero frames")


def test_unbalanced_braces(tmp_path):
    unclosed = TINY_BVH.replace("    }\n  }\n}\nMOTION", "    }\n  }\nMOTION")
    check_refusal(
        write_text(tmp_path, unclosed), CorruptFileError, "unbalanced braces", "'root' (line 2) is not closed"
    )
    extra = TINY_BVH.replace("}\nMOTION", "}\n}\nMOTION")
    check_refusal(
        write_text(tmp_path, extra, "extra.bvh"), CorruptFileError, "unbalanced braces", "line 21 closes nothing"
    )


def test_unknown_channel(tmp_path):
    path = write_text(tmp_path, TINY_BVH.replace("Xrotation Yrotation Zrotation", "Xrotation Wrotation Zrotation"))
    check_refusal(path, LayoutError, "unknown channel 'Wrotation'", "'mid'", "line 9")


def test_duplicate_joint_names(tmp_path):
    path = write_text(tmp_path, TINY_BVH.replace("JOINT tip", "JOINT mid"))
    check_refusal(path, LayoutError, "'mid' is used twice")


def test_motion_reader_refuses_unknown_suffix(tmp_path):
    from motion_tokens.core.errors import InputFileError

    with pytest.raises(InputFileError, match=r"\.npz or \.bvh"):
        read_motion(tmp_path / "walk.fbx")


def test_skeleton_with_position_channels_on_a_branching_joint_is_approximate(tmp_path, caplog):
    # `mid` moves through position channels but its parent has two children: no exact
    # representation with one root translation, so the first frame is used and a note says so.
    text = """HIERARCHY
ROOT root
{
  OFFSET 0 0 0
  CHANNELS 3 Xposition Yposition Zposition
  JOINT mid
  {
    OFFSET 0 1 0
    CHANNELS 3 Xposition Yposition Zposition
    End Site
    {
      OFFSET 0 1 0
    }
  }
  JOINT other
  {
    OFFSET 1 0 0
    CHANNELS 1 Zrotation
    End Site
    {
      OFFSET 1 0 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
0 0 0 0 1 0 0
0 0 0 0 1.5 0 30
"""
    with caplog.at_level(logging.INFO, logger="motion_tokens.core.formats.bvh"):
        m = read_bvh(write_text(tmp_path, text), units="m")
    assert "'mid' moves (up to 0.500 m)" in caplog.text and "approximate" in caplog.text
    np.testing.assert_allclose(m.skeleton.offsets[1], [0, 1, 0])
    assert m.fps == 2.0
    np.testing.assert_allclose(m.trans, 0.0)
    # `other` has a Z rotation only: 30 degrees about Z.
    np.testing.assert_allclose(m.rotations[1, 2], [np.cos(np.pi / 12), 0, 0, np.sin(np.pi / 12)], atol=1e-12)


def test_skeleton_type_is_generic():
    m = read_bvh(BANDAI_EXCERPT)
    assert isinstance(m.skeleton, Skeleton) and isinstance(m, Motion)
    assert m.name == "bandai_excerpt"
