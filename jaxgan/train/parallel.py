"""Data parallelism with jit over a mesh: one 'data' axis over every device of every process.

Params and optimiser state are replicated; batches are sharded along 'data'; jit inserts the
gradient all-reduce, and BatchNorm sees the global batch (cross-replica BN for free).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


def make_mesh() -> Mesh:
  return Mesh(np.asarray(jax.devices()), ("data",))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharded(mesh: Mesh, leading_unsharded: int = 0) -> NamedSharding:
  """Shards the batch axis, which follows `leading_unsharded` axes (e.g. the n_critic axis)."""
  return NamedSharding(mesh, P(*([None] * leading_unsharded), "data"))


def to_global(local_batch: dict, sharding: NamedSharding, batch_axis: int) -> dict:
  """This process's rows -> global arrays laid out over the mesh (multi-process safe)."""
  def place(x):
    global_shape = list(x.shape)
    global_shape[batch_axis] *= jax.process_count()
    return jax.make_array_from_process_local_data(sharding, x, tuple(global_shape))
  return {k: place(v) for k, v in local_batch.items()}


def constrainer(mesh: Mesh):
  """x -> x pinned to the data axis along its first dimension (inside jit)."""
  sharding = NamedSharding(mesh, P("data"))
  return lambda x: jax.lax.with_sharding_constraint(x, sharding)
