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


def initialize_distributed(config) -> bool:
  """jax.distributed.initialize from the config's `distributed` keys or the usual environment.

  Must run before anything touches the devices. 'auto' initialises when a coordinator address
  is given (config, or JAX_COORDINATOR_ADDRESS) and passes the process count and id from the
  config or JAX_NUM_PROCESSES / JAX_PROCESS_ID (JAX detects them where those are unset, e.g.
  under SLURM); 'always' calls it regardless, letting JAX detect the cluster (TPU pod slices,
  SLURM, Open MPI); 'never' does nothing. Returns whether this process runs distributed.
  On CPU the processes talk over gloo (JAX's default CPU collectives).
  """
  import os  # pylint: disable=g-import-not-at-top
  dist = config.get("distributed")
  mode = "auto" if dist is None else dist.initialize
  if mode == "never":
    return False
  if jax.distributed.is_initialized():
    return True
  address = (dist.coordinator_address if dist is not None else "") or os.environ.get(
      "JAX_COORDINATOR_ADDRESS", "")
  if mode == "auto" and not address:
    return False
  num_processes = dist.num_processes if dist is not None and dist.num_processes > 0 else None
  if num_processes is None and os.environ.get("JAX_NUM_PROCESSES"):
    num_processes = int(os.environ["JAX_NUM_PROCESSES"])
  process_id = dist.process_id if dist is not None and dist.process_id >= 0 else None
  if process_id is None and os.environ.get("JAX_PROCESS_ID"):
    process_id = int(os.environ["JAX_PROCESS_ID"])
  jax.distributed.initialize(coordinator_address=address or None, num_processes=num_processes,
                             process_id=process_id)
  return True


FSDP_MIN_SIZE = 1024  # arrays smaller than this stay replicated under shard_params


def fsdp_shardings(mesh: Mesh, abstract_tree, min_size: int | None = None):
  """FSDP-style placement: each array of at least min_size (default FSDP_MIN_SIZE) elements is
  split along its largest axis that the 'data' axis divides; smaller arrays (biases, scalars)
  stay replicated.

  Parameters and optimiser moments have the same shapes, so they are split alike; jit's
  partitioner gathers a weight where a layer needs it and reduce-scatters its gradient.
  """
  size = mesh.shape["data"]
  min_size = FSDP_MIN_SIZE if min_size is None else min_size

  def place(leaf):
    shape = tuple(getattr(leaf, "shape", ()))
    if size == 1 or int(np.prod(shape, dtype=np.int64)) < min_size:
      return NamedSharding(mesh, P())
    axes = sorted((d for d in range(len(shape)) if shape[d] % size == 0),
                  key=lambda d: -shape[d])
    if not axes:
      return NamedSharding(mesh, P())
    spec = [None] * len(shape)
    spec[axes[0]] = "data"
    return NamedSharding(mesh, P(*spec))

  return jax.tree_util.tree_map(place, abstract_tree)
