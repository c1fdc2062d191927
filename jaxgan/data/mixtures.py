"""ring8 and grid25 (embedded): the VEEGAN/PacGAN 2-D Gaussian mixtures, sampled afresh for
every batch (see jaxgan.data.embedded.POINT_MIXTURES)."""

from __future__ import annotations

from jaxgan.data.base import DataInfo
from jaxgan.data.embedded import POINT_MIXTURES
from jaxgan.data.registry import register


@register(*POINT_MIXTURES)
def load(data_config, split: str):
  del split  # a mixture has no splits: every sample is fresh
  return POINT_MIXTURES[data_config.name], DataInfo(data_config.name, "points", (2,))
