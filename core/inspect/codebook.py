"""What each code of a loaded codec means: the part features (pose) a code stands for.

Features are a part's (core/codecs/features.py): axis-angle radians per joint of the part,
x/y/z per joint in the part's joint order, then its expression coefficients (the face);
(K, F) float32 for the K codes of a codebook.

- k-means: a code is its centroid; `code_features` is the (k, F) centroids, denormalised,
  which is what decoding the token [c] gives.
- RQ-VAE (`rqvae`, one latent per frame; `rqvae4`, one per 4 frames): a code is a vector of
  a level's codebook (Q levels of D codes, latent width L); a frame's latent is the sum of its
  Q chosen codes and the convolutional decoder turns latents into frames, so a code has no
  pose by itself. What we show is the *steady state* of the decoder: a latent held constant
  over time decoded, and the frame in the middle of that sequence taken. Every convolution
  replicates its edge frames and the upsampling repeats, so a constant latent sequence decodes
  to the same frame everywhere (measured: to 1e-16 on the shipped bundles); decoding 2 r + 1
  latents, r covering the decoder's reach (`Codec.context_frames[1]`), and taking the middle
  frame holds whatever the padding did. For rqvae4 one latent is 4 frames: the middle latent's
  frame fpl // 2 is taken (the four are equal in steady state). That pose is what a range of
  frames pinned to that code decodes to away from its ends (edit by tokens).

  `level=q`: the level's codes alone, the latent being codebook[q][d] and every other level
  zero (not a token: the residual levels add nothing). For level 0 this is the best picture of
  the code: the codebooks are updated as the mean of the latents assigned to them (EMA k-means,
  vector_quantize_pytorch), so over a level-0 code's frames the finer levels' codes average to
  about zero and codebook[0][d] alone is the centre of the code's frames. Measured on the BEAT2
  take and Bandai dataset-2, RMS distance (cm, body joint positions) from the frames carrying a
  level-0 code to the decoded pose, weighted by frames: level 0 alone 14.5 (rqvae-6), 12.3
  (rqvae-9), 12.2 (rqvae-12), 8.9 (rqvae4-6). A level q > 0 alone is a small correction
  decoded around the latent origin: it shows the direction that level pushes the pose.

  `level=None`: real token tuples, decodable by `codec.decode`: each level-0 code d with the
  other levels held at `held_codes`, the tokens the encoder gives a latent equal to
  codebook[0][d] (d leaves a zero residual; each later level takes the code nearest what is
  left): the encoder's own greedy approximation of "level 0 alone" in tokens, the same finer
  codes for every d, with no data needed. Measured as above: 20.0 (rqvae-6), 14.0
  (rqvae-9), 13.4 (rqvae-12), 9.1 cm (rqvae4-6); the other levels held at their most used
  codes (the bundle's training `usage`) gave 20.0, 18.3, 15.0, 9.1, so this choice is never
  worse, and it does not change with the data the usage is counted on.
  Its K = D rows are level 0's codes.

`sum_of_codes_features` decodes any token tuples (the sum of the chosen codes) the same way.
Both RQ-VAE backends are served: the numpy inference model (rqvae_numpy.py, the default) and
the torch one (rqvae.py, `load_codec(..., backend="torch")`); they agree to about 1e-6.
"""

from __future__ import annotations

import numpy as np

from ..codecs.base import Codec, ResidualCodec
from ..errors import OptionError


def is_residual(codec: Codec) -> bool:
    """Whether the codec's tokens index Q residual codebooks (RQ-VAE) rather than one (k-means)."""
    return isinstance(codec, ResidualCodec)


def check_level(codec: Codec, level: int | None) -> int | None:
    """`level` checked for `codec`: None, or a level in [0, codebooks). OptionError naming
    the codec's levels otherwise (k-means has the one level 0)."""
    if level is None:
        return None
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= level < codec.codebooks:
        levels = "0" if codec.codebooks == 1 else f"0 to {codec.codebooks - 1}"
        raise OptionError(f"--level {level!r}: codec {codec.name} ({codec.part}) has levels {levels}")
    return int(level)


def code_features(codec: Codec, level: int | None = None) -> np.ndarray:
    """(K, F) float32: the features each code of `level` stands for (module docstring).

    k-means: the k centroids (level None or 0). RQ-VAE: level q -> its D codes alone, decoded in
    steady state; None -> the D token tuples of `code_tuples` decoded (the level-0 codes, with
    the other levels the encoder's tokens for them). OptionError for a level the codec lacks.
    """
    level = check_level(codec, level)
    if not is_residual(codec):
        return codec.decode(np.arange(codec.codebook_size))
    if level is None:
        return sum_of_codes_features(codec, code_tuples(codec))
    return _steady_features(codec, _codebooks(codec)[level])


