"""The RQ-VAE families' codebook sizes: bits per frame -> D codes a level and Q levels, for the
per-frame RQ-VAE (rqvae) and the downsampled one (rqvae4), with the measurements that chose them.

Codebooks are sized to the held-out data they must fill: every level of every bundle must use at
least 95% of its codes on the held-out takes (issue #14), so a split of about 1,200 latents gets
a few small levels rather than two large ones.
"""

from __future__ import annotations

#: 10 bits are 5 levels of 4 codes, not 2 of 32: the 32-code levels left 3-9% of their
#: codes unused held out (lowest level: body 90.6%, hands 96.9%, face 93.8%); with 4 codes
#: every level is used (100%), at held-out body 7.49 against 7.36 cm, hands 1.71 cm /
#: 12.8 deg against 1.68 cm / 12.5 deg, face expression 0.185 against 0.173 (the manifests of
#: `tools/train_codecs.py --families rqvae --bits 10`, 2026-12-03, and of the bundles before).
RQVAE_BITRATES: dict[int, dict[str, int]] = {6: {"D": 8, "Q": 2}, 9: {"D": 8, "Q": 3}, 10: {"D": 4, "Q": 5},
                                             12: {"D": 8, "Q": 4}}

#: Bits per frame of the downsampled RQ-VAE (rqvae4: one latent per 4 frames, 4x the bits per
#: latent) -> its D and Q. Small codebooks with more levels, not 4 levels of 4096: a held-out
#: split of about 1,200 latents cannot use most of 4,096 codes (usage must stay >= 95%).
DOWNSAMPLED_BITRATES: dict[int, dict[str, int]] = {6: {"D": 64, "Q": 4}, 9: {"D": 64, "Q": 6},
                                                   10: {"D": 32, "Q": 8}, 12: {"D": 64, "Q": 8}}
#: The face's downsampled codebooks: 16 codes a level at 6 bits, 8 at 9 and 12, 4 at 10 (whose
#: 40 bits a latent 3 does not divide). Its held-out split is 477 frames (120 latents), too
#: few to use even uniformly drawn 64 codes (85% expected); and its 1,429 training frames give
#: 22 latents per code instead of 6. Measured against D=64 x Q=4 at 6 bits (800 steps):
#: held-out usage 100% at every level against 64-86%, expression RMSE 0.182 against 0.191, jaw
#: 0.21 against 0.26 deg. At 16 codes the 9-12 bit codecs still left one or two codes of a
#: level unused held out (lowest level 93.8, 93.8, 87.5%); with 8 / 4 / 8 codes every level is
#: used (100%), at held-out expression RMSE 0.174 / 0.174 / 0.170 against 0.197 / 0.175 /
#: 0.163 and jaw 0.23 / 0.23 / 0.23 against 0.22 / 0.21 / 0.20 deg; at 6 bits 8 codes lost
#: (0.189 against 0.182, both 100% used; `bench/codec_variants.py train --codebook`, 2026-12-03).
#: The 12-bit hands: 12 levels of 16 codes. With 8 of 64, the lowest level left 11% of its codes
#: unused on the held-out takes and their mirror images (89.1%); with 16 codes every level is
#: used (100%) at held-out Kabsch 1.307 cm against 1.339 and rotation 11.21 against 11.12 deg
#: (`bench/codec_variants.py train --codebook 16`, 2026-12-03). The 6-bit body: 12 levels of 4
#: codes. With 4 of 64 its lowest level was 89.1% used held out, with 6 of 16 93.8% (5.58 cm,
#: 9.01 deg); with 4 codes 100%, at held-out 5.74 cm / 9.35 deg against 5.60 cm / 8.88 deg
#: (k-means-6: 12.83 cm / 11.14 deg; `tools/train_codecs.py --families rqvae4 --bits 6`).
#: The 10-bit body: 10 levels of 16 codes. With 8 of 32 (rotation weight 60, reach 0.01) its
#: first level used 30 of 32 codes held out (93.8%), 31 with a dead-code threshold of 4; with 16
#: codes every level is used (100%), at held-out 5.53 cm / 7.49 deg against 6.23 / 7.78 and
#: in-sample 3.25 against 3.54 deg (kmeans-10: 3.75; bench/results/wrist_reach.md, 2026-12-07).
#: The 6-bit hands: 6 levels of 16 codes. Trained like the 10- and 12-bit hands (fk_weight 1,
#: 3000 steps), 4 levels of 64 left the lowest level 90.6% used held out (1.470 cm / 12.44 deg);
#: 6 of 16 use every code (100%) at 1.453 cm / 11.59 deg, against the 1000-step bundle's 1.610 /
#: 11.66 (`bench/codec_variants.py train --fk-weight 1 --steps 3000 --codebook 16`, 2026-12-08).
DOWNSAMPLED_PART_BITRATES: dict[str, dict[int, dict[str, int]]] = {
    "face": {6: {"D": 16, "Q": 6}, 9: {"D": 8, "Q": 12}, 10: {"D": 4, "Q": 20}, 12: {"D": 8, "Q": 16}},
    "hands": {6: {"D": 16, "Q": 6}, 12: {"D": 16, "Q": 12}}, "body": {6: {"D": 4, "Q": 12}, 10: {"D": 16, "Q": 10}}}
