"""FD, KID, IS, confidence and near-copies for generated digits.

FD, KID, IS and the confident fraction are measured with the small digits classifier; near-copies
in pixel space against the training split.

The reference set is all 1797 real digits (the 'all' split: train and test), resized to 32x32 by
the same preprocessing as the samples. Using every real digit keeps the reference statistics as
steady as this small data set allows; the classifier's accuracy is measured on 'test' only.

The noise floor to compare against is `real_digits_reference()`: the same distances between two
disjoint halves of the real digits (about 900 each). FD is biased upward at small sample sizes,
so compare FD values only at similar sample sizes; KID is unbiased and comparable across sizes.
"""

from __future__ import annotations

import functools

import numpy as np

from jaxgan.data.embedded import DIGITS_NUM_CLASSES, digits_arrays
from jaxgan.errors import JaxganError
from jaxgan.metrics.digits_classifier import DigitsClassifier, load_digits_classifier, softmax
from jaxgan.metrics.fidelity import frechet_distance, inception_score, kernel_distance

KID_NUM_SUBSETS = 100
# Bińkowski et al. use subsets of 1000 from 50k samples; the digits have 1797 in all, and the
# reference halves ~900, so subsets of 500 keep the draws varied (a meaningful kid_std).
KID_SUBSET_SIZE = 500
IS_NUM_SPLITS = 10
# A sample is "confident" when the classifier's top class has at least this probability: a
# well-formed digit. 97.5% of the real test digits are (tests/test_metrics.py checks >= 95%).
CONFIDENCE_THRESHOLD = 0.9


def _pixels(images: np.ndarray) -> np.ndarray:
  """Grey, clipped (as uint8 output would be) and flattened: (N, H*W)."""
  images = np.clip(np.mean(np.asarray(images, np.float32), axis=-1), -1.0, 1.0)
  return images.reshape(len(images), -1)


def nearest_distances(queries: np.ndarray, reference: np.ndarray) -> np.ndarray:
  """RMS pixel distance of each query row to its nearest reference row."""
  sq = (np.sum(queries.astype(np.float64) ** 2, axis=1)[:, None]
        - 2.0 * queries.astype(np.float64) @ reference.astype(np.float64).T
        + np.sum(reference.astype(np.float64) ** 2, axis=1)[None])
  return np.sqrt(np.maximum(sq.min(axis=1), 0.0) / queries.shape[1])


@functools.lru_cache(maxsize=4)
def _train_pixels_and_test_distances(size: int) -> tuple[np.ndarray, np.ndarray]:
  """The training digits at size x size (the data pipeline's resizing) and the nearest-training-
  digit distance of each held-out test digit: how close a genuinely new digit comes."""
  from jaxgan.data import resize_images  # pylint: disable=g-import-not-at-top
  train = _pixels(resize_images(digits_arrays("train")[0], size))
  test = _pixels(resize_images(digits_arrays("test")[0], size))
  return train, nearest_distances(test, train)


def near_copy_metrics(images) -> dict[str, float]:
  """Whether samples copy training digits, in pixel space at the samples' resolution.

  nn_ratio: median distance of a sample to its nearest training digit over the same median for
  the held-out test digits (about 1 for a generator that makes new digits as varied as real
  ones; well below 1 when it reproduces training digits; above 1 for blurred or malformed ones).
  near_copy_fraction: share of samples closer to a training digit than the closest held-out
  test digit is to any (no real new digit comes that close, so these are copies).
  """
  images = np.asarray(images, np.float32)
  if images.shape[1] != images.shape[2]:
    raise JaxganError(f"near_copy_metrics wants square images, got {images.shape}")
  train, test_distances = _train_pixels_and_test_distances(images.shape[1])
  distances = nearest_distances(_pixels(images), train)
  return {"nn_ratio": float(np.median(distances) / np.median(test_distances)),
          "near_copy_fraction": float(np.mean(distances < test_distances.min()))}


