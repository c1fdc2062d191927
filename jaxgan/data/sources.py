"""Sources built from other sources: a subset, negated images, two domains as one unpaired set.

A source is random access to examples (`len`, `source[i]`, optionally a vectorised
`get_batch(indices)`); see jaxgan.data.pipeline.ArraySource for the in-memory one.
"""

from __future__ import annotations

import numpy as np

from jaxgan.data.base import DataInfo
from jaxgan.data.pipeline import fetch_batch
from jaxgan.errors import JaxganError


class SubsetSource:
  """Random access to some examples of another source (a half of a split)."""

  def __init__(self, source, indices):
    self.source, self.indices = source, np.asarray(indices, np.int64)

  def __len__(self):
    return len(self.indices)

  def __getitem__(self, index):
    return self.source[int(self.indices[index])]

  def get_batch(self, indices):
    return fetch_batch(self.source, self.indices[np.asarray(indices)])


class NegativeSource:
  """Another source's images negated: x -> -x in [-1, 1], 1 - x on a 0-1 scale."""

  def __init__(self, source):
    self.source = source

  def __len__(self):
    return len(self.source)

  def __getitem__(self, index):
    example = dict(self.source[index])
    example["image"] = -example["image"]
    return example

  def get_batch(self, indices):
    batch = dict(fetch_batch(self.source, indices))
    batch["image"] = -batch["image"]
    return batch


class UnpairedSource:
  """Two sources as one of unpaired examples {'a', 'b'[, 'label_a', 'label_b']}.

  Its length is the longer domain's; example i takes a[i mod |A|] and b[p(i) mod |B|] with p a
  fixed permutation, so the shorter domain repeats and which b comes with which a is arbitrary
  (and irrelevant: every loss of an unpaired trainer looks at one domain at a time).
  """

  def __init__(self, source_a, source_b, seed: int = 1):
    if len(source_a) == 0 or len(source_b) == 0:
      raise JaxganError("an unpaired data set needs images in both domains")
    self.source_a, self.source_b = source_a, source_b
    self.b_order = np.random.default_rng(seed).permutation(len(source_b))

  def __len__(self):
    return max(len(self.source_a), len(self.source_b))

  def _indices(self, indices):
    indices = np.asarray(indices, np.int64)
    return indices % len(self.source_a), self.b_order[indices % len(self.source_b)]

  @staticmethod
  def _merge(a, b):
    out = {"a": a["image"], "b": b["image"]}
    if "label" in a:
      out["label_a"] = a["label"]
    if "label" in b:
      out["label_b"] = b["label"]
    return out

  def __getitem__(self, index):
    ia, ib = self._indices([index])
    return self._merge(self.source_a[int(ia[0])], self.source_b[int(ib[0])])

  def get_batch(self, indices):
    ia, ib = self._indices(indices)
    return self._merge(fetch_batch(self.source_a, ia), fetch_batch(self.source_b, ib))


def unpaired_info(name, info_a, info_b, relation=""):
  """The DataInfo of two domains' sources joined by UnpairedSource."""
  if info_a.shape[:2] != info_b.shape[:2]:
    raise JaxganError(f"the two domains of {name!r} have different image sizes: "
                      f"{info_a.shape} and {info_b.shape}")
  return DataInfo(name, "images", info_a.shape, info_a.num_classes if info_a.num_classes ==
                  info_b.num_classes else 0, pairing="unpaired", shape_b=info_b.shape,
                  relation=relation)
