"""The token timeline's arithmetic (core/inspect/token_timeline.py, timeline_layout.py): rows at
scene frames, changes, Solo Code's frames and steps, codes typed, and the cells a view shows.

References are worked by hand on short token lists (the rows of a frame at 24 fps from
floor(k x 30 / 24) written out, cell extents in pixels from the view's frames-to-pixels
scale), plus a consistency check that every whole frame's key lies in the cell of the row
the panel says it plays.
"""

import numpy as np
import pytest
from motion_tokens.core.errors import OptionError
from motion_tokens.core.inspect.timeline_layout import (
    TimelineView, code_colours, strip_layout, strip_quads, timeline_layout)
from motion_tokens.core.inspect.token_timeline import (
    TokenTrack, code_changes, count_runs, format_code, frames_using, parse_code, solo_target, tracks_of)


def track(tokens, rate=30.0, start=10, fps=30.0, frames=0):
    return TokenTrack("body", np.asarray(tokens), rate, start, fps, frames)


def test_rows_at_scene_frames():
    t = track(np.arange(600), frames=600)
    np.testing.assert_array_equal(t.rows_at([9, 10, 11, 609, 610]), [-1, 0, 1, 599, -1])
    # 24 fps, 30 rows a second: frame k plays row floor(30 k / 24) = 0, 1, 2, 3, 5, 6, 7, 8, 10 ...
    t24 = track(np.arange(600), fps=24.0, frames=600)
    np.testing.assert_array_equal(t24.rows_at(10 + np.arange(9)), [0, 1, 2, 3, 5, 6, 7, 8, 10])
    assert t24.last_frame() == 10 + 479  # 600 frames at 30 fps are keyed on 480 at 24
    # rqvae4: 7.5 rows a second, a row for 4 frames at 30 fps; the last row codes 2 frames here.
    t4 = track(np.arange(3), rate=7.5, frames=10)
    np.testing.assert_array_equal(t4.rows_at(10 + np.arange(11)), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, -1])
    assert t4.code_at(14) == (1,) and t4.code_at(20) is None


def test_code_changes_and_frames_using():
    t = track([5, 5, 7, 7, 7, 2])
    frames, codes = code_changes(t)
    np.testing.assert_array_equal(frames, [10, 12, 15])
    np.testing.assert_array_equal(codes[:, 0], [5, 7, 2])
    np.testing.assert_array_equal(frames_using(t, 7), [12, 13, 14])
    rq = track([[1, 2], [1, 3], [4, 2], [1, 2]])
    np.testing.assert_array_equal(frames_using(rq, (1,)), [10, 11, 13])  # a prefix of the levels
    np.testing.assert_array_equal(frames_using(rq, (1, 2)), [10, 13])
    frames, codes = code_changes(rq)
    np.testing.assert_array_equal(frames, [10, 11, 12, 13])
    assert count_runs(np.array([10, 11, 13, 14, 15, 20])) == 3 and count_runs(np.array([])) == 0


def test_solo_target_wraps_round():
    frames = np.array([3, 5, 9])
    assert solo_target(frames, 4) == (5, False)
    assert solo_target(frames, 5) == (9, False)
    assert solo_target(frames, 9) == (3, True)
    assert solo_target(frames, 3, forward=False) == (9, True)
    assert solo_target(frames, 6, forward=False) == (5, False)
    assert solo_target(np.array([], int), 6) == (None, False)


def test_codes_typed():
    assert parse_code("17", 0, 64) == (17,)
    assert parse_code(" 3, 5 ", 2, 8) == (3, 5) == parse_code("3 5", 2, 8)
    assert parse_code("3", 2, 8, prefix=True) == (3,)
    assert format_code((3, 5, 1, 0)) == "3,5,1,0" and format_code(np.int64(17)) == "17"
    for text, levels, size, prefix, words in [("64", 0, 64, False, "64 codes"), ("3", 2, 8, False, "2 numbers"),
                                              ("1,2,3", 2, 8, True, "1 to 2"), ("a", 0, 64, False, "whole"),
                                              ("", 0, 64, False, "no code"), ("3,8", 2, 8, False, "8 is not")]:
        with pytest.raises(OptionError, match=words):
            parse_code(text, levels, size, prefix)


