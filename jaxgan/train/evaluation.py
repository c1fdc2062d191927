"""How a data set's samples are scored: mode coverage for the 2-D mixtures, the digits
classifier's metrics for digits."""

from __future__ import annotations

import numpy as np

from jaxgan.data.embedded import POINT_MIXTURES
from jaxgan.errors import JaxganError


def has_evaluator(info) -> bool:
  return info.name in POINT_MIXTURES or info.name == "digits"


def reference_modes(info):
  mixture = POINT_MIXTURES.get(info.name)
  return None if mixture is None else mixture.modes


def score_samples(info, samples: np.ndarray, labels=None) -> dict:
  """Metrics of generated samples (float, images in [-1, 1]); labels for conditional ones."""
  if not has_evaluator(info):
    raise JaxganError(f"no metrics are defined for data set {info.name!r} yet "
                      "(evaluation covers ring8, grid25 and digits)")
  if not np.all(np.isfinite(samples)):
    return {"nonfinite_samples": float(np.mean(~np.isfinite(samples)))}
  if info.name in POINT_MIXTURES:
    from jaxgan.metrics.points import mode_metrics  # pylint: disable=g-import-not-at-top
    mixture = POINT_MIXTURES[info.name]
    return {k: float(v) for k, v in mode_metrics(samples, mixture.modes, mixture.std).items()}
  from jaxgan.metrics.digits import digits_metrics  # pylint: disable=g-import-not-at-top
  images = samples.mean(axis=-1, keepdims=True) if samples.shape[-1] == 3 else samples
  return {k: float(v) for k, v in digits_metrics(images, labels).items()}
