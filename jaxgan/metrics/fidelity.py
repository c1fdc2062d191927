"""Sample-quality measures on features: Fréchet distance (FID's formula), KID, Inception Score and
improved precision/recall.

All take plain arrays (features or class probabilities from any network), so the same code
serves the Inception network, the small digits classifier, or anything else. Computed in float64
with numpy: the sizes involved (thousands of samples, at most a few thousand dimensions) make this
cheap, and float32 loses too much in the covariance square root.
"""

from __future__ import annotations

import numpy as np

from jaxgan.errors import JaxganError


def _as_features(feats, name: str) -> np.ndarray:
  feats = np.asarray(feats, np.float64)
  if feats.ndim != 2 or feats.shape[0] < 2:
    raise JaxganError(f"{name} must have shape (N>=2, D), got {feats.shape}")
  if not np.all(np.isfinite(feats)):
    raise JaxganError(f"{name} contains NaN or infinite values")
  return feats


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
  """Symmetric square root of a symmetric positive semi-definite matrix."""
  matrix = (matrix + matrix.T) / 2
  eigvals, eigvecs = np.linalg.eigh(matrix)
  # Round-off makes tiny eigenvalues of singular covariances slightly negative.
  return (eigvecs * np.sqrt(np.clip(eigvals, 0, None))) @ eigvecs.T


def frechet_distance_from_moments(mu1, sigma1, mu2, sigma2) -> float:
  """Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

  |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2)).

  The trace term uses tr((s1 s2)^(1/2)) = tr((s1^(1/2) s2 s1^(1/2))^(1/2)): the inner matrix is
  symmetric PSD, so its eigenvalues are real and non-negative, and no complex square root or
  imaginary-part check (as scipy.linalg.sqrtm of the non-symmetric s1 s2 needs) is required.
  """
  mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
  sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
  if mu1.shape != mu2.shape or mu1.ndim != 1:
    raise JaxganError(f"means must be vectors of one shape, got {mu1.shape} and {mu2.shape}")
  dim = mu1.shape[0]
  if sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
    raise JaxganError(
        f"covariances must be ({dim}, {dim}), got {sigma1.shape} and {sigma2.shape}")
  sqrt_sigma1 = _sqrt_psd(sigma1)
  inner = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
  inner_eigvals = np.linalg.eigvalsh((inner + inner.T) / 2)
  # Eigenvalues below the eigensolver's round-off (np.linalg.matrix_rank's tolerance) are zeros:
  # with fewer samples than dimensions most are, and the square roots of their noise (~1e-8 of
  # the largest each, over ~2000 of them) would bias the trace by ~1e-5 relative.
  tol = max(inner_eigvals.max(initial=0.0), 0.0) * dim * np.finfo(np.float64).eps
  trace_sqrt = np.sum(np.sqrt(np.where(inner_eigvals > tol, inner_eigvals, 0.0)))
  diff = mu1 - mu2
  distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt
  # Exact arithmetic gives distance >= 0; clip the round-off of identical inputs.
  return float(max(distance, 0.0))


def feature_moments(feats) -> tuple[np.ndarray, np.ndarray]:
  """Mean and unbiased covariance of (N, D) features."""
  feats = _as_features(feats, "features")
  return feats.mean(axis=0), np.cov(feats, rowvar=False).reshape(feats.shape[1], feats.shape[1])


def frechet_distance(feats_a, feats_b) -> float:
  """FID's formula on any features: Fréchet distance between Gaussians fitted to both sets.

  Biased upward at small sample sizes, so only compare values computed with equal sizes.
  """
  feats_a = _as_features(feats_a, "feats_a")
  feats_b = _as_features(feats_b, "feats_b")
  if feats_a.shape[1] != feats_b.shape[1]:
    raise JaxganError(f"feature sizes differ: {feats_a.shape[1]} and {feats_b.shape[1]}")
  return frechet_distance_from_moments(*feature_moments(feats_a), *feature_moments(feats_b))


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """KID's kernel k(x, y) = (x.y / d + 1)^3."""
  base = x @ y.T / x.shape[1] + 1.0
  return base * base * base  # much faster than ** 3 (a general pow) on large matrices


def _unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
  m = x.shape[0]
  k_xx, k_yy, k_xy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
  # The unbiased estimator leaves out the diagonal k(x_i, x_i) terms of the within-set sums.
  within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
  return float(within - 2 * k_xy.mean())


