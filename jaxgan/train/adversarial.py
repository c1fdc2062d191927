"""The adversarial train step, composed from shared pieces.

GAN, CGAN, DCGAN, WGAN and WGAN-GP differ only in networks, loss, regularisers and optimisers,
so they share this step: n_critic discriminator updates (each on its own real batch), then one
generator update, then the EMA of G. Gradient accumulation splits each update's batch into
micro-batches inside the step (see `accumulate_grads`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan import augment, losses, visualize
from jaxgan.train import evaluation
from jaxgan.train.state import TrainState, ema_update, split_collections


@dataclasses.dataclass(frozen=True)
class Networks:
  """A G/D pair with the functional conventions the steps rely on."""

  generator: nn.Module
  discriminator: nn.Module
  latent_dim: int
  num_classes: int  # 0: unconditional
  diffaugment: str = ""  # DiffAugment policy applied to every image D sees ('': none)

  def sample_latents(self, key, num: int):
    z_key, y_key = jax.random.split(key)
    z = jax.random.normal(z_key, (num, self.latent_dim), jnp.float32)
    labels = (jax.random.randint(y_key, (num,), 0, self.num_classes, jnp.int32)
              if self.num_classes else None)
    return z, labels

  def generate(self, params, g_state, z, labels, train: bool):
    """G(z, y) -> (samples, G's updated collections); collections only change when training."""
    variables = {"params": params, **g_state}
    if train and g_state:
      samples, updates = self.generator.apply(variables, z, labels, train=True,
                                              mutable=list(g_state))
      return samples, updates
    return self.generator.apply(variables, z, labels, train=train), g_state

  def discriminate(self, params, d_state, x, labels, key):
    """D(x, y) in training mode -> (logits, D's updated collections)."""
    # DiffAugment: reals and fakes, in D's and G's losses, each call with its own draw.
    x = augment.diff_augment(x, jax.random.fold_in(key, 1), self.diffaugment)
    variables = {"params": params, **d_state}
    rngs = {"dropout": key}
    if d_state:
      return self.discriminator.apply(variables, x, labels, train=True, rngs=rngs,
                                      mutable=list(d_state))
    return self.discriminator.apply(variables, x, labels, train=True, rngs=rngs), d_state


def init_state(config, nets: Networks, g_tx, d_tx, example_shape, key) -> TrainState:
  """Initial train state; pure, so `jax.eval_shape` gives the abstract state for restoring."""
  key, g_key, d_key, z_key = jax.random.split(key, 4)
  z, labels = nets.sample_latents(z_key, 2)
  g_params, g_state = split_collections(nets.generator.init(g_key, z, labels, train=True))
  x = jnp.zeros((2,) + tuple(example_shape), jnp.float32)
  d_params, d_state = split_collections(
      nets.discriminator.init({"params": d_key, "dropout": d_key}, x, labels, train=True))
  return TrainState(
      step=jnp.zeros((), jnp.int32),
      g_params=g_params, d_params=d_params, g_state=g_state, d_state=d_state,
      g_opt_state=g_tx.init(g_params), d_opt_state=d_tx.init(d_params),
      ema_params=g_params if config.ema.decay > 0 else None,
      rng=key)


def accumulate_grads(loss_fn: Callable, params, aux_state, micro_inputs, num_micro: int):
  """Mean gradient of `loss_fn` over micro-batches (leaves of micro_inputs are [k, ...]).

  loss_fn(params, aux_state, inputs) -> (loss, (aux_state, metrics)); the non-trainable state
  (batch-norm running averages) is threaded from one micro-batch to the next, so each
  micro-batch normalises with its own batch statistics, as k smaller steps would.
  With num_micro == 1 this is a plain gradient.

  The micro-batch loop is unrolled in Python rather than a lax.scan: XLA's CPU backend runs
  convolutions inside while loops an order of magnitude slower, and k is small and static.
  """
  grad_fn = jax.grad(loss_fn, has_aux=True)
  if num_micro == 1:
    return grad_fn(params, aux_state, micro_inputs)
  grad_sum, all_metrics = None, []
  for i in range(num_micro):
    inputs = jax.tree_util.tree_map(lambda x, i=i: x[i], micro_inputs)
    grads, (aux_state, metrics) = grad_fn(params, aux_state, inputs)
    grad_sum = grads if grad_sum is None else jax.tree_util.tree_map(jnp.add, grad_sum, grads)
    all_metrics.append(metrics)
  mean_grads = jax.tree_util.tree_map(lambda g: g / num_micro, grad_sum)
  return mean_grads, (aux_state, _mean_metrics(all_metrics))


def _mean_metrics(metrics_list):
  return jax.tree_util.tree_map(lambda *xs: jnp.mean(jnp.stack(xs)), *metrics_list)


def split_micro(tree, num_micro: int):
  """[B, ...] leaves -> [k, B/k, ...], taking every k-th example so each device keeps its share."""
  if num_micro == 1:
    return tree
  def split(x):
    x = x.reshape((x.shape[0] // num_micro, num_micro) + x.shape[1:])
    return jnp.swapaxes(x, 0, 1)
  return jax.tree_util.tree_map(split, tree)


def make_train_step(config, nets: Networks, g_tx, d_tx, constrain: Callable[[Any], Any]):
  """Builds step(state, batch) -> (state, metrics) for the adversarial papers.

  batch leaves are [n_critic, batch_size, ...]: one real batch per critic update.
  constrain(x) pins a [batch, ...] array to the mesh's data axis.
  """
  adversarial = losses.ADVERSARIAL_LOSSES[config.loss]
  num_micro = config.grad_accum_steps
  batch_size = config.batch_size
  micro_size = batch_size // num_micro
  ortho_beta = config.get("ortho_reg", 0.0)

  def d_loss_fn(d_params, d_state, inputs, g_params, g_state):
    real, real_labels, key = inputs
    z_key, real_key, fake_key, gp_key = jax.random.split(key, 4)
    z, fake_labels = nets.sample_latents(z_key, real.shape[0])
    z = constrain(z)
    fake, _ = nets.generate(g_params, g_state, z, fake_labels, train=True)
    fake = jax.lax.stop_gradient(fake)
    real_logits, d_state = nets.discriminate(d_params, d_state, real, real_labels, real_key)
    fake_logits, d_state = nets.discriminate(d_params, d_state, fake, fake_labels, fake_key)
    d_loss = adversarial.discriminator(real_logits, fake_logits)
    total = d_loss
    metrics = {"d_loss": d_loss,
               "d_real": jnp.mean(real_logits), "d_fake": jnp.mean(fake_logits),
               # The critic's estimate of the Wasserstein distance (meaningful for WGAN critics).
               "wasserstein": jnp.mean(real_logits) - jnp.mean(fake_logits)}
    if config.gradient_penalty > 0 or config.r1_gamma > 0:
      # Penalties differentiate D alone; its batch statistics are not updated by them.
      d_fn = lambda x, y: nets.discriminate(d_params, d_state, x, y, gp_key)[0]
      if config.gradient_penalty > 0:
        gp = losses.gradient_penalty(lambda x: d_fn(x, real_labels), real, fake, gp_key)
        total = total + config.gradient_penalty * gp
        metrics["gradient_penalty"] = gp
      if config.r1_gamma > 0:
        r1 = losses.r1_penalty(lambda x: d_fn(x, real_labels), real)
        total = total + 0.5 * config.r1_gamma * r1
        metrics["r1"] = r1
    if config.drift > 0:
      total = total + config.drift * losses.drift_penalty(real_logits)
    return total, (d_state, metrics)

  def g_loss_fn(g_params, g_state, key, d_params, d_state):
    z_key, d_key = jax.random.split(key)
    z, labels = nets.sample_latents(z_key, micro_size)
    z = constrain(z)
    fake, g_state = nets.generate(g_params, g_state, z, labels, train=True)
    fake_logits, _ = nets.discriminate(d_params, d_state, fake, labels, d_key)
    g_loss = adversarial.generator(fake_logits)
    metrics = {"g_loss": g_loss}
    total = g_loss
    if ortho_beta > 0:  # BigGAN: on G's weights, the shared class embedding left out
      ortho = losses.orthogonal_regularization(g_params, ortho_beta)
      total = total + ortho
      metrics["ortho_reg"] = ortho
    return total, (g_state, metrics)

  def d_update(carry, inputs):
    d_params, d_state, d_opt_state, g_params, g_state = carry
    real, real_labels, key = inputs
    micro_keys = jax.random.split(key, num_micro)
    micro_inputs = ((real, real_labels, micro_keys[0]) if num_micro == 1 else
                    (*split_micro((real, real_labels), num_micro), micro_keys))
    loss_fn = functools.partial(d_loss_fn, g_params=g_params, g_state=g_state)
    grads, (d_state, metrics) = accumulate_grads(loss_fn, d_params, d_state, micro_inputs,
                                                  num_micro)
    updates, d_opt_state = d_tx.update(grads, d_opt_state, d_params)
    d_params = optax.apply_updates(d_params, updates)
    if config.clip_value > 0:
      d_params = losses.clip_weights(d_params, config.clip_value)
    return (d_params, d_state, d_opt_state, g_params, g_state), metrics

  def step(state: TrainState, batch):
    rng, d_key, g_key = jax.random.split(state.rng, 3)
    real = batch["x"] if "x" in batch else batch["image"]
    n_critic = real.shape[0]
    real_labels = batch.get("label") if nets.num_classes else None
    d_keys = jax.random.split(d_key, n_critic)
    carry = (state.d_params, state.d_state, state.d_opt_state, state.g_params, state.g_state)
    d_metrics = []
    for i in range(n_critic):  # unrolled, like the micro-batches (see accumulate_grads)
      labels_i = None if real_labels is None else real_labels[i]
      carry, metrics_i = d_update(carry, (real[i], labels_i, d_keys[i]))
      d_metrics.append(metrics_i)
    d_params, d_state, d_opt_state, _, _ = carry

    g_keys = jax.random.split(g_key, num_micro)
    loss_fn = functools.partial(g_loss_fn, d_params=d_params, d_state=d_state)
    grads, (g_state, g_metrics) = accumulate_grads(
        loss_fn, state.g_params, state.g_state, g_keys[0] if num_micro == 1 else g_keys,
        num_micro)
    updates, g_opt_state = g_tx.update(grads, state.g_opt_state, state.g_params)
    g_params = optax.apply_updates(state.g_params, updates)

    ema_params = state.ema_params
    if ema_params is not None:
      # Before ema.start the average just follows G (BigGAN starts its EMA late).
      decay = jnp.where(state.step >= config.ema.start, config.ema.decay, 0.0)
      ema_params = ema_update(ema_params, g_params, decay)

    metrics = {**_mean_metrics(d_metrics), **g_metrics}
    new_state = state.replace(step=state.step + 1, g_params=g_params, d_params=d_params,
                              g_state=g_state, d_state=d_state, g_opt_state=g_opt_state,
                              d_opt_state=d_opt_state, ema_params=ema_params, rng=rng)
    return new_state, metrics

  return step


def make_sampler(nets: Networks):
  """sample(state, z, labels) -> images with G in inference mode (the EMA weights if kept)."""

  def sample(state: TrainState, z, labels):
    params = state.ema_params if state.ema_params is not None else state.g_params
    samples, _ = nets.generate(params, state.g_state, z, labels, train=False)
    return samples

  return sample


SAMPLE_KEY = 19  # fixed noise for the sample grids, so grids are comparable over training
EVAL_KEY = 20141  # fixed noise for evaluation, apart from training's and the grids'
STANDING_KEY = 1809  # fixed noise for the standing statistics


@functools.partial(jax.jit, static_argnums=1)
def truncated_latents(key, shape, threshold):
  """BigGAN's truncation trick: N(0, 1) values whose magnitude exceeds `threshold` are resampled
  (from N(0, 1), with fresh keys) until none does; the result is N(0, 1) truncated to
  [-threshold, threshold]. Smaller thresholds trade diversity for fidelity."""
  key, sub = jax.random.split(key)
  z = jax.random.normal(sub, shape, jnp.float32)

  def outside(carry):
    return jnp.any(jnp.abs(carry[1]) > threshold)

  def resample(carry):
    key, z = carry
    key, sub = jax.random.split(key)
    return key, jnp.where(jnp.abs(z) > threshold, jax.random.normal(sub, shape, jnp.float32), z)

  return jax.lax.while_loop(outside, resample, (key, z))[1]


def make_standing_stats(nets: Networks):
  """batch_stats(params, g_state, z, labels) -> the batch-norm statistics of G's own batch.

  BigGAN's standing statistics: G runs in training mode on batches of its own noise and the
  per-batch means and variances are averaged, replacing the running averages (which the
  trained G, not its EMA, accumulated) for sampling. The generator is rebuilt with
  bn_momentum=0 so that one training-mode call stores its batch's statistics exactly; the
  spectral-norm state is read, not written. None for generators without that knob.
  """
  generator = nets.generator
  if not hasattr(generator, "bn_momentum"):
    return None
  generator = generator.clone(bn_momentum=0.0)

  @jax.jit
  def batch_stats(params, g_state, z, labels):
    _, updates = generator.apply({"params": params, **g_state}, z, labels, train=True,
                                 mutable=["batch_stats"])
    return updates["batch_stats"]

  return batch_stats


class AdversarialTrainer:
  """GAN, CGAN, DCGAN, WGAN, WGAN-GP: one G and one D on (optionally labelled) examples.

  A trainer holds what is particular to a family of papers: its state, its step, how it samples
  and how it is scored. The loop, the mesh, data and checkpoints are the Experiment's.
  """

  def __init__(self, config, info):
    from jaxgan import models  # pylint: disable=g-import-not-at-top
    from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
    from jaxgan.train.state import make_optimizer  # pylint: disable=g-import-not-at-top
    if config.conditional and not info.num_classes:
      raise JaxganError(f"conditional=True but data set {config.data.name!r} has no labels")
    if config.get("diffaugment", "") and info.kind != "images":
      raise JaxganError(f"diffaugment needs images, but data set {config.data.name!r} has "
                        f"{info.kind}")
    self.config, self.info = config, info
    try:
      generator, discriminator = models.build(config, info)
    except ValueError as e:
      raise JaxganError(f"cannot build {config.architecture} for {info.shape}: {e}") from e
    self.nets = Networks(generator, discriminator, config.latent_dim,
                         info.num_classes if config.conditional else 0,
                         config.get("diffaugment", ""))
    self.g_tx = make_optimizer(config.optimizer.g, config.steps)
    self.d_tx = make_optimizer(config.optimizer.d, config.steps * config.n_critic)
    self.real_batches_per_step = config.n_critic
    self._sample = jax.jit(make_sampler(self.nets))
    nets = self.nets
    self._sample_with = jax.jit(
        lambda params, g_state, z, labels: nets.generate(params, g_state, z, labels, False)[0])
    self._standing = make_standing_stats(self.nets)

  def init_state(self, key):
    return init_state(self.config, self.nets, self.g_tx, self.d_tx, self.info.shape, key)

  def make_step(self, constrain):
    return make_train_step(self.config, self.nets, self.g_tx, self.d_tx, constrain)

  supports_truncation = True  # every G here reads N(0, I) latents

  def latents(self, key, num: int, labels=None, truncation: float | None = None):
    """Latents and labels for `num` samples; conditional labels cycle 0..K-1 unless given.

    truncation: BigGAN's truncation trick, resampling latent values beyond +-truncation.
    """
    if truncation:
      if truncation <= 0:
        raise ValueError(f"truncation must be > 0, got {truncation}")
      z = truncated_latents(key, (num, self.config.latent_dim), float(truncation))
    else:
      z = jax.random.normal(key, (num, self.config.latent_dim))
    if not self.nets.num_classes:
      return z, None
    if labels is None:
      labels = np.arange(num, dtype=np.int32) % self.nets.num_classes
    return z, np.asarray(labels, np.int32)

  def standing_g_state(self, state, truncation: float | None = None):
    """G's collections with BigGAN's standing statistics for the weights that sample (the EMA
    when kept): batch-norm statistics averaged over config.standing_stats batches of G's own
    output (batches of the training micro-batch size), drawn with the same truncation. The
    state's own collections when that is 0."""
    num_batches = self.config.get("standing_stats", 0)
    if not num_batches or self._standing is None or "batch_stats" not in state.g_state:
      return state.g_state
    params = state.ema_params if state.ema_params is not None else state.g_params
    keys = jax.random.split(jax.random.PRNGKey(STANDING_KEY), num_batches)
    size = self.config.batch_size // self.config.grad_accum_steps  # what G sees in training
    stats = []
    for key in keys:
      z_key, y_key = jax.random.split(key)
      z, _ = self.latents(z_key, size, truncation=truncation)
      labels = None
      if self.nets.num_classes:
        labels = jax.random.randint(y_key, (size,), 0, self.nets.num_classes, jnp.int32)
      stats.append(self._standing(params, state.g_state, z, labels))
    mean = jax.tree_util.tree_map(lambda *xs: jnp.mean(jnp.stack(xs), axis=0), *stats)
    return {**state.g_state, "batch_stats": mean}

  def generate(self, state, z, labels=None, batch_size: int = 500, g_state=None) -> np.ndarray:
    """G (the EMA weights if kept) in inference mode on z, in batches, as float numpy.

    g_state: G's collections to sample with (e.g. standing_g_state's); default the state's.
    """
    params = state.ema_params if state.ema_params is not None else state.g_params
    outs = []
    for start in range(0, len(z), batch_size):
      y = None if labels is None else labels[start:start + batch_size]
      zb = z[start:start + batch_size]
      if g_state is None:
        outs.append(np.asarray(self._sample(state, zb, y)))
      else:
        outs.append(np.asarray(self._sample_with(params, g_state, zb, y)))
    return np.concatenate(outs)

  def sample_outputs(self, state, num: int, seed: int, truncation: float | None = None) -> dict:
    """What `jaxgan sample` writes: samples (uint8 images or float32 points), labels if any."""
    z, labels = self.latents(jax.random.PRNGKey(seed), num, truncation=truncation)
    samples = self.generate(state, z, labels, g_state=self.standing_g_state(state, truncation))
    out = {"samples": (samples.astype(np.float32) if self.info.kind == "points"
                       else visualize.to_uint8(samples))}
    if labels is not None:
      out["labels"] = labels
    return out

  def sample_grid(self, state) -> np.ndarray:
    """The fixed-noise picture: an image grid, or a scatter of points over the true modes."""
    if self.info.kind == "points":
      z, _ = self.latents(jax.random.PRNGKey(SAMPLE_KEY), 2500)
      modes = evaluation.reference_modes(self.info)
      return visualize.scatter_image(self.generate(state, z), modes)
    n = self.config.sample_grid
    z, labels = self.latents(jax.random.PRNGKey(SAMPLE_KEY), n * n)
    samples = self.generate(state, z, labels, g_state=self.standing_g_state(state))
    return visualize.image_grid(visualize.to_uint8(samples), columns=n)

  def can_evaluate(self) -> bool:
    return evaluation.has_evaluator(self.info)

  def evaluate(self, state, num_samples: int | None = None,
               truncation: float | None = None) -> dict:
    num = num_samples or self.config.eval.num_samples
    z, labels = self.latents(jax.random.PRNGKey(EVAL_KEY), num, truncation=truncation)
    samples = self.generate(state, z, labels, self.config.eval.batch_size,
                            g_state=self.standing_g_state(state, truncation))
    scores = evaluation.score_samples(self.info, samples, labels)
    if truncation:
      scores["truncation"] = float(truncation)
    return scores