@functools.lru_cache(maxsize=4)
def _real_features(classifier: DigitsClassifier, split: str) -> np.ndarray:
  """Classifier features of a real digits split, computed once per classifier."""
  return classifier.features(digits_arrays(split)[0])


def _distances(feats: np.ndarray, reference_feats: np.ndarray, seed: int) -> dict[str, float]:
  kid, kid_std = kernel_distance(feats, reference_feats, KID_NUM_SUBSETS, KID_SUBSET_SIZE, seed)
  return {"fd": frechet_distance(feats, reference_feats), "kid": kid, "kid_std": kid_std}


def digits_metrics(images, labels=None, seed: int = 0) -> dict[str, float]:
  """Sample quality of generated digits.

  Args:
    images: (N, H, W, 1) (or 3-channel) float images in [-1, 1], N >= 10; any resolution.
    labels: optional (N,) int conditioning labels of a class-conditional generator.
    seed: for KID's subset draws.

  Returns:
    fd (Fréchet distance of classifier features to all real digits), kid and kid_std (KID with the
    cubic kernel on the same features), is and is_std (Inception Score with the classifier's
    probabilities, over 10 splits; at most 10), confident_fraction (share of samples whose top
    class probability is >= CONFIDENCE_THRESHOLD), nn_ratio and near_copy_fraction
    (`near_copy_metrics`), and, with labels, label_accuracy (fraction of samples the classifier
    assigns their conditioning label).
  """
  images = np.asarray(images, np.float32)
  if images.ndim != 4 or images.shape[0] < IS_NUM_SPLITS:
    raise JaxganError(
        f"digits_metrics wants images (N>={IS_NUM_SPLITS}, H, W, C), got {images.shape}")
  if not np.all(np.isfinite(images)):
    raise JaxganError("digits_metrics got NaN or infinite pixels")
  classifier = load_digits_classifier()
  logits, feats = classifier.logits_and_features(images)
  metrics = _distances(feats, _real_features(classifier, "all"), seed)
  probs = softmax(logits)
  metrics["is"], metrics["is_std"] = inception_score(probs, IS_NUM_SPLITS)
  metrics["confident_fraction"] = float(np.mean(probs.max(axis=1) >= CONFIDENCE_THRESHOLD))
  metrics.update(near_copy_metrics(images))
  if labels is not None:
    labels = np.asarray(labels)
    if labels.shape != (images.shape[0],):
      raise JaxganError(f"labels must have shape ({images.shape[0]},), got {labels.shape}")
    if labels.min() < 0 or labels.max() >= DIGITS_NUM_CLASSES:
      raise JaxganError(f"labels must lie in [0, {DIGITS_NUM_CLASSES}), got {labels.min()}..{labels.max()}")
    metrics["label_accuracy"] = float(np.mean(np.argmax(logits, axis=1) == labels))
  return metrics


def real_digits_reference(seed: int = 0) -> dict[str, float]:
  """The noise floor of the digits metrics, measured on real digits.

  fd, kid, kid_std: between the two disjoint halves of the 'all' split (its first 898 and last 899
  digits; the split's order is already a fixed random permutation). is, is_std: Inception Score of
  the real 'test' digits. test_accuracy: the classifier's accuracy on 'test'.
  """
  return dict(_real_reference(load_digits_classifier(), seed))  # a copy: the cached one stays intact


@functools.lru_cache(maxsize=4)
def _real_reference(classifier: DigitsClassifier, seed: int) -> dict[str, float]:
  feats = _real_features(classifier, "all")
  half = len(feats) // 2
  metrics = _distances(feats[:half], feats[half:], seed)
  test_images, test_labels = digits_arrays("test")
  probs = classifier.probs(test_images)
  metrics["is"], metrics["is_std"] = inception_score(probs, IS_NUM_SPLITS)
  metrics["test_accuracy"] = classifier.accuracy(test_images, test_labels)
  return metrics
