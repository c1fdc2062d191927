"""Data sets by config name: the embedded ones, tfds data sets and folders of images."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from jaxgan.data.base import DataInfo
from jaxgan.data.embedded import DIGITS_NUM_CLASSES, POINT_MIXTURES, digits_arrays
from jaxgan.data.pipeline import ArraySource, train_iterator
from jaxgan.data import translation
from jaxgan.errors import JaxganError

EMBEDDED = ("ring8", "grid25", "digits") + translation.EMBEDDED

__all__ = ["DataInfo", "load", "train_iterator", "resize_images"]


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


def load(data_config, split: str = "train"):
  """(source, DataInfo) for the config's data set; `source` is a PointMixture or random-access.

  Conditional models need labels: the engine checks DataInfo.num_classes against the config.
  """
  name = data_config.name
  two_images = translation.load(data_config, split)  # paired / unpaired sets, else None
  if two_images is not None:
    return two_images
  if name in POINT_MIXTURES:
    mixture = POINT_MIXTURES[name]
    return mixture, DataInfo(name, "points", (2,))
  if name == "digits":
    size, channels = data_config.image_size, data_config.channels
    if channels not in (1, 3):
      raise JaxganError(f"data.channels must be 1 or 3 for digits, got {channels}")
    source = _digits(split, size, channels)
    return source, DataInfo(name, "images", (size, size, channels), DIGITS_NUM_CLASSES)
  if name == "folder":
    from jaxgan.data.folder import FolderSource  # pylint: disable=g-import-not-at-top
    if not data_config.path:
      raise JaxganError("data.name='folder' needs data.path, the folder of images")
    source = FolderSource(data_config.path, data_config.image_size, data_config.channels,
                          data_config.fit, split=split)
    return source, source.info
  if name.startswith("tfds:"):
    from jaxgan.data.tfds_source import TfdsSource  # pylint: disable=g-import-not-at-top
    tfds_split = data_config.train_split if split == "train" else data_config.test_split
    source = TfdsSource(name[len("tfds:"):], tfds_split, data_config.data_dir or None,
                        data_config.image_size, data_config.channels, data_config.fit)
    return source, source.info
  raise JaxganError(f"unknown data set {name!r}; expected one of {', '.join(EMBEDDED)}, "
                    "'folder' or 'tfds:NAME'")
