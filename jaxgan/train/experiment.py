"""An experiment: the config turned into data, a trainer, evaluators and jitted, mesh-sharded
functions.

The training loop, `jaxgan sample` and `jaxgan evaluate` all start from one of these. What is
particular to a family of papers (state, phases, sampling) is its trainer's (see contract.py).
"""

from __future__ import annotations

import jax
import numpy as np

from jaxgan import data as data_lib
from jaxgan.config import validate
from jaxgan.errors import JaxganError
from jaxgan.nn import backend
from jaxgan.train import evaluators as evaluators_lib
from jaxgan.train import parallel
from jaxgan.train.adversarial import AdversarialTrainer
from jaxgan.train.cogan import CoGANTrainer
from jaxgan.train.contract import Trainer
from jaxgan.train.cyclegan import CycleGANTrainer
from jaxgan.train.phases import compose_step
from jaxgan.train.pix2pix import Pix2PixTrainer
from jaxgan.train.progan import ProGANTrainer

TRAINERS: dict[str, type[Trainer]] = {
    "adversarial": AdversarialTrainer,
    "pix2pix": Pix2PixTrainer,
    "cyclegan": CycleGANTrainer,
    "cogan": CoGANTrainer,
    "progan": ProGANTrainer,
}

_PAIRINGS = {"": "one image per example", "paired": "paired (input, target) images",
             "unpaired": "unpaired images of two domains"}


class Experiment:

  def __init__(self, config):
    self.config = config
    parallel.initialize_distributed(config)  # multi-host: before anything touches the devices
    self.mesh = parallel.make_mesh()
    validate(config, num_devices=len(jax.devices()), num_processes=jax.process_count())
    backend.set_conv_impl(config.conv_impl)
    if config.trainer not in TRAINERS:
      raise JaxganError(f"unknown trainer {config.trainer!r}; expected one of {sorted(TRAINERS)}")
    trainer_class = TRAINERS[config.trainer]
    self.source, self.info = data_lib.load(config.data, "train")
    if self.info.pairing != trainer_class.pairing:
      raise JaxganError(f"the {config.trainer!r} trainer needs {_PAIRINGS[trainer_class.pairing]}"
                        f", but data set {config.data.name!r} has {_PAIRINGS[self.info.pairing]}")
    self.trainer: Trainer = trainer_class(config, self.info)
    self.evaluators = evaluators_lib.configured(config)
    evaluators_lib.check_evaluators(self.evaluators, self.trainer, self.trainer.output_names())

    self.replicated = parallel.replicated(self.mesh)
    self.batch_sharding = parallel.batch_sharded(self.mesh, leading_unsharded=1)
    key = jax.random.PRNGKey(config.seed)
    abstract_state = jax.eval_shape(self.trainer.init_state, key)
    # Replicated state (data parallel), or with shard_params its large arrays split over the
    # 'data' axis (FSDP-style). The abstract state carries this mesh's placement, so a
    # checkpoint written on any number of devices or processes restores onto this one.
    self.state_sharding = jax.tree_util.tree_map(lambda _: self.replicated, abstract_state)
    if config.get("shard_params", False):
      self.state_sharding = parallel.fsdp_shardings(self.mesh, abstract_state)
    self.abstract_state = jax.tree_util.tree_map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract_state,
        self.state_sharding)
    self._init = jax.jit(self.trainer.init_state, out_shardings=self.state_sharding)
    self._key = key
    self.phases = self.trainer.phases(parallel.constrainer(self.mesh))
    self._steps = {}

  def init_state(self):
    return self._init(self._key)

  def step_fn(self, iteration: int):
    """The jitted step for the step after `iteration` G updates: one per distinct variant
    (critic updates, phases due), compiled on first use."""
    variant = self.trainer.step_variant(self.phases, iteration)
    if variant not in self._steps:
      step = compose_step(self.phases, variant, self.trainer.num_keys)
      self._steps[variant] = jax.jit(
          step, in_shardings=(self.state_sharding, self.batch_sharding),
          out_shardings=(self.state_sharding, self.replicated), donate_argnums=0)
    return self._steps[variant]

  def train_step(self, state, batch):
    """One step from `state` (reads its step counter from the device: tests and tools)."""
    return self.step_fn(int(state.step))(state, batch)

  def next_batch(self, iterator, iteration: int = 0):
    """The real batches the step after `iteration` G updates consumes, as a global batch with
    leaves [n, B, ...]."""
    local = [next(iterator) for _ in range(self.trainer.real_batches(iteration))]
    return self.place_batch(local)

  def place_batch(self, local_batches: list[dict]):
    stacked = {k: np.stack([b[k] for b in local_batches]) for k in local_batches[0]}
    return parallel.to_global(stacked, self.batch_sharding, batch_axis=1)

  def train_iterator(self):
    return data_lib.train_iterator(self.source, self.config.batch_size, self.config.seed,
                                   jax.process_index(), jax.process_count())

  def evaluate(self, state, num_samples: int | None = None, truncation: float | None = None,
               evaluators=None) -> dict:
    return evaluators_lib.run(self.evaluators if evaluators is None else evaluators,
                              self.trainer, state, num_samples, truncation)

  # Convenience for the single-G trainers, which most tests and tools use.
  @property
  def nets(self):
    return self.trainer.nets

  def latents(self, key, num: int, labels=None):
    return self.trainer.latents(key, num, labels)

  def generate(self, state, z, labels=None, batch_size: int = 500):
    return self.trainer.generate(state, z, labels, batch_size)
