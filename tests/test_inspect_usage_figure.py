"""core.inspect.usage_figure (the histogram raster and the matplotlib PNG) and the bpy-free
Inspector job (pipelines.inspect): hand-worked bar heights, the unused marks, the display
order, code names and pages, and the refusals."""

import numpy as np
import pytest
from motion_tokens.core.errors import MotionTokensError, OptionError, OutputError
from motion_tokens.core.inspect.usage import code_usage_stats
from motion_tokens.core.inspect.usage_figure import bar_width, histogram_pixels, write_usage_png
from motion_tokens.pipelines.inspect import TRAINING_USAGE, HeldTokens, InspectOptions, code_usage, codebook_view

BAR = np.array([0.12, 0.37, 0.75], dtype=np.float32)
RED = np.array([0.84, 0.15, 0.16], dtype=np.float32)
BARS_H = 200 - 6 - 3 - 12 - 1  # rows of the tallest bar (module constants: top, gap, band, baseline)


def _is(px, colour):
    return np.all(np.abs(px[..., :3] - colour) < 1e-6, axis=-1)


def test_bars_are_as_tall_as_their_counts_and_unused_codes_are_marked():
    img = histogram_pixels(np.array([4, 0, 2, 1]))
    assert img.shape == (200, 512, 4) and bar_width(4) == 128
    middle = 128 * np.arange(4) + 60  # a column inside each bar
    heights = _is(img[:, middle], BAR).sum(axis=0)
    # 4 -> all 178 rows; 2 -> 89; 1 -> 44.5 rounded to even, 44; 0 -> none.
    np.testing.assert_array_equal(heights, [BARS_H, 0, 89, 44])
    assert _is(img[6:6 + BARS_H, 60], BAR).all()  # the tallest bar fills its rows from the top margin down
    band = img[200 - 6, middle]
    np.testing.assert_array_equal(_is(band, RED), [False, True, False, False])
    assert not _is(img[:, 127], BAR).any()  # the gap between bars


def test_the_order_places_the_bars_and_a_rare_code_keeps_a_pixel():
    img = histogram_pixels(np.array([1, 1000]), order=[1, 0])
    first, second = _is(img[:, 10], BAR).sum(), _is(img[:, 256 + 10], BAR).sum()
    assert first == BARS_H and second == 1  # 1/1000 of the height rounds to 0: drawn as 1 so it reads as used
    wide = histogram_pixels(np.ones(4096, dtype=np.int64))
    assert wide.shape[1] == 4096  # one pixel a code, none merged


def test_bad_counts_and_orders_are_refused():
    for counts in (np.array([1.5, 2.0]), np.array([-1, 2]), np.zeros((2, 2), dtype=int), np.array([], dtype=int)):
        with pytest.raises(ValueError, match="counts"):
            histogram_pixels(counts)
    with pytest.raises(ValueError, match="order"):
        histogram_pixels(np.array([1, 2, 3]), order=[0, 0, 1])


def test_the_png_is_written(tmp_path):
    from PIL import Image

    stats = code_usage_stats(np.array([0, 0, 1, 3, 3, 3]), 8)[0]
    path = write_usage_png(tmp_path / "u.png", stats, np.argsort(-stats.counts, kind="stable"), "a title")
    with Image.open(path) as image:
        assert image.size[0] == 900 and image.size[1] > 300


def test_the_view_names_pages_and_orders_the_codes():
    view = codebook_view(InspectOptions("kmeans-9", "body", sort="usage", usage=TRAINING_USAGE))
    assert view.num_codes == 512 and (np.diff(view.stats.counts[view.order]) <= 0).all()
    code = int(view.order[0])
    assert view.code_name(code) == f"kmeans-9-body code {code:03d} ({view.stats.share_percent[code]:.1f}%)"
    np.testing.assert_array_equal(view.page_positions(7), np.arange(448, 512))
    with pytest.raises(OptionError, match="8 page"):
        view.page_positions(8)
    motion = view.motion(24.0, view.page_positions(0))
    assert motion.num_frames == 64 and motion.fps == 24.0  # one frame a code, not resampled
    np.testing.assert_array_equal(view.tokens, view.order)


def test_the_job_refuses_what_it_cannot_show(tmp_path):
    with pytest.raises(OptionError, match="part 'elbow'"):
        codebook_view(InspectOptions("kmeans-6", "elbow"))
    with pytest.raises(OptionError, match="needs usage"):
        codebook_view(InspectOptions("kmeans-6", "body", sort="usage"))
    other = HeldTokens("the action 'A'", "kmeans-9", None, np.zeros(5, dtype=np.int64))
    with pytest.raises(MotionTokensError, match="tokens of kmeans-9, not kmeans-6"):
        codebook_view(InspectOptions("kmeans-6", "body", usage=other))
    with pytest.raises(OutputError, match="png suffix"):
        code_usage(InspectOptions("kmeans-6", "body", usage=TRAINING_USAGE), tmp_path / "u.txt")
    held = HeldTokens("the action 'A'", "kmeans-6", None, np.array([3, 3, 5]))
    result = code_usage(InspectOptions("kmeans-6", "body", sort="usage", usage=held))
    assert result.stats.rows == 3 and list(result.view.order[:2]) == [3, 5]
    assert result.warnings and "too few" in result.warnings[0]
