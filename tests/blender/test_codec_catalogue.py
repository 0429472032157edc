"""The Codec panel's catalogue with a damaged bundle among good ones: the good ones are still
offered and the damaged one is named (a damaged bundle used to empty the whole panel)."""

from pathlib import Path

from motion_tokens.core.codecs.registry import codec_listing
from motion_tokens.panels.properties import CATALOGUE

from bundle_damage import copy_bundle, edit_tensors  # tests/ helpers

GOOD = ("kmeans-6-body", "kmeans-6-hands", "kmeans-9-body")


def _models(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    for name in GOOD:
        copy_bundle(models, name)
    damaged = copy_bundle(models, "kmeans-9-hands")
    edit_tensors(damaged, lambda t: t.__setitem__("std", t["std"] * 0.0))  # a std of 0, the hash recomputed
    return models


def test_a_damaged_bundle_leaves_the_others_offered(tmp_path):
    models = _models(tmp_path)
    infos, damaged = codec_listing(models)
    assert sorted(f"{i.name}-{i.part}" for i in infos) == sorted(GOOD)
    assert len(damaged) == 1 and "kmeans-9-hands" in str(damaged[0])
    try:
        CATALOGUE.refresh(models)
        assert CATALOGUE.info("kmeans", "body", "9") is not None
        assert CATALOGUE.info("kmeans", "hands", "6") is not None
        assert CATALOGUE.info("kmeans", "hands", "9") is None
        assert "kmeans-9-hands" in CATALOGUE.error and CATALOGUE.error.startswith("1 codec bundle")
    finally:
        CATALOGUE.refresh()
    assert CATALOGUE.error == "" and CATALOGUE.info("rqvae", "hands", "12") is not None
