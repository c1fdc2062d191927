"""Data sets that ship with the package, so every config runs offline on any machine.

ring8 and grid25 follow the VEEGAN/PacGAN protocol; digits is scikit-learn's bundled copy of the
UCI handwritten digits (1797 images, 8x8, 10 classes) with a fixed train/test split.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np


@dataclasses.dataclass(frozen=True)
class PointMixture:
  """An equal-weight mixture of isotropic 2-D Gaussians."""

  name: str
  modes: np.ndarray  # (M, 2) float32
  std: float

  def sample(self, num: int, rng: np.random.Generator) -> np.ndarray:
    which = rng.integers(0, len(self.modes), size=num)
    noise = rng.standard_normal((num, 2)) * self.std
    return (self.modes[which] + noise).astype(np.float32)


def _ring8() -> PointMixture:
  angles = 2 * np.pi * np.arange(8) / 8
  modes = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
  return PointMixture("ring8", modes, 0.01)


def _grid25() -> PointMixture:
  axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0], np.float32)
  modes = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
  return PointMixture("grid25", modes, 0.05)


POINT_MIXTURES = {"ring8": _ring8(), "grid25": _grid25()}

DIGITS_NUM_CLASSES = 10
DIGITS_SPLIT_SEED = 0
DIGITS_TEST_FRACTION = 0.2


@functools.lru_cache(maxsize=None)
def _digits_all() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top

  bunch = load_digits()
  images = bunch.images.astype(np.float32) / 16.0  # sklearn stores intensities 0..16
  labels = bunch.target.astype(np.int32)
  order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(labels))
  return images, labels, order


def digits_arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
  """The digits of one split as (images float32 (N, 8, 8, 1) in [-1, 1], labels int32 (N,)).

  The split is fixed: a seed-0 permutation of all 1797 digits, the last 20% (359) held out as
  'test', the rest (1438) 'train'. 'all' returns every digit in the permuted order.
  """
  images, labels, order = _digits_all()
  num_test = int(round(len(order) * DIGITS_TEST_FRACTION))
  if split == "train":
    idx = order[: len(order) - num_test]
  elif split == "test":
    idx = order[len(order) - num_test :]
  elif split == "all":
    idx = order
  else:
    raise ValueError(f"unknown digits split {split!r} (expected train, test or all)")
  return (images[idx, :, :, None] * 2.0 - 1.0).astype(np.float32), labels[idx]
