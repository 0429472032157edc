# Every target creates .venv (pinned by constraints.txt) when it is missing or out of date.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
VENV5 := .venv-blender5
PY5 := $(VENV5)/bin/python
STAMP5 := $(VENV5)/.installed
VENV42 := .venv-blender42
PY42 := $(VENV42)/bin/python
STAMP42 := $(VENV42)/.installed
BPY42 := 4.2.23
PYTEST_ARGS ?=

.PHONY: demo test test-blender42 test-blender5 extension bench codecs venv clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q --no-build-isolation -c constraints.txt -e '.[dev,blender]'
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The Blender-facing tests again, against bpy 5.0 (Action.fcurves removed, strips API).
$(STAMP5): pyproject.toml constraints.txt
	test -x $(PY5) || $(PYTHON) -m venv $(VENV5)
	$(PY5) -m pip install -q --upgrade pip setuptools wheel
	sed 's/^bpy==.*/bpy==5.0.1/' constraints.txt > $(VENV5)/constraints.txt
	$(PY5) -m pip install -q --no-build-isolation -c $(VENV5)/constraints.txt -e '.[dev]' 'bpy==5.0.1'
	touch $@

test-blender5: $(STAMP5)
	$(PY5) -m pytest -q tests/blender $(PYTEST_ARGS)

# The Blender-facing tests against bpy 4.2 LTS (the manifest's minimum: legacy actions, no slots).
$(STAMP42): pyproject.toml constraints.txt
	test -x $(PY42) || $(PYTHON) -m venv $(VENV42)
	$(PY42) -m pip install -q --upgrade pip setuptools wheel
	sed 's/^bpy==.*/bpy==$(BPY42)/' constraints.txt > $(VENV42)/constraints.txt
	$(PY42) -m pip install -q --no-build-isolation -c $(VENV42)/constraints.txt -e '.[dev]' 'bpy==$(BPY42)'
	touch $@

test-blender42: $(STAMP42)
	$(PY42) -m pytest -q tests/blender $(PYTEST_ARGS)

extension: $(STAMP)
	$(PY) tools/build_extension.py --out dist

bench: $(STAMP)
	$(PY) bench/keyframes.py
	$(PY) bench/convert_bandai.py
	$(PY) bench/retarget_rigs.py
	$(PY) bench/large_bvh.py
	$(PY) bench/speech.py
	$(PY) bench/video.py
	$(PY) bench/encode_corpus.py
	$(PY) -m motion_tokens evaluate-codecs --data $(foreach d,bandai beat2 hands/manipnet sign/fingerspelling sign/lexicons/fingerspelling,$${MOTION_TOKENS_DATA:-../shared/data}/$(d)) --out bench/results/codecs.md

# Every codec bundle (k-means, RQ-VAE, downsampled RQ-VAE; 6/9/10/12 bits; each part), skipping
# those already trained by the same command; on a GPU when torch sees one. CODEC_JOBS bundles
# train at once, one thread each (make codecs CODEC_JOBS=2 on 2 cores).
CODEC_JOBS ?= 1
codecs: $(STAMP)
	$(PY) tools/train_codecs.py --jobs $(CODEC_JOBS)

clean:
	rm -rf dist build *.egg-info demo/output