def held_codes(codec: ResidualCodec) -> np.ndarray:
    """(Q - 1,) int64: the codes of levels 1..Q-1 that `code_tuples` holds: residual
    quantisation of a zero residual (the level-0 code taken exactly leaves nothing), i.e. the
    finer codes whose sum is as near zero as the codebooks allow, the same for every d."""
    return _quantise_residual(codec, np.zeros((1, _codebooks(codec).shape[2])), 1)[0]


def code_tuples(codec: ResidualCodec) -> np.ndarray:
    """(D, Q) int64 token tuples: row d is level-0 code d, then `held_codes` (the tokens the
    encoder gives a latent equal to codebook[0][d]: d, then the nearest codes to what is left)."""
    tuples = np.empty((codec.D, codec.Q), dtype=np.int64)
    tuples[:, 0] = np.arange(codec.D)
    tuples[:, 1:] = held_codes(codec)[None, :]
    return tuples


def sum_of_codes_features(codec: Codec, codes_per_level) -> np.ndarray:
    """(..., F) float32 features of token tuples (..., Q) (RQ-VAE: the sum of the chosen
    codes, decoded in steady state) or tokens (...,) / (..., 1) (k-means: the centroids).
    ValueError for tokens of the wrong shape or range (Codec.check_tokens' words)."""
    t = np.asarray(codes_per_level)
    if not is_residual(codec):
        lead = t.shape[:-1] if t.ndim and t.shape[-1] == 1 else t.shape
        return codec.decode(codec.check_tokens(t.reshape(-1))).reshape(lead + (codec.num_features,))
    if t.ndim == 0 or t.shape[-1] != codec.Q:
        raise ValueError(f"token tuples have shape {t.shape}, expected (..., {codec.Q}) for codec {codec.name}")
    lead = t.shape[:-1]
    flat = codec.check_tokens(t.reshape(-1, codec.Q))
    latents = _codebooks(codec)[np.arange(codec.Q)[None, :], flat].sum(axis=1)  # (N, L): the sum of the codes
    return _steady_features(codec, latents).reshape(lead + (codec.num_features,))


def steady_reach(codec: ResidualCodec) -> int:
    """Latents either side of the middle one that a decoded frame of it depends on, plus one:
    ceil(decoder reach in frames / frames_per_latent) + 1."""
    return -(-codec.context_frames[1] // codec.frames_per_latent) + 1


def _steady_features(codec: ResidualCodec, latents: np.ndarray) -> np.ndarray:
    """(N, L) latents -> (N, F) float32: each held constant over 2 r + 1 latents, decoded,
    the middle latent's frame fpl // 2 taken. All N sequences run through the decoder in one
    pass, end to end: each middle frame is r latents from its sequence's ends, beyond the
    decoder's reach, so neighbouring sequences do not touch it."""
    r = steady_reach(codec)
    n, fpl = 2 * r + 1, codec.frames_per_latent
    sequences = np.repeat(np.asarray(latents, dtype=np.float64), n, axis=0)  # (N n, L)
    frames = _decode_latents(codec, sequences).reshape(len(latents), n * fpl, -1)
    return codec.model_output(frames[:, r * fpl + fpl // 2])


# --- the two RQ-VAE backends: numpy (rqvae_numpy.RQVAENumpy) and torch (rqvae.RQVAE) -----------

def _is_numpy(codec: ResidualCodec) -> bool:
    return isinstance(getattr(codec.model, "codebooks", None), np.ndarray)


def _codebooks(codec: ResidualCodec) -> np.ndarray:
    """(Q, D, L) float64 codebooks."""
    if _is_numpy(codec):
        return codec.model.codebooks
    return codec.model.quantizer.codebooks.detach().cpu().double().numpy()


def _decode_latents(codec: ResidualCodec, latents: np.ndarray) -> np.ndarray:
    """(N, L) latents -> (N fpl, W) normalised model frames, float64."""
    if _is_numpy(codec):
        return codec.model.decoder(latents)
    import torch

    with torch.no_grad():
        z = torch.from_numpy(latents.astype(np.float32))[None]
        return codec.model.decode_latent(z)[0].double().numpy()


def _quantise_residual(codec: ResidualCodec, residual: np.ndarray, first: int) -> np.ndarray:
    """(N, L) residuals -> (N, Q - first) tokens of levels first..Q-1, nearest code at each
    level (Euclidean; cosine for entropy-guided codebooks, as rqvae_numpy quantises)."""
    books = _codebooks(codec)
    cosine = bool(codec.model_config.get("entropy_guided", False))
    r = np.array(residual, dtype=np.float64)
    out = np.empty((len(r), codec.Q - first), dtype=np.int64)
    for i, q in enumerate(range(first, codec.Q)):
        if cosine:
            unit = r / np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 1e-6)
            out[:, i] = np.argmax(unit @ books[q].T, axis=1)
        else:
            out[:, i] = np.argmin(np.einsum("dl,dl->d", books[q], books[q])[None] - 2.0 * r @ books[q].T, axis=1)
        r = r - books[q][out[:, i]]
    return out
