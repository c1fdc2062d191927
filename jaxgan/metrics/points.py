"""Mode coverage on 2-D Gaussian mixtures (ring8, grid25), the VEEGAN/PacGAN protocol.

A sample is high quality when it lies within 3 standard deviations of its nearest mode; a mode is
covered when at least one high-quality sample has it as nearest mode. The papers judge 2500
samples (PacGAN Table 1: GAN 6.3/8 modes, 98.2% high quality on the ring).
"""

from __future__ import annotations

import numpy as np

from jaxgan.errors import JaxganError

HIGH_QUALITY_NUM_STDS = 3.0


def mode_metrics(samples, modes, std: float) -> dict[str, float]:
  """Modes covered and fraction of high-quality samples.

  Args:
    samples: (N, 2) generated points (numpy or jax array).
    modes: (M, 2) centres of the mixture components.
    std: the components' (isotropic) standard deviation.

  Returns:
    {'modes_covered': number of covered modes (a float, so runs can be averaged),
     'high_quality_fraction': fraction of samples within 3 std of their nearest mode}.
  """
  samples = np.asarray(samples, np.float64)
  modes = np.asarray(modes, np.float64)
  if samples.ndim != 2 or samples.shape[1] != 2 or samples.shape[0] == 0:
    raise JaxganError(f"mode_metrics wants samples of shape (N>0, 2), got {samples.shape}")
  if modes.ndim != 2 or modes.shape[1] != 2 or modes.shape[0] == 0:
    raise JaxganError(f"mode_metrics wants modes of shape (M>0, 2), got {modes.shape}")
  if not std > 0:
    raise JaxganError(f"mode_metrics wants a positive std, got {std}")
  # Non-finite samples (a diverged generator) are simply never high quality.
  finite = np.all(np.isfinite(samples), axis=1)
  dist = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)  # (N, M)
  dist = np.where(finite[:, None], dist, np.inf)
  nearest = np.argmin(dist, axis=1)
  nearest_dist = dist[np.arange(len(samples)), nearest]
  high_quality = nearest_dist <= HIGH_QUALITY_NUM_STDS * std
  return {
      "modes_covered": float(len(np.unique(nearest[high_quality]))),
      "high_quality_fraction": float(np.mean(high_quality)),
  }
