"""An experiment: the config turned into data, a trainer and jitted, mesh-sharded functions.

The training loop, `jaxgan sample` and `jaxgan evaluate` all start from one of these. What is
particular to a family of papers (state, step, sampling, scoring) is its trainer's.
"""

from __future__ import annotations

import jax
import numpy as np

from jaxgan import data as data_lib
from jaxgan.config import validate
from jaxgan.errors import JaxganError
from jaxgan.train import parallel
from jaxgan.train.adversarial import AdversarialTrainer
from jaxgan.train.cogan import CoGANTrainer
from jaxgan.train.cyclegan import CycleGANTrainer
from jaxgan.train.pix2pix import Pix2PixTrainer

TRAINERS = {
    "adversarial": AdversarialTrainer,
    "pix2pix": Pix2PixTrainer,
    "cyclegan": CycleGANTrainer,
    "cogan": CoGANTrainer,
}

_PAIRINGS = {"": "one image per example", "paired": "paired (input, target) images",
             "unpaired": "unpaired images of two domains"}


class Experiment:

  def __init__(self, config):
    self.config = config
    parallel.initialize_distributed(config)  # multi-host: before anything touches the devices
    self.mesh = parallel.make_mesh()
    validate(config, num_devices=len(jax.devices()), num_processes=jax.process_count())
    if config.trainer not in TRAINERS:
      raise JaxganError(f"unknown trainer {config.trainer!r}; expected one of {sorted(TRAINERS)}")
    self.source, self.info = data_lib.load(config.data, "train")
    wanted = getattr(TRAINERS[config.trainer], "pairing", "")  # what its steps read
    if self.info.pairing != wanted:
      raise JaxganError(f"the {config.trainer!r} trainer needs {_PAIRINGS[wanted]}, but data set "
                        f"{config.data.name!r} has {_PAIRINGS[self.info.pairing]}")
    self.trainer = TRAINERS[config.trainer](config, self.info)

    self.replicated = parallel.replicated(self.mesh)
    self.batch_sharding = parallel.batch_sharded(self.mesh, leading_unsharded=1)
    key = jax.random.PRNGKey(config.seed)
    self.abstract_state = jax.eval_shape(self.trainer.init_state, key)
    # Replicated state (data parallel), or with shard_params its large arrays split over the
    # 'data' axis (FSDP-style); the abstract state carries the placement for restoring.
    self.state_sharding = self.replicated
    if config.get("shard_params", False):
      self.state_sharding = parallel.fsdp_shardings(self.mesh, self.abstract_state)
      self.abstract_state = jax.tree_util.tree_map(
          lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), self.abstract_state,
          self.state_sharding)
    self._init = jax.jit(self.trainer.init_state, out_shardings=self.state_sharding)
    self._key = key
    step = self.trainer.make_step(parallel.constrainer(self.mesh))
    self.train_step = jax.jit(step, in_shardings=(self.state_sharding, self.batch_sharding),
                              out_shardings=(self.state_sharding, self.replicated),
                              donate_argnums=0)

  def init_state(self):
    return self._init(self._key)

  def next_batch(self, iterator):
    """The real batches one step consumes, as a global batch with leaves [n, B, ...]."""
    local = [next(iterator) for _ in range(self.trainer.real_batches_per_step)]
    return self.place_batch(local)

  def place_batch(self, local_batches: list[dict]):
    stacked = {k: np.stack([b[k] for b in local_batches]) for k in local_batches[0]}
    return parallel.to_global(stacked, self.batch_sharding, batch_axis=1)

  def train_iterator(self):
    return data_lib.train_iterator(self.source, self.config.batch_size, self.config.seed,
                                   jax.process_index(), jax.process_count())

  # Convenience for the single-G trainers, which most tests and tools use.
  @property
  def nets(self):
    return self.trainer.nets

  def latents(self, key, num: int, labels=None):
    return self.trainer.latents(key, num, labels)

  def generate(self, state, z, labels=None, batch_size: int = 500):
    return self.trainer.generate(state, z, labels, batch_size)
