"""The metrics a data set is judged by, computed on samples of the current generator."""

from __future__ import annotations

import jax
import numpy as np

from jaxgan.data.embedded import POINT_MIXTURES
from jaxgan.errors import JaxganError

EVAL_KEY = 20141  # a fixed key for evaluation noise, apart from training's


def has_evaluator(info) -> bool:
  return info.name in POINT_MIXTURES or info.name == "digits"


def evaluate(experiment, state, num_samples: int | None = None) -> dict:
  """Generates num_samples (config.eval.num_samples) and scores them; returns floats."""
  config, info = experiment.config, experiment.info
  if not has_evaluator(info):
    raise JaxganError(f"no metrics are defined for data set {info.name!r} yet "
                      "(evaluation covers ring8, grid25 and digits)")
  num = num_samples or config.eval.num_samples
  z, labels = experiment.latents(jax.random.PRNGKey(EVAL_KEY), num)
  samples = experiment.generate(state, z, labels, config.eval.batch_size)
  if not np.all(np.isfinite(samples)):
    return {"nonfinite_samples": float(np.mean(~np.isfinite(samples)))}
  if info.name in POINT_MIXTURES:
    from jaxgan.metrics.points import mode_metrics  # pylint: disable=g-import-not-at-top
    mixture = POINT_MIXTURES[info.name]
    return {k: float(v) for k, v in mode_metrics(samples, mixture.modes, mixture.std).items()}
  from jaxgan.metrics.digits import digits_metrics  # pylint: disable=g-import-not-at-top
  images = samples.mean(axis=-1, keepdims=True) if samples.shape[-1] == 3 else samples
  return {k: float(v) for k, v in digits_metrics(images, labels).items()}
