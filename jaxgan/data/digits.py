"""digits (embedded): scikit-learn's 1797 real 8x8 handwritten digits (10 classes), resized to
data.image_size; a fixed seed-0 split of 1438 train / 359 test."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from jaxgan.data.base import DataInfo
from jaxgan.data.embedded import DIGITS_NUM_CLASSES, digits_arrays
from jaxgan.data.pipeline import ArraySource
from jaxgan.data.registry import register
from jaxgan.errors import JaxganError


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
  """(N, h, w, C) float in [-1, 1] -> (N, size, size, C), bicubic, clipped back to [-1, 1]."""
  if images.shape[1] == size and images.shape[2] == size:
    return images
  out = np.empty((len(images), size, size, images.shape[-1]), np.float32)
  for i, image in enumerate(images):
    for c in range(images.shape[-1]):
      plane = Image.fromarray(image[:, :, c].astype(np.float32), mode="F")
      out[i, :, :, c] = np.asarray(plane.resize((size, size), Image.BICUBIC))
  return np.clip(out, -1.0, 1.0)


@functools.lru_cache(maxsize=8)
def _digits(split: str, size: int, channels: int) -> ArraySource:
  images, labels = digits_arrays(split)
  images = resize_images(images, size)
  if channels == 3:
    images = np.repeat(images, 3, axis=-1)
  return ArraySource({"image": images, "label": labels})


@register("digits")
def load(data_config, split: str):
  size, channels = data_config.image_size, data_config.channels
  if channels not in (1, 3):
    raise JaxganError(f"data.channels must be 1 or 3 for digits, got {channels}")
  source = _digits(split, size, channels)
  return source, DataInfo("digits", "images", (size, size, channels), DIGITS_NUM_CLASSES)
