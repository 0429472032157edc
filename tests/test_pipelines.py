"""The pipelines without Blender: the armature a job reads from and writes onto is a stand-in
here, as the operators hand in scene.targets' objects. References: the decoded motion of the
tokens file written by encode (the same codec), and the stand-in's record of what it was given."""

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from motion_tokens.core.codecs.registry import installed_parts
from motion_tokens.core.errors import MotionTokensError
from motion_tokens.core.formats import read_motion
from motion_tokens.core.steps import Progress
from motion_tokens.pipelines.encode import EncodeOptions, encode
from motion_tokens.pipelines.quantize import QuantizeOptions, quantize

DEMO = Path(__file__).resolve().parents[1] / "demo" / "beat2_excerpt.npz"


@dataclass
class StandInArmature:
    """Plays the demo excerpt from frame 7 as the action 'Take'; records what is written."""

    written: list = field(default_factory=list)

    def read(self, skeleton):
        return read_motion(DEMO, None), "Take", 7

    def write_steps(self, motion, frame_start, action_name):
        yield Progress(0, 1, "keying")
        self.written.append((motion, frame_start, action_name))
        return SimpleNamespace(action=SimpleNamespace(name=action_name), warnings=["a note"])


def test_quantize_keys_what_encode_decodes(tmp_path):
    """encode with one codec name codes every part that codec is installed for (the face too,
    where a face bundle ships); quantize codes the parts it is given, so it is given the same."""
    parts = installed_parts("kmeans-6")
    assert {"body", "hands"} <= set(parts)
    armature = StandInArmature()
    result = quantize(QuantizeOptions(dict.fromkeys(parts, "kmeans-6")), armature)
    ((motion, frame_start, name),) = armature.written
    assert (frame_start, name) == (7, "Take kmeans-6") and result.warnings == ["a note"]
    assert result.lines[0].startswith("Quantized 'Take' as 'Take kmeans-6': body kmeans-6 (6 bits/frame) RMSE")

    tokens = tmp_path / "tokens.npz"
    encoded = encode(EncodeOptions(DEMO, "kmeans-6", tokens))
    assert set(encoded.coded.rmse_cm) == set(parts) == set(result.coded.rmse_cm)
    np.testing.assert_allclose(motion.rotations, read_motion(tokens, None).rotations, atol=1e-5)
    assert encoded.coded.rmse_cm == pytest.approx(result.coded.rmse_cm)


def test_quantize_carries_a_part_it_is_not_given_through():
    """Left out of the codecs, the face (the jaw, joint 22, and the expressions) is the input's."""
    armature = StandInArmature()
    quantize(QuantizeOptions({"body": "kmeans-6", "hands": "kmeans-6"}), armature)
    ((motion, _, _),) = armature.written
    source = read_motion(DEMO, None)
    np.testing.assert_array_equal(motion.rotations[:, 22], source.rotations[:, 22])
    if source.expressions is not None:
        np.testing.assert_array_equal(motion.expressions, source.expressions)


def test_quantize_refuses_an_unbundled_codec_before_reading():
    armature = StandInArmature()
    with pytest.raises(MotionTokensError, match="not installed for the body"):
        quantize(QuantizeOptions({"body": "kmeans-7", "hands": "kmeans-6"}), armature)
    with pytest.raises(MotionTokensError, match="no codec chosen"):
        quantize(QuantizeOptions({}), armature)
    assert armature.written == []
