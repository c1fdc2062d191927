"""FID, KID, IS and improved precision/recall in pytorch-fid's Inception space.

`InceptionScorer` holds the jitted, device-sharded network (jaxgan.metrics.inception) and turns
image sets into the metrics of jaxgan.metrics.fidelity, each reported with its sample count:

  fid (n_real, n_fake): Fréchet distance of the float64 pool3 statistics.
  kid, kid_std (kid_subset_size, kid_subsets): unbiased MMD^2, cubic kernel (x.y/2048 + 1)^3,
    100 subsets of min(1000, n_real, n_fake).
  is, is_std (n_fake, is_splits): Inception Score from the softmax of the unbiased logits
    (pool3 @ W, as the original code), 10 consecutive splits.
  precision, recall (n_real, n_fake, pr_k): Kynkäänniemi et al. 2019 with k=3.

Reference statistics of a data set are computed once and cached under $JAXGAN_CACHE (default
~/.cache/jaxgan)/inception_stats/ as pytorch-fid's npz format (`mu`, `sigma`; jaxgan adds `n`), in
a file named by the data set, the number of images, the resize and the weights' sha256. A
pytorch-fid stats file (e.g. a published one) loads the same way for FID.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
from typing import Iterable, Sequence

import numpy as np

from jaxgan.errors import JaxganError
from jaxgan.metrics import fidelity
from jaxgan.metrics.image_sets import ImageSet, array_images
from jaxgan.metrics.inception import FEATURE_DIM, InceptionExtractor, load_inception

METRICS = ("fid", "kid", "is", "pr")
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
IS_SPLITS = 10
PR_K = 3


def parse_metrics(metrics: str | Sequence[str]) -> tuple[str, ...]:
  """'fid,kid' or ['fid', 'kid'] -> ('fid', 'kid'), checked against METRICS."""
  names = [m.strip() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
  names = [m for m in names if m]
  unknown = [m for m in names if m not in METRICS]
  if unknown or not names:
    raise JaxganError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}"
                      if unknown else f"no metric asked for; choose from {', '.join(METRICS)}")
  return tuple(dict.fromkeys(names))  # de-duplicated, order kept


def cache_dir() -> str:
  return os.path.join(os.environ.get("JAXGAN_CACHE") or os.path.expanduser("~/.cache/jaxgan"),
                      "inception_stats")


def load_stats(path: str) -> tuple[np.ndarray, np.ndarray, int | None]:
  """(mu, sigma, n or None) of a pytorch-fid style statistics .npz."""
  if not os.path.isfile(path):
    raise JaxganError(f"no such file: {path}")
  try:
    with np.load(path, allow_pickle=False) as data:
      if "mu" not in data.files or "sigma" not in data.files:
        raise JaxganError(f"{path} is not a statistics file: it needs arrays mu and sigma "
                          f"(has {', '.join(data.files)})")
      mu, sigma = data["mu"].astype(np.float64), data["sigma"].astype(np.float64)
      n = int(data["n"]) if "n" in data.files else None
  except (OSError, ValueError) as e:
    raise JaxganError(f"{path} is not a readable .npz: {e}") from e
  if mu.shape != (FEATURE_DIM,) or sigma.shape != (FEATURE_DIM, FEATURE_DIM):
    raise JaxganError(f"{path}: mu must be (2048,) and sigma (2048, 2048) pool3 statistics, got "
                      f"{mu.shape} and {sigma.shape}")
  return mu, sigma, n


def save_stats(path: str, mu: np.ndarray, sigma: np.ndarray, n: int) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path[:-len(".npz")] + f".{os.getpid()}.tmp.npz"
  np.savez(tmp, mu=mu, sigma=sigma, n=n)
  os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file


@dataclasses.dataclass
class Reference:
  """A real set in Inception space: its statistics, and its features where KID or P/R need them."""
  mu: np.ndarray
  sigma: np.ndarray
  n: int | None
  features: np.ndarray | None = None


class InceptionScorer:
  """Scores image sets with pytorch-fid's Inception network.

  Args:
    metrics: any of 'fid', 'kid', 'is', 'pr' (a sequence or 'fid,kid').
    weights: the converted .npz (else config's eval.inception_weights, else
      $JAXGAN_INCEPTION_WEIGHTS); `variables` instead gives the Flax variables directly (tests).
    batch_size: images per jitted call, rounded up to a multiple of the device count.
    resize: 'pytorch-fid' (bilinear in the network) or 'clean' (clean-fid's PIL bicubic).
  """

  def __init__(self, metrics=("fid",), weights: str | None = None, config=None,
               batch_size: int = 64, resize: str = "pytorch-fid", progress: bool = True,
               seed: int = 0, variables=None, weights_id: str | None = None):
    self.metrics = parse_metrics(metrics)
    if variables is None:
      variables, weights_id = load_inception(weights, config)
    self.weights_id = (weights_id or "unknown")[:16]
    self.resize = resize
    self.seed = seed
    self.extractor = InceptionExtractor(variables, batch_size, resize, progress=progress)

  def features(self, images: ImageSet | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pool3 (N, 2048), unbiased logits (N, 1008)) of uint8 images or an ImageSet."""
    if isinstance(images, np.ndarray):
      images = array_images(images)
    return self.extractor(images.batches(self.extractor.batch_size), total=images.count)

  def _cache_path(self, images: ImageSet) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", images.key.split(":")[0] + "_" +
                  os.path.basename(images.key.split(":")[1] if ":" in images.key else ""))[:40]
    digest = hashlib.sha256(images.key.encode()).hexdigest()[:12]
    return os.path.join(cache_dir(), f"{slug}-{digest}-n{images.count}-{self.resize}-"
                        f"{self.weights_id[:12]}.npz")

  def reference(self, images: ImageSet | str) -> Reference:
    """The real set's statistics (cached) and, for KID or precision/recall, its features.

    A string is a statistics .npz (pytorch-fid's format), usable for FID only.
    """
    needs_features = bool({"kid", "pr"} & set(self.metrics))
    if isinstance(images, str):
      if needs_features:
        raise JaxganError(f"{images} holds statistics only; kid and pr need the real images")
      return Reference(*load_stats(images))
    path = self._cache_path(images)
    if not needs_features and os.path.isfile(path):
      logging.info("reference statistics from %s", path)
      return Reference(*load_stats(path))
    feats, _ = self.features(images)
    mu, sigma = fidelity.feature_moments(feats)
    save_stats(path, mu, sigma, len(feats))
    logging.info("reference statistics of %s written to %s", images.key, path)
    return Reference(mu, sigma, len(feats), feats if needs_features else None)

  def score(self, fake: ImageSet | np.ndarray, reference: Reference | None) -> dict:
    """The metrics of uint8 fake images against a reference (None when only 'is' is asked)."""
    feats, logits = self.features(fake)
    return self.score_features(feats, logits, reference)

  def score_features(self, feats: np.ndarray, logits: np.ndarray,
                     reference: Reference | None) -> dict:
    out: dict = {"n_fake": int(len(feats))}
    if reference is not None:
      out["n_real"] = reference.n
    for metric in self.metrics:
      if metric != "is" and reference is None:
        raise JaxganError(f"{metric} needs real images or statistics")
      if metric == "fid":
        mu, sigma = fidelity.feature_moments(feats)
        out["fid"] = fidelity.frechet_distance_from_moments(mu, sigma, reference.mu,
                                                            reference.sigma)
      elif metric == "kid":
        size = min(KID_SUBSET_SIZE, len(feats), len(reference.features))
        out["kid"], out["kid_std"] = fidelity.kernel_distance(
            feats, reference.features, KID_SUBSETS, KID_SUBSET_SIZE, self.seed)
        out["kid_subset_size"], out["kid_subsets"] = size, KID_SUBSETS
      elif metric == "is":
        out["is"], out["is_std"] = fidelity.inception_score(softmax(logits), IS_SPLITS)
        out["is_splits"] = IS_SPLITS
      else:
        out["precision"], out["recall"] = fidelity.precision_recall(reference.features, feats,
                                                                    PR_K)
        out["pr_k"] = PR_K
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
  logits = np.asarray(logits, np.float64)
  exp = np.exp(logits - logits.max(axis=1, keepdims=True))
  return exp / exp.sum(axis=1, keepdims=True)


def inception_scores(fake: ImageSet | np.ndarray, real: ImageSet | np.ndarray | str | None,
                     metrics=("fid",), **scorer_kwargs) -> dict:
  """One-shot scoring: uint8 fake images (or an ImageSet) against real images, an ImageSet or a
  statistics .npz path (None for IS alone). scorer_kwargs go to InceptionScorer."""
  scorer = InceptionScorer(metrics, **scorer_kwargs)
  if isinstance(real, np.ndarray):
    real = array_images(real, "real")
  reference = None if real is None else scorer.reference(real)
  return scorer.score(fake, reference)


def iterate_batches(images: Iterable[np.ndarray], count: int, key: str = "generated") -> ImageSet:
  """An ImageSet over an already batched iterable of uint8 arrays (e.g. a generator's samples
  produced batch by batch during training); read once."""
  consumed = []

  def batches(batch_size: int):
    del batch_size  # the extractor re-chunks whatever arrives
    if consumed:
      raise JaxganError(f"{key}: a batch iterable can be read only once")
    consumed.append(True)
    seen = 0
    for batch in images:
      batch = np.asarray(batch)[:count - seen]
      seen += len(batch)
      yield batch
      if seen >= count:
        break
  return ImageSet(key, count, batches)
