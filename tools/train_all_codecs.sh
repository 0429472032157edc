#!/usr/bin/env bash
# Train the 16 shipped codec bundles into models/{family}-{bits}-{part}, one after the other.
#
#     tools/train_all_codecs.sh [FAMILY...]        (default: kmeans rqvae)
#
# Data: $MOTION_TOKENS_DATA (default ../shared/data, relative to the repository root): the
# Bandai BVH folders and the BEAT2 npz take. Each bundle's manifest records its command, data,
# split, seed, training time and held-out figures. 37 minutes on 2 CPU cores shared with other
# jobs (k-means 6, RQ-VAE 31). It runs `python -m motion_tokens train-codec`, the command each
# manifest records.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${MOTION_TOKENS_DATA:-../shared/data}"
PY="${PYTHON:-.venv/bin/python}"
FAMILIES=("${@:-kmeans rqvae}")
start=$(date +%s)
for family in ${FAMILIES[@]}; do
  for part in body hands; do
    for bits in 6 9 10 12; do
      "$PY" -m motion_tokens train-codec --family "$family" --bits "$bits" --part "$part" \
        --data "$DATA/bandai" "$DATA/beat2" --out "models/$family-$bits-$part" --seed 0
    done
  done
done
echo "all done in $(( $(date +%s) - start )) s; bundle sizes:"
du -ch models/*-body models/*-hands | tail -n 1
