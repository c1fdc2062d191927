"""scikit-learn's two bundled photographs (china.jpg, flower.jpg) as embedded image sets:

  photos              single images: square patches of the two photos, see `photo_patches`.
  photo_colorization  paired: the photos' patches, grayscale (ITU-R 601 luma, 1 channel) ->
                      colour (3 channels).
  china_flower        unpaired: domain A china.jpg's patches, domain B flower.jpg's.

Each photo is halved in resolution (427x640 -> 213x320); its bottom quarter (53 rows) is held
out: 'train' patches (stride size/4) come from the rest, 'test' patches (stride size/2) from it.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from jaxgan.data.base import DataInfo
from jaxgan.data.images import check_image_options
from jaxgan.data.pipeline import ArraySource
from jaxgan.data.registry import register
from jaxgan.data.sources import UnpairedSource
from jaxgan.errors import JaxganError

PHOTO_NAMES = ("china", "flower")
PHOTO_DOWNSCALE = 2
PHOTO_HELD_OUT = 0.25  # the bottom quarter of each photo is the test region


def to_gray(images: np.ndarray) -> np.ndarray:
  """(..., 3) RGB in [-1, 1] -> (..., 1) ITU-R 601 luma (what Pillow's convert('L') computes)."""
  weights = np.array([0.299, 0.587, 0.114], np.float32)
  return (images @ weights)[..., None].astype(np.float32)


@functools.lru_cache(maxsize=1)
def _photos() -> tuple[np.ndarray, ...]:
  """The two sample photographs at half resolution, float32 (213, 320, 3) in [-1, 1]."""
  from sklearn.datasets import load_sample_images  # pylint: disable=g-import-not-at-top
  photos = []
  for image in load_sample_images().images:
    pil = Image.fromarray(image)
    pil = pil.resize((pil.width // PHOTO_DOWNSCALE, pil.height // PHOTO_DOWNSCALE),
                     Image.Resampling.BICUBIC)
    photos.append(np.asarray(pil, np.float32) / 127.5 - 1.0)
  return tuple(photos)


def photo_regions(photo: np.ndarray) -> dict[str, np.ndarray]:
  """{'train': the top three quarters of a photo, 'test': its held-out bottom quarter}."""
  cut = int(round(photo.shape[0] * (1.0 - PHOTO_HELD_OUT)))
  return {"train": photo[:cut], "test": photo[cut:]}


def photo_patches(name: str, split: str, size: int) -> np.ndarray:
  """Square patches (N, size, size, 3) of one photo's split region, row-major.

  'train': stride size // 4 over the top three quarters; 'test': stride size // 2 over the
  held-out bottom quarter. Patches never cross from one region into the other.
  """
  if split not in ("train", "test"):
    raise JaxganError(f"the photo data sets have splits 'train' and 'test', got {split!r}")
  regions = photo_regions(_photos()[PHOTO_NAMES.index(name)])
  test_rows = regions["test"].shape[0]
  if size > test_rows:  # checked for either split: a run must have its test patches
    raise JaxganError(f"photo patches can be at most {test_rows} pixels (the held-out band of "
                      f"the half-resolution photos), got data.image_size={size}")
  region = regions[split]
  stride = max(size // (4 if split == "train" else 2), 1)
  rows = range(0, region.shape[0] - size + 1, stride)
  cols = range(0, region.shape[1] - size + 1, stride)
  return np.stack([region[r:r + size, c:c + size] for r in rows for c in cols])


@register("photos", "photo_colorization", "china_flower")
def load(data_config, split: str):
  name = data_config.name
  size, channels = data_config.image_size, data_config.channels
  check_image_options(size, channels, "resize")
  per_photo = [photo_patches(photo, split, size) for photo in PHOTO_NAMES]
  if name == "photo_colorization":
    if channels != 3:
      raise JaxganError(f"photo_colorization's targets are colour: data.channels must be 3, "
                        f"got {channels}")
    colour = np.concatenate(per_photo)
    source = ArraySource({"input": to_gray(colour), "target": colour})
    info = DataInfo(name, "images", (size, size, 1), pairing="paired",
                    shape_b=(size, size, 3))
    return source, info
  if channels == 1:
    per_photo = [to_gray(p) for p in per_photo]
  shape = (size, size, channels)
  if name == "photos":
    return ArraySource({"image": np.concatenate(per_photo)}), DataInfo(name, "images", shape)
  a, b = (ArraySource({"image": p}) for p in per_photo)
  info = DataInfo(name, "images", shape, pairing="unpaired", shape_b=shape)
  return UnpairedSource(a, b), info
