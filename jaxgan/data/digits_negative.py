"""digits_negative (embedded, unpaired): domain A the digits, domain B their negatives (1 - x on
a 0-1 scale, -x in [-1, 1]), CoGAN's MNIST set-up. In 'train' the two domains come from
disjoint halves of the digits' train split (719 each), so no digit is ever shown with its own
negative; 'test' has every test digit in both domains (the evaluation compares a translation
with the true negative).
"""

from __future__ import annotations

import numpy as np

from jaxgan.data.base import DataInfo
from jaxgan.data.digits import resize_images
from jaxgan.data.embedded import DIGITS_NUM_CLASSES, digits_arrays
from jaxgan.data.images import check_image_options
from jaxgan.data.pipeline import ArraySource
from jaxgan.data.registry import register
from jaxgan.data.sources import UnpairedSource
from jaxgan.errors import JaxganError


@register("digits_negative")
def load(data_config, split: str):
  size, channels = data_config.image_size, data_config.channels
  check_image_options(size, channels, "resize")
  if split not in ("train", "test"):
    raise JaxganError(f"digits_negative has splits 'train' and 'test', got {split!r}")
  images, labels = digits_arrays(split)
  images = resize_images(images, size)
  if channels == 3:
    images = np.repeat(images, 3, axis=-1)
  if split == "train":  # disjoint halves: no digit is ever seen with its own negative
    half = len(images) // 2
    a = ArraySource({"image": images[:half], "label": labels[:half]})
    b = ArraySource({"image": -images[half:2 * half], "label": labels[half:2 * half]})
  else:
    a = ArraySource({"image": images, "label": labels})
    b = ArraySource({"image": -images, "label": labels})
  shape = (size, size, channels)
  info = DataInfo("digits_negative", "images", shape, DIGITS_NUM_CLASSES, pairing="unpaired",
                  shape_b=shape, relation="negative")
  return UnpairedSource(a, b), info
