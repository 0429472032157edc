"""Lexicon folders (core.signs.lexicon): labels from file names or an index CSV."""

import pytest
from motion_tokens.core.errors import CorruptFileError, LayoutError, MissingFileError
from motion_tokens.core.signs.lexicon import LexiconEntry, lexicon_entries


@pytest.mark.data
def test_letters_labelled_by_file_name(data_dir):
    entries = lexicon_entries(data_dir / "sign" / "fingerspelling")
    labels = [e.label for e in entries]
    assert labels[:3] == ["A", "B", "C"] and len(labels) == 26
    assert all(e.path.suffix == ".pose" and e.path.is_file() and e.language == "" for e in entries)


@pytest.mark.data
def test_fingerspelling_index_labels_words(data_dir):
    root = data_dir / "sign" / "lexicons" / "fingerspelling"
    everything = lexicon_entries(root)
    assert len(everything) == 292
    bzs = lexicon_entries(root, language="bzs")
    assert len(bzs) == 27 and all(e.language == "bzs" for e in bzs)
    assert bzs[0].label == "A" and bzs[0].path.name == "fs-sts5ab4a98f5331b4d9836f03026cb0d2be.pose"
    # a language's own folder takes its labels from the parent's index, not the hashed names
    assert lexicon_entries(root / "bzs") == bzs


def test_empty_folder_refused(tmp_path):
    with pytest.raises(LayoutError, match="no clips"):
        lexicon_entries(tmp_path)
    (tmp_path / "LICENSE").write_text("text")
    with pytest.raises(LayoutError, match="no clips"):
        lexicon_entries(tmp_path)
    with pytest.raises(MissingFileError, match="no such lexicon folder"):
        lexicon_entries(tmp_path / "absent")


def test_index_of_another_layout_refused(tmp_path):
    (tmp_path / "index.csv").write_text("file,label\nA.pose,A\n")
    with pytest.raises(LayoutError, match="lacks the column.*path, words"):
        lexicon_entries(tmp_path)
    (tmp_path / "index.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CorruptFileError, match="not UTF-8"):
        lexicon_entries(tmp_path)


def test_index_rows_checked(tmp_path):
    (tmp_path / "A.pose").write_bytes(b"x")
    (tmp_path / "index.csv").write_text("path,words\nA.pose,hello\n")
    assert lexicon_entries(tmp_path) == [LexiconEntry("hello", tmp_path / "A.pose", "")]
    (tmp_path / "index.csv").write_text("path,words\nB.pose,hello\n")
    with pytest.raises(MissingFileError, match="line 2"):
        lexicon_entries(tmp_path)
    (tmp_path / "index.csv").write_text("path,words\nA.pose,\n")
    with pytest.raises(LayoutError, match="empty words"):
        lexicon_entries(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "index.csv").write_text("path,words\nnotes.txt,hello\n")
    with pytest.raises(LayoutError, match="not a lexicon clip"):
        lexicon_entries(tmp_path)
