"""The codecs' rate-distortion evaluation: figures per codec and part, a markdown report, a plot.

Every take under the data folders is read at 30 fps (training.dataset.read_takes: BVH
retargeted onto SMPL-X, SMPL-X npz) and cut by the fixed split (training.dataset.split_takes,
core/codecs/split.json). For each codec bundle (models/{name}-{part}) and each take in which
its part moves, the part's features are encoded and decoded, put back into the take (every
other joint, the root orientation and translation unchanged) and both motions run through
forward kinematics on the SMPL-X skeleton. The figures, pooled over the takes of a split:

- full-pose RMSE: all 55 SMPL-X joints, original against decoded (same root), cm;
- Kabsch RMSE body: joints 0-21 rigidly aligned per frame (metrics.kabsch_rmse), cm;
- Kabsch RMSE hands: each hand aligned on its own (wrist, 15 finger joints and 5 fingertips,
  the tips placed by the third segment's own rest offset, since SMPL-X has no tip joints and
  the third segments' rotations would otherwise move nothing), both hands pooled, cm;
- wrist hull volume %: per wrist, the summed convex-hull volumes of its trajectory over the
  takes, decoded as % of original, in the root's frame (root at the origin, its rotation
  removed) so that walking does not count as reach; the mean of the two wrists;
- jerk ratio: pooled mean jerk of the decoded part's points over the original's (body:
  joints 1-21 in the root's frame; hands: finger joints and tips in their wrist's frame);
- code usage % and perplexity of the held-out tokens (per quantizer, then averaged), and of
  whole tokens (an RQ-VAE frame's Q codes as one of 2^bits symbols) so the families compare;
- the full-pose RMSE per source folder (Bandai dataset-1, dataset-2, BEAT2);
- the coded part's rotation error: geodesic angle of each coded joint's local rotation,
  decoded against original, degrees, mean and 95th percentile over frames x joints and per
  joint; its velocity error (cm/s) on the part's error points; the RMSE of expression
  coefficients for a part that has them (feature_errors).
The codec of one part changes only that part's joints, so a body codec leaves the hands'
Kabsch figure at zero and a hands codec the body's: those cells check the separation.
Beside the bundles, a zero-bit reference row per part (`MeanPoseBaseline`: every frame the
training split's mean joint angles) puts the errors in scale. The report also gives the
k-means / RQ-VAE error ratios (positions, rotations, velocity) at equal bits per second: the
seed's per-frame pairing and the best RQ-VAE offered at each bitrate (per-frame or one latent
per several frames), statements computed from the figures (generalisation gap, jerk, reach,
symbols used, shortfalls against the 1.8x target) and the targets (wrist reach, code usage).

Modules: feature_errors (rotation, velocity, expression errors), figures (points, sums,
SplitFigures), rows (EvaluationRow, ratios), run (`evaluate_codecs`, `decode_frames`), report
(markdown, `summary_lines` for a console), findings, plot. The command line is
`python -m motion_tokens evaluate-codecs --data DIR... [--codecs NAMES] --out FILE.md`.
"""
