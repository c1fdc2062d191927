"""An experiment: the config turned into data, networks, optimisers and jitted functions.

The training loop, `jaxgan sample` and `jaxgan evaluate` all start from one of these.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from jaxgan import data as data_lib
from jaxgan import models
from jaxgan.config import validate
from jaxgan.errors import JaxganError
from jaxgan.train import adversarial, parallel
from jaxgan.train.state import make_optimizer


class Experiment:

  def __init__(self, config):
    self.config = config
    self.mesh = parallel.make_mesh()
    validate(config, num_devices=len(jax.devices()), num_processes=jax.process_count())
    self.source, self.info = data_lib.load(config.data, "train")
    if config.conditional and not self.info.num_classes:
      raise JaxganError(f"conditional=True but data set {config.data.name!r} has no labels")
    num_classes = self.info.num_classes if config.conditional else 0
    try:
      generator, discriminator = models.build(config, self.info)
    except ValueError as e:
      raise JaxganError(f"cannot build {config.architecture} for {self.info.shape}: {e}") from e
    self.nets = adversarial.Networks(generator, discriminator, config.latent_dim, num_classes)
    self.g_tx = make_optimizer(config.optimizer.g, config.steps)
    self.d_tx = make_optimizer(config.optimizer.d, config.steps * config.n_critic)

    self.replicated = parallel.replicated(self.mesh)
    self.batch_sharding = parallel.batch_sharded(self.mesh, leading_unsharded=1)
    init = functools.partial(adversarial.init_state, config, self.nets, self.g_tx, self.d_tx,
                             self.info.shape)
    key = jax.random.PRNGKey(config.seed)
    self.abstract_state = jax.eval_shape(init, key)
    self._init = jax.jit(init, out_shardings=self.replicated)
    self._key = key
    step = adversarial.make_train_step(config, self.nets, self.g_tx, self.d_tx,
                                       parallel.constrainer(self.mesh))
    self.train_step = jax.jit(step, in_shardings=(self.replicated, self.batch_sharding),
                              out_shardings=(self.replicated, self.replicated),
                              donate_argnums=0)
    self._sample = jax.jit(adversarial.make_sampler(self.nets))

  def init_state(self):
    return self._init(self._key)

  def place_batch(self, local_batches: list[dict]):
    """n_critic local batches -> one global batch dict with leaves [n_critic, B, ...]."""
    stacked = {k: np.stack([b[k] for b in local_batches]) for k in local_batches[0]}
    return parallel.to_global(stacked, self.batch_sharding, batch_axis=1)

  def train_iterator(self):
    return data_lib.train_iterator(self.source, self.config.batch_size, self.config.seed,
                                   jax.process_index(), jax.process_count())

  def latents(self, key, num: int, labels=None):
    """Latents and labels for `num` samples; conditional labels cycle 0..K-1 unless given."""
    z = jax.random.normal(key, (num, self.config.latent_dim))
    if self.nets.num_classes and labels is None:
      labels = np.arange(num, dtype=np.int32) % self.nets.num_classes
    return z, (None if not self.nets.num_classes else np.asarray(labels, np.int32))

  def generate(self, state, z, labels=None, batch_size: int = 500) -> np.ndarray:
    """G (the EMA weights if kept) in inference mode on z, in batches, as float numpy."""
    outs = []
    for start in range(0, len(z), batch_size):
      y = None if labels is None else labels[start:start + batch_size]
      outs.append(np.asarray(self._sample(state, z[start:start + batch_size], y)))
    return np.concatenate(outs)
