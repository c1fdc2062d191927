"""converted: the stand-in data set of a model converted from another implementation's
checkpoint (`jaxgan convert`), which comes without its images.

It describes the examples (data.image_size, data.channels, data.channels_b for a second domain
or target, 0: as data.channels; data.num_classes; data.pairing '' / 'paired' / 'unpaired'), so
the networks are built and a generator samples, but it holds no images: training, and what reads
images (translation, scores against real data), ask for the real data set instead
(--config.data.name=... on the command that needs it, or at conversion time).
"""

from __future__ import annotations

from jaxgan.data.base import DataInfo
from jaxgan.data.registry import register
from jaxgan.errors import JaxganError

PAIRINGS = ("", "paired", "unpaired")


def _no_images() -> JaxganError:
  return JaxganError("data set 'converted' holds no images (a converted model comes without "
                     "its data): name the real one with --config.data.name=... (and its "
                     "data.path / layout)")


class NoImages:
  """A source that refuses to be read, with the way out."""

  def __len__(self):
    raise _no_images()

  def __getitem__(self, index):
    raise _no_images()

  def get_batch(self, indices):
    raise _no_images()


@register("converted")
def load(data_config, split: str):
  if split != "train":
    raise _no_images()
  size, channels = data_config.image_size, data_config.channels
  pairing = data_config.get("pairing", "")
  if pairing not in PAIRINGS:
    raise JaxganError(f"data.pairing must be one of {PAIRINGS}, got {pairing!r}")
  channels_b = data_config.get("channels_b", 0) or channels
  shape_b = (size, size, channels_b) if pairing else ()
  info = DataInfo("converted", "images", (size, size, channels),
                  data_config.get("num_classes", 0), pairing=pairing, shape_b=shape_b)
  return NoImages(), info
