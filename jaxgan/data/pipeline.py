"""From a data set to the batches each process feeds the mesh.

Every process walks the same stream of global batches (an endless concatenation of seeded
permutations of the data set) and materialises only its own slice of each, so a run gives the
same global batches whatever the number of processes. The stream is a grain MapDataset indexed
by batch number: its iterator state is one integer, saved with every checkpoint.
"""

from __future__ import annotations

import sys
import threading

import grain
import numpy as np

from jaxgan.data.embedded import PointMixture


class ArraySource:
  """An in-memory data set: a dict of equally long arrays, fetched a whole batch at a time."""

  def __init__(self, arrays: dict[str, np.ndarray]):
    self.arrays = arrays

  def __len__(self):
    return len(next(iter(self.arrays.values())))

  def __getitem__(self, index):
    return {k: v[index] for k, v in self.arrays.items()}

  def get_batch(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[indices] for k, v in self.arrays.items()}


def fetch_batch(source, indices: np.ndarray) -> dict[str, np.ndarray]:
  """Vectorised where the source allows it, else example by example (decoding sources)."""
  if hasattr(source, "get_batch"):
    return source.get_batch(indices)
  examples = [source[int(i)] for i in indices]
  return {k: np.stack([e[k] for e in examples]) for k in examples[0]}


class _ShardedBatches:
  """Random-access view: batch i -> this process's rows of global batch i of the index stream."""

  def __init__(self, source, global_batch: int, seed: int, process_index: int,
               process_count: int):
    if global_batch % process_count:
      raise ValueError("the global batch must split evenly over processes")
    self.source, self.global_batch, self.seed = source, global_batch, seed
    self.local_batch = global_batch // process_count
    self.offset = process_index * self.local_batch
    self._lock = threading.Lock()  # grain prefetches batches from a thread pool
    self._perms: dict[int, np.ndarray] = {}

  def __len__(self):
    return sys.maxsize  # endless; the loop decides when to stop

  def __getstate__(self):
    return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_perms")}

  def __setstate__(self, state):
    self.__dict__.update(state, _lock=threading.Lock(), _perms={})

  def _permutation(self, epoch: int) -> np.ndarray:
    with self._lock:
      if epoch not in self._perms:
        if len(self._perms) > 4:  # keep a few recent epochs only
          self._perms.pop(min(self._perms))
        self._perms[epoch] = np.random.default_rng((self.seed, epoch)).permutation(
            len(self.source))
      return self._perms[epoch]

  def __getitem__(self, batch_index: int):
    n = len(self.source)
    start = batch_index * self.global_batch + self.offset
    positions = np.arange(start, start + self.local_batch)
    indices = np.empty(self.local_batch, np.int64)
    for epoch in np.unique(positions // n):  # a batch may straddle two epochs
      mask = positions // n == epoch
      indices[mask] = self._permutation(int(epoch))[positions[mask] % n]
    return fetch_batch(self.source, indices)


class _PointBatches:
  """Fresh samples of a 2-D mixture for every batch, seeded by the batch number."""

  def __init__(self, mixture: PointMixture, global_batch: int, seed: int, process_index: int,
               process_count: int):
    self.mixture, self.global_batch, self.seed = mixture, global_batch, seed
    self.local_batch = global_batch // process_count
    self.offset = process_index * self.local_batch

  def __len__(self):
    return sys.maxsize

  def __getitem__(self, batch_index: int):
    points = self.mixture.sample(self.global_batch,
                                 np.random.default_rng((self.seed, batch_index)))
    return {"x": points[self.offset:self.offset + self.local_batch]}


def train_iterator(source, global_batch: int, seed: int, process_index: int = 0,
                   process_count: int = 1):
  """A checkpointable grain iterator of this process's share of each global batch."""
  if isinstance(source, PointMixture):
    batches = _PointBatches(source, global_batch, seed, process_index, process_count)
  else:
    batches = _ShardedBatches(source, global_batch, seed, process_index, process_count)
  return iter(grain.MapDataset.source(batches))