def test_cells_of_a_view():
    t = track([5, 5, 7, 7, 7, 2])  # frames 10-15; the last key holds until frame 16
    view = TimelineView(10.0, 16.0, 600, 100)  # 100 px a frame
    s = strip_layout(t, view, 20.0, 16.0)
    np.testing.assert_allclose(s.x0, [0, 200, 500])
    np.testing.assert_allclose(s.x1, [200, 500, 600])
    np.testing.assert_array_equal(s.rows, [[0, 1], [2, 4], [5, 5]])
    assert [text for *_, text in s.labels] == ["5", "7", "2"]
    assert [x for x, *_ in s.labels] == [100.0, 350.0, 550.0]
    # Zoomed out (1,000 frames in 100 px): the cells are there, too narrow for a label.
    far = strip_layout(t, TimelineView(0.0, 1000.0, 100, 100), 20.0, 16.0)
    assert len(far.x0) == 3 and far.labels == []
    # Scrolled: only the cells on screen, clipped to its edge.
    part = strip_layout(t, TimelineView(12.5, 14.0, 150, 100), 20.0, 16.0)
    np.testing.assert_array_equal(part.codes[:, 0], [7])
    np.testing.assert_allclose([part.x0[0], part.x1[0]], [0, 150])
    # Nothing of the action in view.
    assert len(strip_layout(t, TimelineView(100.0, 200.0, 100, 100), 20.0, 16.0).x0) == 0


def test_cells_of_downsampled_and_other_rate_tokens():
    t4 = track([[1, 2], [1, 2], [3, 0]], rate=7.5, frames=10)  # rows on frames 10, 14, 18; ends at 20
    s = strip_layout(t4, TimelineView(10.0, 20.0, 1000, 100), 0.0, 16.0)
    np.testing.assert_allclose(s.x0, [0, 800])  # rows 0 and 1 hold one code: one cell
    np.testing.assert_allclose(s.x1, [800, 1000])
    assert [text for *_, text in s.labels] == ["1,2", "3,0"]
    # 24 fps, 30 rows a second, all codes different: row i from frame 10 + 0.8 i.
    t24 = track(np.arange(20), fps=24.0, frames=20)
    s = strip_layout(t24, TimelineView(10.0, 30.0, 2000, 100), 0.0, 16.0)
    np.testing.assert_allclose(s.x0[:4], [0, 80, 160, 240])
    assert t24.last_frame() == 25 and s.x1[-1] == pytest.approx(1600)  # 20 frames at 30 fps end at 26
    # Every whole frame's key lies in the cell of the row the frame plays.
    for f in range(10, 26):
        x = (f - 10) * 100.0
        cell = np.flatnonzero((s.x0 <= x) & (x < s.x1))
        assert len(cell) == 1 and s.rows[cell[0], 0] <= t24.rows_at([f])[0] <= s.rows[cell[0], 1]


def test_strips_stack_and_colours_differ():
    tracks = tracks_of({"body": np.arange(5), "hands": np.zeros(5, int)}, {"body": 30.0, "hands": 30.0}, 1, 30.0)
    strips = timeline_layout(tracks, TimelineView(0.0, 10.0, 500, 60), strip_px=16, gap_px=2, bottom_px=18)
    assert [(s.part, s.y0, s.y1) for s in strips] == [("body", 18, 34), ("hands", 36, 52)]
    assert len(timeline_layout(tracks, TimelineView(0.0, 10.0, 500, 40), strip_px=16, gap_px=2, bottom_px=18)) == 1
    colours = code_colours(np.arange(64)[:, None])
    assert colours.shape == (64, 4) and colours.min() >= 0 and colours.max() <= 1
    assert np.all(np.abs(np.diff(colours[:, :3], axis=0)).sum(axis=1) > 0.05)  # neighbours look different
    rq = code_colours(np.array([[3, 0], [3, 5]]))
    assert not np.allclose(rq[0], rq[1])


def test_quads_for_the_gpu_batch():
    t = track([5, 5, 7, 7, 7, 2])
    strips = timeline_layout([t, replace_part(t, "hands")], TimelineView(10.0, 16.0, 600, 100))
    pos, colours, indices = strip_quads(strips)
    assert pos.shape == (24, 3) and colours.shape == (24, 4) and indices.shape == (12, 3)
    assert pos.dtype == colours.dtype == np.float32 and indices.dtype == np.int32
    # The first cell: x 0 to 199 (a pixel apart from the next), y 18 to 34, two triangles on its corners.
    np.testing.assert_allclose(pos[:4], [[0, 18, 0], [199, 18, 0], [199, 34, 0], [0, 34, 0]])
    np.testing.assert_array_equal(indices[[0, 6]], [[0, 1, 2], [0, 2, 3]])
    np.testing.assert_array_equal(colours[:4], np.repeat(strips[0].colours[:1], 4, axis=0))
    assert indices.max() == len(pos) - 1
    # A cell narrower than a pixel is drawn a pixel wide.
    far = strip_quads(timeline_layout([t], TimelineView(0.0, 10000.0, 100, 100)))[0]
    assert np.all(far[1::4, 0] - far[0::4, 0] >= 1)
    assert strip_quads([])[0].shape == (0, 3)


def replace_part(t, part):
    from dataclasses import replace

    return replace(t, part=part)
