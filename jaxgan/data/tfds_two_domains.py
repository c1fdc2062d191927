"""Two domains from a tfds data set (data.name='tfds:NAME'):

  data.domain_b='split'       unpaired: A from data.train_split / test_split, B from
                      data.train_split_b / test_split_b (cycle_gan/horse2zebra: trainA, trainB,
                      testA, testB).
  data.domain_b='negative'    unpaired: A the data set's images, B the negatives of a disjoint
                      half (train split; the test split has all its images in both domains).
"""

from __future__ import annotations

from jaxgan.data.registry import register
from jaxgan.data.sources import NegativeSource, SubsetSource, UnpairedSource, unpaired_info
from jaxgan.data.tfds_source import TfdsSource
from jaxgan.errors import JaxganError


@register("tfds/split", "tfds/negative")
def load(data_config, split: str):
  name = data_config.name[len("tfds:"):]
  domain_b = data_config.domain_b
  data_dir = data_config.data_dir or None
  args = (data_config.image_size, data_config.channels, data_config.fit)
  tfds_split = data_config.train_split if split == "train" else data_config.test_split
  if domain_b == "split":
    split_b = (data_config.train_split_b if split == "train" else
               data_config.test_split_b)
    if not split_b:
      raise JaxganError("data.domain_b='split' needs data.train_split_b and data.test_split_b, "
                        "the splits of domain B")
    a = TfdsSource(name, tfds_split, data_dir, *args, label_key=None)
    b = TfdsSource(name, split_b, data_dir, *args, label_key=None)
    return UnpairedSource(a, b), unpaired_info(data_config.name, a.info, b.info)
  source = TfdsSource(name, tfds_split, data_dir, *args)
  if split == "train":
    half = len(source) // 2
    if half == 0:
      raise JaxganError(f"tfds data set {name!r} split {tfds_split!r} needs at least 2 examples "
                        "to make two domains")
    a, b = SubsetSource(source, range(half)), SubsetSource(source, range(half, 2 * half))
  else:
    a = b = source
  info = unpaired_info(data_config.name, source.info, source.info, relation="negative")
  return UnpairedSource(a, NegativeSource(b)), info