def kernel_distance(
    feats_a, feats_b, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
  """Kernel Inception Distance (Bińkowski et al. 2018) on any features.

  The unbiased MMD^2 with the cubic polynomial kernel, averaged over `num_subsets` pairs of
  subsets of `subset_size` drawn without replacement from each set (clipped to the smaller set's
  size). Unbiased, so it can be slightly negative when both sets come from one distribution.

  Returns:
    (mean, std) of the per-subset estimates.
  """
  feats_a = _as_features(feats_a, "feats_a")
  feats_b = _as_features(feats_b, "feats_b")
  if feats_a.shape[1] != feats_b.shape[1]:
    raise JaxganError(f"feature sizes differ: {feats_a.shape[1]} and {feats_b.shape[1]}")
  if num_subsets < 1 or subset_size < 2:
    raise JaxganError(f"need num_subsets >= 1 and subset_size >= 2, got {num_subsets}, {subset_size}")
  size = min(subset_size, feats_a.shape[0], feats_b.shape[0])
  rng = np.random.default_rng(seed)
  estimates = []
  for _ in range(num_subsets):
    idx_a = rng.choice(feats_a.shape[0], size, replace=False)
    idx_b = rng.choice(feats_b.shape[0], size, replace=False)
    estimates.append(_unbiased_mmd2(feats_a[idx_a], feats_b[idx_b]))
  return float(np.mean(estimates)), float(np.std(estimates))


def inception_score(probs, num_splits: int = 10) -> tuple[float, float]:
  """Inception Score exp(E_x KL(p(y|x) || p(y))) from (N, K) class probabilities.

  As in Salimans et al. 2016's code, the samples are cut into `num_splits` consecutive chunks,
  chunk i being probs[i*N//num_splits:(i+1)*N//num_splits] (so when N is not a multiple, the
  longer chunks fall where that rule puts them, not first as np.array_split would), p(y) is the
  mean of each chunk, and the score's mean and std over chunks are returned. It lies between
  1 (every sample gets the same distribution) and K (confident and evenly spread over classes).
  """
  probs = np.asarray(probs, np.float64)
  if probs.ndim != 2 or probs.shape[0] < num_splits or num_splits < 1:
    raise JaxganError(
        f"inception_score wants (N, K) probs with N >= num_splits={num_splits}, got {probs.shape}")
  if not np.all(np.isfinite(probs)) or np.any(probs < 0):
    raise JaxganError("inception_score wants finite, non-negative probabilities")
  scores = []
  n = probs.shape[0]
  for i in range(num_splits):
    chunk = probs[i * n // num_splits:(i + 1) * n // num_splits]
    marginal = chunk.mean(axis=0, keepdims=True)
    # 0 * log(0 / q) = 0: where p is zero the term vanishes, so skip it instead of taking log(0).
    log_ratio = np.log(np.where(chunk > 0, chunk, 1.0)) - np.log(np.where(chunk > 0, marginal, 1.0))
    kl = np.sum(chunk * log_ratio, axis=1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores)), float(np.std(scores))


def _squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  # |x|^2 - 2 x.y + |y|^2 in float64 (the features arrive float64); clipped at 0 for round-off.
  dist = (x * x).sum(1)[:, None] - 2 * x @ y.T + (y * y).sum(1)[None, :]
  return np.maximum(dist, 0.0)


def _knn_radii(feats: np.ndarray, k: int, batch_size: int) -> np.ndarray:
  """Squared distance from each row to its k-th nearest other row (itself excluded)."""
  radii = np.empty(feats.shape[0])
  for start in range(0, feats.shape[0], batch_size):
    dist = _squared_distances(feats[start:start + batch_size], feats)
    # Column k of the partition: column 0 holds the row's zero distance to itself.
    radii[start:start + batch_size] = np.partition(dist, k, axis=1)[:, k]
  return radii


def _fraction_inside(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                     batch_size: int) -> float:
  """Fraction of queries within radius of at least one centre (the k-NN manifold estimate)."""
  inside = 0
  for start in range(0, queries.shape[0], batch_size):
    dist = _squared_distances(queries[start:start + batch_size], centres)
    inside += int(np.any(dist <= radii[None, :], axis=1).sum())
  return inside / queries.shape[0]


def precision_recall(real_feats, fake_feats, k: int = 3, batch_size: int = 1000
                     ) -> tuple[float, float]:
  """Improved precision and recall (Kynkäänniemi et al. 2019) on any features.

  Each set's manifold is the union of balls around its samples, each ball reaching the sample's
  k-th nearest neighbour in the same set. Precision: the fraction of fake samples inside the real
  manifold; recall: the fraction of real samples inside the fake manifold. Distances are computed
  in blocks of `batch_size` rows, so memory stays at batch_size x N.
  """
  real = _as_features(real_feats, "real_feats")
  fake = _as_features(fake_feats, "fake_feats")
  if real.shape[1] != fake.shape[1]:
    raise JaxganError(f"feature sizes differ: {real.shape[1]} and {fake.shape[1]}")
  if k < 1 or k >= min(real.shape[0], fake.shape[0]):
    raise JaxganError(f"precision/recall needs 1 <= k < the smaller set's size, got k={k} with "
                      f"{real.shape[0]} real and {fake.shape[0]} fake samples")
  precision = _fraction_inside(fake, real, _knn_radii(real, k, batch_size), batch_size)
  recall = _fraction_inside(real, fake, _knn_radii(fake, k, batch_size), batch_size)
  return precision, recall
