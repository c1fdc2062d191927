"""The adversarial trainer: GAN, CGAN, DCGAN, WGAN, WGAN-GP, SAGAN, BigGAN (and CoGAN's pair).

Its step is three phases (see jaxgan.train.phases): the critic phase, repeated once per real
batch (n_critic of them, or WGAN's schedule), the generator update, and the EMA of G; each
penalty or regulariser the config lists (`d_terms`, `g_terms`, jaxgan.train.terms) joins its
network's loss, or runs in a phase of its own when it has an interval (lazy regularisation).
Gradient accumulation splits each update's batch into micro-batches inside its phase.

Style generators (StyleGAN, StyleGAN2: jaxgan.models.stylegan.StyleGeneratorBase) train here
too: G's terms can read its mapping and synthesis (`terms.GTermInputs.styles`, path length),
the entries of the state's `extra` that a term owns (`pl_mean`) are threaded through G's phase
and written back, sampling uses the layers' fixed noise buffers, and truncation means ψ
in W toward the tracked w_avg with the config's layer cutoff (`truncation_space`), where the
other generators take BigGAN's truncation of z.
"""

from __future__ import annotations

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import augment, losses, visualize
from jaxgan.errors import JaxganError
from jaxgan.train import phases as phases_lib
from jaxgan.train import terms as terms_lib
from jaxgan.train.contract import TrainerBase
from jaxgan.train.networks import (apply_net, draw_latents, init_net, keep_spectral,
                                   latent_distribution, rngs_for)
from jaxgan.train.phases import Phase, accumulate_grads, apply_update, micro_batches, split_micro
from jaxgan.train.state import TrainState, make_optimizer

SAMPLE_KEY = 19  # fixed noise for the sample grids, so grids are comparable over training
EVAL_KEY = 20141  # fixed noise for evaluation, apart from training's and the grids'
STANDING_KEY = 1809  # fixed noise for the standing statistics
NET_KEY = 7  # fold-in for the key of G's own streams (noise, dropout), apart from z's
REG_KEY = 11  # fold-in for the lazy G terms' draws, apart from the generator phase's
CODE_KEY = 13  # fold-in for InfoGAN's categorical code, apart from z's noise
CONTINUOUS_CODE_KEY = 17  # fold-in for InfoGAN's continuous codes, apart from both


@dataclasses.dataclass(frozen=True)
class Networks:
  """A G/D pair with the functional conventions the phases rely on."""

  generator: nn.Module
  discriminator: nn.Module
  latent_dim: int
  num_classes: int  # 0: unconditional
  diffaugment: str = ""  # DiffAugment policy applied to every image D sees ('': none)
  latent_distribution: str = "normal"  # z's: 'normal' or 'uniform' (networks.draw_latents)
  code_categories: int = 0  # InfoGAN's categorical code, one-hot after z's noise (0: none)
  code_continuous: int = 0  # InfoGAN's continuous codes, U(-1, 1) after the one-hot code

  def draw_z(self, key, num: int):
    return self.with_code(key, draw_latents(key, (num, self.latent_dim), self.latent_distribution))

  def with_code(self, key, noise):
    """G's input: the noise, then InfoGAN's one-hot code drawn uniformly, then its continuous
    codes drawn from U(-1, 1) (the noise alone without a code). The codes are read back from z
    by code_of and continuous_code_of."""
    if not self.code_categories:
      return noise
    code = jax.random.randint(jax.random.fold_in(key, CODE_KEY), (noise.shape[0],), 0,
                              self.code_categories)
    parts = [noise, jax.nn.one_hot(code, self.code_categories, dtype=noise.dtype)]
    if self.code_continuous:
      parts.append(jax.random.uniform(jax.random.fold_in(key, CONTINUOUS_CODE_KEY),
                                      (noise.shape[0], self.code_continuous), noise.dtype,
                                      -1.0, 1.0))
    return jnp.concatenate(parts, axis=1)

  def code_of(self, z):
    """The categorical code of latents drawn by draw_z."""
    return jnp.argmax(z[:, self.latent_dim:self.latent_dim + self.code_categories], axis=1)

  def continuous_code_of(self, z):
    """The continuous codes of latents drawn by draw_z ([num, code_continuous])."""
    return z[:, self.latent_dim + self.code_categories:]

  def code_loss(self, code_outputs, z):
    """InfoGAN's code term for Q's outputs on G(z): the categorical code's cross-entropy plus,
    with continuous codes, their Gaussian negative log-likelihood (Q's means, unit spread)."""
    loss = losses.code_cross_entropy(code_outputs[:, :self.code_categories], self.code_of(z))
    if self.code_continuous:
      loss = loss + losses.continuous_code_nll(code_outputs[:, self.code_categories:],
                                               self.continuous_code_of(z))
    return loss

  def sample_latents(self, key, num: int):
    z_key, y_key = jax.random.split(key)
    z = self.draw_z(z_key, num)
    labels = (jax.random.randint(y_key, (num,), 0, self.num_classes, jnp.int32)
              if self.num_classes else None)
    return z, labels

  def generate(self, params, g_state, z, labels, train: bool, key=None, **kwargs):
    """G(z, y) -> (samples, G's updated collections); collections only change when training.
    kwargs: what a growing G also takes (ProGAN's resolution and alpha)."""
    return apply_net(self.generator, params, g_state, z, labels, train=train, key=key, **kwargs)

  def d_args(self, x, labels) -> tuple:
    """D's positional arguments for examples x and their labels."""
    return (x, labels)

  def discriminate(self, params, d_state, x, labels, key, **kwargs):
    """D(x, y) in training mode -> (logits, D's updated collections)."""
    # DiffAugment: reals and fakes, in D's and G's losses, each call with its own draw.
    x = augment.diff_augment(x, jax.random.fold_in(key, 1), self.diffaugment)
    return apply_net(self.discriminator, params, d_state, *self.d_args(x, labels), train=True,
                     key=key, **kwargs)


def critic_schedule(config):
  """iteration -> critic updates: n_critic, or `critic_boost.iterations` for the first
  `critic_boost.first` G iterations and every `critic_boost.every`-th (WGAN's reference code:
  100 critic iterations for the first 25 generator iterations and every 500th)."""
  boost = config.get("critic_boost")
  n = config.n_critic
  if boost is None or boost.iterations <= 0:
    return lambda iteration: n

  def updates(iteration: int) -> int:
    boosted = iteration < boost.first or (boost.every > 0 and iteration % boost.every == 0)
    return boost.iterations if boosted else n

  return updates


def top_k_count(top_k, batch: int, step):
  """Top-k training's k at G step `step` (traced): max(gamma ** (step // every), min_fraction)
  of the batch, at least 1 (Sinha et al.: gamma 0.99 per epoch, min_fraction their nu)."""
  fraction = jnp.maximum(top_k.gamma ** (step // top_k.every).astype(jnp.float32),
                         top_k.min_fraction)
  return jnp.maximum(jnp.floor(fraction * batch), 1.0)


def _total_critic_updates(config) -> int:
  schedule = critic_schedule(config)
  boost = config.get("critic_boost")
  if boost is None or boost.iterations <= 0:
    return config.steps * config.n_critic
  return sum(schedule(i) for i in range(config.steps))


class AdversarialTrainer(TrainerBase):
  """One G and one D on (optionally labelled) examples."""

  supports_truncation = True  # every G here reads N(0, I) latents
  num_keys = 2  # the critic phase's and the generator phase's (as split before phases)

  def __init__(self, config, info):
    from jaxgan import models  # pylint: disable=g-import-not-at-top
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
                         config.get("diffaugment", ""), latent_distribution(config),
                         *_code_sizes(config))
    from jaxgan.models.stylegan import StyleGeneratorBase  # pylint: disable=g-import-not-at-top
    self.style = isinstance(generator, StyleGeneratorBase)
    self.critic_updates = critic_schedule(config)
    self.d_terms = terms_lib.active_terms(config.get("d_terms"), terms_lib.D_TERMS, "d")
    self.g_terms = terms_lib.active_terms(config.get("g_terms"), terms_lib.G_TERMS, "g")
    self.g_tx = make_optimizer(
        terms_lib.scale_for_lazy(config.optimizer.g, terms_lib.lazy_ratio(self.g_terms, "g")),
        config.steps)
    self.d_tx = make_optimizer(
        terms_lib.scale_for_lazy(config.optimizer.d, terms_lib.lazy_ratio(self.d_terms, "d")),
        _total_critic_updates(config))
    for t in self.g_terms:
      if t.term.needs_styles and not self.style:
        raise JaxganError(f"g_terms.{t.name} needs a style generator (mapping and synthesis); "
                          f"architecture {config.architecture!r} has none")
    self._sample = jax.jit(self._sample_fn, static_argnames="psi")
    self._standing = make_standing_stats(self.nets)

  # ---------------------------------------------------------------- what G and D see

  def real_inputs(self, batch):
    """The real examples of a batch slice, as D takes them."""
    return batch["x"] if "x" in batch else batch["image"]

  def example_inputs(self):
    """Zero examples of the data's shape, for initialising D."""
    return jnp.zeros((2,) + tuple(self.info.shape), jnp.float32)

  # ---------------------------------------------------------------- state and step

  def init_state(self, key) -> TrainState:
    nets = self.nets
    key, g_key, d_key, z_key = jax.random.split(key, 4)
    z, labels = nets.sample_latents(z_key, 2)
    g_params, g_state = init_net(nets.generator, jax.random.fold_in(g_key, NET_KEY), z, labels,
                                 param_key=g_key)
    d_params, d_state = init_net(nets.discriminator, d_key,
                                 *nets.d_args(self.example_inputs(), labels), param_key=d_key,
                                 **({"code_head": True} if nets.code_categories else {}))
    terms_lib.check_d_terms(self.d_terms, d_state)
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        g_params=g_params, d_params=d_params, g_state=g_state, d_state=d_state,
        g_opt_state=self.g_tx.init(g_params), d_opt_state=self.d_tx.init(d_params),
        ema_params=g_params if self.config.ema.decay > 0 else None,
        rng=key, extra=terms_lib.initial_extra(self.g_terms + self.d_terms))

  def real_batches(self, iteration: int) -> int:
    return self.critic_updates(iteration)

  def g_kwargs(self, state, stage) -> dict:
    """What G's training calls also take, from the state and the phases' static stage
    (ProGAN: resolution, alpha)."""
    del state, stage
    return {}

  def d_kwargs(self, state, stage) -> dict:
    """What D's training calls also take (ProGAN: alpha)."""
    del state, stage
    return {}

  def prepare_reals(self, real, state, stage):
    """The real examples as D sees them in this step (ProGAN: at the stage's resolution)."""
    del state, stage
    return real

  def d_term_inputs(self, inputs, stage):
    """What D's penalties see (ProGAN: D as a function of images at the data's size)."""
    del stage
    return inputs

  def phases(self, constrain):
    return self.update_phases(constrain) + self.ema_phases()

  def ema_phases(self) -> list:
    """The EMA of G's phase after the updates, when the config keeps one (shared by ProGAN)."""
    if self.config.ema.decay <= 0:
      return []
    return [phases_lib.ema_phase(self.config.ema.decay, self.config.ema.start,
                                 self.config.ema.get("rampup", 0.0), self.config.batch_size)]

  def stage_batch_size(self, stage) -> int:
    """G's batch in the phases of `stage` (ProGAN shrinks it at high resolutions)."""
    del stage
    return self.config.batch_size

  def update_phases(self, constrain, suffix: str = "", stage=None):
    """The critic, generator and lazy phases (names + suffix), without the EMA; stage: what
    g_kwargs / d_kwargs / prepare_reals get (static; ProGAN's resolution stage)."""
    config, nets = self.config, self.nets
    adversarial = losses.ADVERSARIAL_LOSSES[config.loss]
    num_micro = config.grad_accum_steps
    micro_size = self.stage_batch_size(stage) // num_micro
    main_d_terms = [t for t in self.d_terms if t.every == 1]
    main_g_terms = [t for t in self.g_terms if t.every == 1 and not t.term.params_only]
    d_loss_of = adversarial.discriminator
    if config.get("label_smoothing", 0.0) > 0:  # validated: a cross-entropy loss
      d_loss_of = functools.partial(losses.minimax_d, real_target=1.0 - config.label_smoothing)
    top_k = config.get("top_k")
    top_k = top_k if top_k is not None and top_k.min_fraction < 1.0 else None
    code_weight = config.info_code.weight if nets.code_categories else 0.0

    def fakes(state, key, num):
      z_key = key
      z, labels = nets.sample_latents(z_key, num)
      z = constrain(z)
      fake, _ = nets.generate(state.g_params, state.g_state, z, labels, train=True,
                              key=jax.random.fold_in(z_key, NET_KEY), **self.g_kwargs(state, stage))
      return jax.lax.stop_gradient(fake), labels, z

    def score_fakes(d_params, d_state, fake, labels, z, key, state):
      """D's logits of fakes, its updated collections and InfoGAN's code loss (Q's
      cross-entropy on the codes in z; 0 without a code)."""
      d_kw = self.d_kwargs(state, stage)
      if not nets.code_categories:
        logits, updated = nets.discriminate(d_params, d_state, fake, labels, key, **d_kw)
        return logits, updated, 0.0
      (logits, code_logits), updated = nets.discriminate(d_params, d_state, fake, labels, key,
                                                         code_head=True, **d_kw)
      return logits, updated, nets.code_loss(code_logits, z)

    def d_fn_of(d_params, d_state, key, state):
      # Penalties differentiate D alone; its collections are read, not updated, by them.
      kwargs = self.d_kwargs(state, stage)
      return lambda x, y: nets.discriminate(d_params, d_state, x, y, key, **kwargs)[0]

    def d_loss_fn(d_params, d_state, inputs, state):
      (real, real_labels), key = inputs
      z_key, real_key, fake_key, term_key = jax.random.split(key, 4)
      real = self.prepare_reals(real, state, stage)
      fake, fake_labels, fake_z = fakes(state, z_key, _batch_size(real))
      d_kw = self.d_kwargs(state, stage)
      real_logits, updated = nets.discriminate(d_params, d_state, real, real_labels, real_key,
                                               **d_kw)
      # The fake call reads the spectral vectors the real call read: one power iteration.
      fake_logits, updated, code_loss = score_fakes(
          d_params, keep_spectral(updated, d_state), fake, fake_labels, fake_z, fake_key, state)
      d_loss = _sum_leaves(d_loss_of, real_logits, fake_logits)
      metrics = {"d_loss": d_loss, **_logit_metrics(real_logits, fake_logits)}
      if nets.code_categories:  # InfoGAN: Q (D's head and body) learns to read the code
        metrics["d_code_loss"] = code_loss
        d_loss = d_loss + code_weight * code_loss
      term_inputs = self.d_term_inputs(terms_lib.DTermInputs(
          d_fn_of(d_params, keep_spectral(updated, d_state), term_key, state), real, fake,
          real_labels, real_logits, term_key), stage)
      total, term_metrics = terms_lib.add_terms(d_loss, main_d_terms,
                                                lambda t: t.term.fn(term_inputs))
      return total, (updated, {**metrics, **term_metrics})

    def d_reg_loss_fn(terms, d_params, d_state, inputs, state):
      """The lazy D terms alone, weights multiplied by their interval."""
      (real, real_labels), key = inputs
      z_key, real_key, term_key = jax.random.split(key, 3)
      real = self.prepare_reals(real, state, stage)
      fake = None
      if any(t.term.needs_fake for t in terms):
        fake, _, _ = fakes(state, z_key, _batch_size(real))
      real_logits, _ = nets.discriminate(d_params, d_state, real, real_labels, real_key,
                                         **self.d_kwargs(state, stage))
      term_inputs = self.d_term_inputs(terms_lib.DTermInputs(
          d_fn_of(d_params, d_state, term_key, state), real, fake, real_labels, real_logits,
          term_key), stage)
      total, metrics = terms_lib.add_terms(0.0, terms, lambda t: t.term.fn(term_inputs),
                                           lazy=True)
      return total, (d_state, metrics)

    def g_term_inputs(g_params, g_state, key, extra):
      styles = self._styles_fn(g_params, g_state) if self.style else None
      return terms_lib.GTermInputs(g_params, key, styles, extra, micro_size)

    def g_loss_fn(g_params, g_state, inputs, state, extra):
      _, key = inputs
      z_key, d_key = jax.random.split(key)
      term_key = jax.random.fold_in(key, REG_KEY)  # apart from z's and D's draws
      z, labels = nets.sample_latents(z_key, micro_size)
      z = constrain(z)
      fake, g_state = nets.generate(g_params, g_state, z, labels, train=True,
                                    key=jax.random.fold_in(z_key, NET_KEY), **self.g_kwargs(state, stage))
      fake_logits, _, code_loss = score_fakes(state.d_params, state.d_state, fake, labels, z,
                                              d_key, state)
      metrics = {}
      if top_k:
        k = top_k_count(top_k, micro_size, state.step)
        g_loss = _sum_leaves(functools.partial(losses.top_k_generator, adversarial.generator,
                                               k=k), fake_logits)
        metrics["top_k"] = k / micro_size
      else:
        g_loss = _sum_leaves(adversarial.generator, fake_logits)
      own_loss = g_loss
      if nets.code_categories:  # InfoGAN: G makes its code readable by Q
        metrics["g_code_loss"] = code_loss
        own_loss = g_loss + code_weight * code_loss
      term_inputs = g_term_inputs(g_params, state.g_state, term_key, extra)
      total, term_metrics, updates = terms_lib.add_g_terms(
          own_loss, main_g_terms, lambda t: t.term.fn(term_inputs))
      return total, (g_state, {"g_loss": g_loss, **metrics, **term_metrics}, updates)

    def g_reg_loss_fn(terms, g_params, g_state, inputs, state, extra):
      """The lazy G terms alone, weights multiplied by their interval."""
      _, key = inputs
      # Its own draws, apart from the generator phase's (both get the step's key slot 1).
      term_inputs = g_term_inputs(g_params, g_state, jax.random.fold_in(key, REG_KEY), extra)
      total, metrics, updates = terms_lib.add_g_terms(0.0, terms, lambda t: t.term.fn(term_inputs),
                                                      lazy=True)
      return total, (g_state, metrics, updates)

    def real_micro(inputs, key):
      real = self.real_inputs(inputs)
      labels = inputs.get("label") if nets.num_classes else None
      return micro_batches((real, labels), key, num_micro)

    def g_micro(inputs, key):
      del inputs
      return micro_batches(None, key, num_micro)

    clip = None
    if config.get("clip_value", 0.0) > 0:
      clip = functools.partial(losses.clip_weights, clip_value=config.clip_value)
    result = [phases_lib.update_phase("critic" + suffix, "d", d_loss_fn, self.d_tx, num_micro,
                                      real_micro, post_update=clip, repeated=True, key_slot=0),
              self._g_phase("generator" + suffix, g_loss_fn, num_micro, g_micro,
                            param_terms=[t for t in self.g_terms
                                         if t.every == 1 and t.term.params_only],
                            key_slot=1)]
    result += self._lazy_phases(d_reg_loss_fn, g_reg_loss_fn, real_micro, g_micro, num_micro,
                                suffix)
    return result

  def _g_phase(self, name, loss_fn, num_micro, g_micro, param_terms=(), lazy=False,
               **phase_kwargs) -> Phase:
    """One optimiser step of G. As phases.update_phase, with the state's `extra` threaded
    through the micro-batches beside G's collections: loss_fn(params, g_state, inputs, state,
    extra) -> (loss, (g_state, metrics, updated extra entries)), written back after the step.
    param_terms (terms of G's parameters alone, e.g. the orthogonal regulariser; lazy: weights
    times their interval) are computed once per update, not per micro-batch: the mean gradient
    of the micro-batches' losses plus theirs is the gradient of the mean total loss."""
    micro_size = self.config.batch_size // num_micro

    def param_terms_loss(params, extra):
      inputs = terms_lib.GTermInputs(params, None, None, extra, micro_size)
      return terms_lib.add_terms(0.0, list(param_terms), lambda t: t.term.fn(inputs), lazy)

    def run(state, inputs, key):
      def loss(params, aux, micro):
        g_state, extra = aux
        # As phases.update_phase: every micro-batch reads the update's starting spectral vectors.
        g_state = keep_spectral(g_state, state.g_state)
        total, (g_state, metrics, updates) = loss_fn(params, g_state, micro, state, extra)
        return total, ((g_state, {**extra, **updates}), metrics)
      grads, ((g_state, extra), metrics) = accumulate_grads(
          loss, state.g_params, (state.g_state, state.extra), g_micro(inputs, key), num_micro)
      if param_terms:
        term_grads, term_metrics = jax.grad(param_terms_loss, has_aux=True)(state.g_params,
                                                                            state.extra)
        grads = jax.tree_util.tree_map(jnp.add, grads, term_grads)
        metrics = {**metrics, **term_metrics}
      params, opt_state = apply_update(self.g_tx, grads, state.g_opt_state, state.g_params)
      return state.replace(g_params=params, g_state=g_state, g_opt_state=opt_state,
                           extra=extra), metrics, {}

    return Phase(name, run, **phase_kwargs)

  def _styles_fn(self, g_params, g_state):
    """GTermInputs.styles: (num, key) -> (ws of `num` fresh latents, synthesis), G in training
    mode (mixing regularisation, random noise), its collections read only (w_avg does not move
    here: the official path-length pass also updates it, see configs/stylegan2_digits.py)."""
    generator, nets = self.nets.generator, self.nets
    variables = {"params": g_params, **g_state}

    def styles(num, key):
      z_key, mix_key, noise_key = jax.random.split(key, 3)
      z = nets.draw_z(z_key, num)
      ws = generator.apply(variables, z, None, True, method="styles", rngs=rngs_for(mix_key))
      synthesis = lambda w: generator.apply(variables, w, method="synthesis",
                                            rngs=rngs_for(noise_key))
      return ws, synthesis

    return styles

  def _lazy_phases(self, d_reg_loss_fn, g_reg_loss_fn, real_micro, g_micro, num_micro,
                   suffix: str = ""):
    """One phase per interval of the lazy terms (D's on reals, G's on G's loss alone)."""
    out = []
    for every in sorted({t.every for t in self.d_terms if t.every > 1}):
      group = [t for t in self.d_terms if t.every == every]
      out.append(phases_lib.update_phase(
          f"d_reg_{every}{suffix}", "d", functools.partial(d_reg_loss_fn, group), self.d_tx, num_micro,
          real_micro, every=every, key_slot=0))
    for every in sorted({t.every for t in self.g_terms if t.every > 1}):
      group = [t for t in self.g_terms if t.every == every and not t.term.params_only]
      out.append(self._g_phase(
          f"g_reg_{every}{suffix}", functools.partial(g_reg_loss_fn, group), num_micro, g_micro,
          param_terms=[t for t in self.g_terms if t.every == every and t.term.params_only],
          lazy=True, every=every, key_slot=1))
    return out

  # ---------------------------------------------------------------- sampling

  def output_names(self) -> set[str]:
    return {"samples", "labels"} if self.nets.num_classes else {"samples"}

  def _sample_fn(self, params, g_state, z, labels, psi=1.0):
    if not self.style:
      return self.nets.generate(params, g_state, z, labels, train=False)[0]
    return apply_net(self.nets.generator, params, g_state, z, labels, train=False,
                     truncation_psi=psi, noise_mode="const")[0]

  @property
  def truncation_space(self) -> str:
    """What --truncation means for this trainer's G: 'w' (style generators: psi in W toward
    the tracked average w, the config's layer cutoff) or 'z' (BigGAN's truncated normal)."""
    return "w" if self.style else "z"

  def check_truncation(self, truncation: float | None) -> None:
    """A one-line error for a truncation value this trainer's G cannot take."""
    super().check_truncation(truncation)
    if truncation is None:
      return
    if self.truncation_space == "z" and self.nets.latent_distribution != "normal":
      raise JaxganError("--truncation resamples N(0, 1) latents (BigGAN's trick); this config "
                        f"draws latent.distribution {self.nets.latent_distribution!r}")
    if not np.isfinite(truncation):
      raise JaxganError(f"--truncation must be finite, got {truncation}")
    if self.truncation_space == "z" and not truncation > 0:
      raise JaxganError(f"--truncation must be > 0 (BigGAN's threshold on |z|), got {truncation}")

  def latents(self, key, num: int, labels=None, truncation: float | None = None):
    """Latents and labels for `num` samples; conditional labels cycle 0..K-1 unless given.

    truncation: BigGAN's truncation trick, resampling latent values beyond +-truncation.
    """
    if truncation:
      if truncation <= 0:
        raise ValueError(f"truncation must be > 0, got {truncation}")
      z = self.nets.with_code(
          key, truncated_latents(key, (num, self.config.latent_dim), float(truncation)))
    else:
      z = self.nets.draw_z(key, num)
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

  def generate(self, state, z, labels=None, batch_size: int | None = None,
               g_state=None, truncation_psi: float = 1.0) -> np.ndarray:
    """G (the EMA weights if kept) in inference mode on z, in batches, as float numpy.

    g_state: G's collections to sample with (e.g. standing_g_state's); default the state's.
    truncation_psi: style generators' truncation in W (1: none). They sample with each layer's
    fixed noise buffer (noise_mode='const', the official generate.py's default; its metrics
    draw random noise instead), so at psi=0 every sample is the same image; with the EMA
    weights they read the state's w_avg and noise buffers (the official code copies G's
    buffers into its EMA).
    """
    batch_size = batch_size or self.config.eval.batch_size
    params = state.ema_params if state.ema_params is not None else state.g_params
    g_state = state.g_state if g_state is None else g_state
    outs = []
    for start in range(0, len(z), batch_size):
      y = None if labels is None else labels[start:start + batch_size]
      extra = dict(psi=float(truncation_psi)) if self.style else {}
      outs.append(jax.tree_util.tree_map(
          np.asarray, self._sample(params, g_state, z[start:start + batch_size], y, **extra)))
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *outs)

  def generate_outputs(self, state, num: int, seed: int | None,
                       truncation: float | None = None) -> dict:
    """{'samples'[, 'labels']}: images in [-1, 1] or points; labels of conditional models.

    truncation: in z or W by `truncation_space`."""
    self.check_truncation(truncation)
    key = jax.random.PRNGKey(EVAL_KEY if seed is None else seed)
    z_truncation = truncation if self.truncation_space == "z" else None
    z, labels = self.latents(key, num, truncation=z_truncation)
    return self.outputs_of(state, z, labels, truncation)

  def outputs_of(self, state, z, labels=None, truncation: float | None = None,
                 batch_size: int | None = None) -> dict:
    """generate_outputs of given latents (and labels): truncation in W for style generators
    (z is drawn truncated for the others), in batches of batch_size (eval.batch_size)."""
    if self.truncation_space == "w":
      psi = 1.0 if truncation is None else truncation
      samples = self.generate(state, z, labels, batch_size, truncation_psi=psi)
    else:
      samples = self.generate(state, z, labels, batch_size,
                              g_state=self.standing_g_state(state, truncation))
    out = {"samples": samples}
    if labels is not None:
      out["labels"] = labels
    return out

  # ---------------------------------------------------------------- per seed and latent walks

  # `generate` and `interpolate` run G on zero-padded batches of this many latents: one
  # compiled shape, so an image depends on its seed alone, not on which other seeds were asked
  # (XLA may round a row differently in a batch of another size).
  SEED_BATCH = 32

  def seed_latents(self, seeds, label: int | None = None, truncation: float | None = None):
    """(z [len(seeds), latent_dim], labels or None): seed s's latent is the one
    generate_outputs(state, 1, s) draws (BigGAN's truncation of z applied seed by seed); a
    conditional G gets `label`, by default s mod num_classes."""
    num_classes = self.nets.num_classes
    if label is not None:
      if not num_classes:
        raise JaxganError(f"--class is for class-conditional models; this "
                          f"{self.config.architecture!r} generator is unconditional")
      if not 0 <= label < num_classes:
        raise JaxganError(f"--class must be in [0, {num_classes - 1}] (the data set's "
                          f"{num_classes} classes), got {label}")
    z_truncation = truncation if self.truncation_space == "z" else None
    z = np.concatenate([np.asarray(self.latents(jax.random.PRNGKey(int(s)), 1,
                                                truncation=z_truncation)[0]) for s in seeds])
    labels = None
    if num_classes:
      labels = np.asarray([label if label is not None else int(s) % num_classes for s in seeds],
                          np.int32)
    return z, labels

  def _padded_outputs(self, state, z, labels, truncation):
    """outputs_of in zero-padded batches of SEED_BATCH, the padding dropped."""
    num, size = len(z), self.SEED_BATCH
    pad = -num % size
    z = np.concatenate([z, np.zeros((pad,) + z.shape[1:], z.dtype)])
    padded_labels = None
    if labels is not None:
      padded_labels = np.concatenate([labels, np.zeros(pad, labels.dtype)])
    out = self.outputs_of(state, z, padded_labels, truncation, batch_size=size)
    return {name: np.asarray(value)[:num] for name, value in out.items()}

  def generate_seeds(self, state, seeds, label: int | None = None,
                     truncation: float | None = None) -> dict:
    self.check_truncation(truncation)
    z, labels = self.seed_latents(seeds, label, truncation)
    return self._padded_outputs(state, z, labels, truncation)

  def interpolate(self, state, seeds, frames: int, label: int | None = None,
                  truncation: float | None = None) -> dict:
    """A walk through the seeds' latents: slerp of z (N(0, I) latents; their norm is
    interpolated linearly) or, for style generators, lerp of the mapped w (truncated by psi);
    a conditional G keeps one class, `label` or the first seed's."""
    if len(seeds) < 2 or frames < 1:
      raise JaxganError(f"interpolation needs two or more seeds and frames >= 1, got seeds "
                        f"{list(seeds)} and frames {frames}")
    self.check_truncation(truncation)
    z, labels = self.seed_latents(seeds, label, truncation)
    leg, t = walk_times(len(seeds), frames)
    if labels is not None:
      labels = np.full(len(t), labels[0], np.int32)
    if not self.style:
      return self._padded_outputs(state, slerp_latents(z[leg], z[leg + 1], t), labels,
                                  truncation)
    psi = 1.0 if truncation is None else float(truncation)
    params = state.ema_params if state.ema_params is not None else state.g_params
    ws = np.asarray(self._mix_ws(params, state.g_state, jnp.asarray(z), psi))
    t_w = t.reshape((-1,) + (1,) * (ws.ndim - 1)).astype(ws.dtype)
    walk = ws[leg] + (ws[leg + 1] - ws[leg]) * t_w
    walk = np.where(t_w == 1.0, ws[leg + 1], walk)  # the key frames exactly
    size = self.SEED_BATCH
    pad = -len(walk) % size
    walk = np.concatenate([walk, np.zeros((pad,) + walk.shape[1:], walk.dtype)])
    images = np.concatenate([np.asarray(self._mix_synthesis(params, state.g_state,
                                                            walk[s:s + size]))
                             for s in range(0, len(walk), size)])
    return {"samples": images[:len(t)]}

  def style_mixing_grid(self, state, rows: int, columns: int, seed: int,
                        truncation: float | None = None):
    """The StyleGAN paper's style-mixing figure (its Fig. 3) as uint8 (H, W, C), and the names
    of the bands shown.

    The top row holds `columns` source-A images, the left column `rows` source-B images, once
    per band; each cell is A's styles with the band's copied from B: coarse (layers 0-3, the
    4x4-8x8 styles), middle (4-7, 16x16-32x32), fine (8 on, 64x64 up). Bands this G has no
    layers for (fine below 64x64) are left out. EMA weights when kept, the layers' fixed noise,
    truncation psi in W (default 1: none, as the official style_mixing.py).
    """
    if not self.style:
      return super().style_mixing_grid(state, rows, columns, seed, truncation)
    if rows < 1 or columns < 1:
      raise JaxganError(f"the style-mixing grid needs rows and columns >= 1, got {rows} and "
                        f"{columns}")
    self.check_truncation(truncation)
    psi = 1.0 if truncation is None else float(truncation)
    num_ws = self.nets.generator.num_ws
    bands = [(name, lo, min(hi, num_ws)) for name, lo, hi in
             (("coarse", 0, 4), ("middle", 4, 8), ("fine", 8, num_ws)) if lo < num_ws]
    a_key, b_key = jax.random.split(jax.random.PRNGKey(seed))
    z_a = self.nets.draw_z(a_key, columns)
    z_b = self.nets.draw_z(b_key, rows)
    params = state.ema_params if state.ema_params is not None else state.g_params
    ws_a, ws_b = (self._mix_ws(params, state.g_state, z, psi) for z in (z_a, z_b))
    layer = jnp.arange(num_ws)[None, None, :, None]
    mixed = [jnp.where((layer >= lo) & (layer < hi), ws_b[:, None], ws_a[None])
             for _, lo, hi in bands]  # each [rows, columns, num_ws, w_dim]
    all_ws = jnp.concatenate([ws_a, ws_b] + [m.reshape((-1,) + m.shape[2:]) for m in mixed])
    images = np.asarray(self._mix_synthesis(params, state.g_state, all_ws))
    a_img, b_img = images[:columns], images[columns:columns + rows]
    cells = images[columns + rows:].reshape((len(bands), rows, columns) + images.shape[1:])
    blank = -np.ones_like(a_img[:1])
    grid = [blank, a_img]
    for band in cells:
      for r in range(rows):
        grid += [b_img[r:r + 1], band[r]]
    grid = np.concatenate(grid)
    return (visualize.image_grid(visualize.to_uint8(grid), columns=columns + 1),
            [name for name, _, _ in bands])

  @property
  def has_styles(self) -> bool:
    return self.style

  def path_pairs(self, state, num: int, seed: int, space: str, sampling: str,
                 epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """PPL's image pairs (jaxgan.metrics.ppl): for `num` latent pairs (z0, z1) and t by
    `sampling`, G at path(t) and path(t + epsilon); path: slerp of z ('z') or lerp of the
    mapped ws ('w'). EMA weights when kept, untruncated, the layers' fixed noise for both
    images (as stylegan2-ada-pytorch), in batches of eval.batch_size."""
    from jaxgan.metrics import ppl  # pylint: disable=g-import-not-at-top
    if not self.style:
      return super().path_pairs(state, num, seed, space, sampling, epsilon)
    if space not in ppl.SPACES:
      raise JaxganError(f"ppl space must be one of {ppl.SPACES}, got {space!r}")
    k0, k1, kt = jax.random.split(jax.random.PRNGKey(seed), 3)
    z0 = self.nets.draw_z(k0, num)
    z1 = self.nets.draw_z(k1, num)
    t = ppl.path_times(kt, num, sampling)
    params = state.ema_params if state.ema_params is not None else state.g_params
    size = self.config.eval.batch_size
    out_a, out_b = [], []
    for s in range(0, num, size):
      b = slice(s, s + size)
      if space == "z":
        ws_a = self._mix_ws(params, state.g_state, ppl.slerp(z0[b], z1[b], t[b]), 1.0)
        ws_b = self._mix_ws(params, state.g_state, ppl.slerp(z0[b], z1[b], t[b] + epsilon), 1.0)
      else:
        w0 = self._mix_ws(params, state.g_state, z0[b], 1.0)
        w1 = self._mix_ws(params, state.g_state, z1[b], 1.0)
        ws_a, ws_b = ppl.lerp(w0, w1, t[b]), ppl.lerp(w0, w1, t[b] + epsilon)
      images = np.asarray(self._mix_synthesis(params, state.g_state,
                                              jnp.concatenate([ws_a, ws_b])))
      out_a.append(images[:len(ws_a)])
      out_b.append(images[len(ws_a):])
    return np.concatenate(out_a), np.concatenate(out_b)

  @functools.partial(jax.jit, static_argnums=(0, 4))
  def _mix_ws(self, params, g_state, z, psi):
    return self.nets.generator.apply({"params": params, **g_state}, z, None, False, psi,
                                     method="mapping")

  @functools.partial(jax.jit, static_argnums=0)
  def _mix_synthesis(self, params, g_state, ws):
    return self.nets.generator.apply({"params": params, **g_state}, ws, noise_mode="const",
                                     method="synthesis")

  def sample_grid(self, state) -> np.ndarray:
    """The fixed-noise picture: an image grid, or a scatter of points over the true modes."""
    if self.info.kind == "points":
      from jaxgan.data.embedded import POINT_MIXTURES  # pylint: disable=g-import-not-at-top
      z, _ = self.latents(jax.random.PRNGKey(SAMPLE_KEY), 2500)
      mixture = POINT_MIXTURES.get(self.info.name)
      return visualize.scatter_image(self.generate(state, z),
                                     None if mixture is None else mixture.modes)
    n = self.config.sample_grid
    z, labels = self.latents(jax.random.PRNGKey(SAMPLE_KEY), n * n)
    samples = self.generate(state, z, labels, g_state=self.standing_g_state(state))
    return visualize.image_grid(visualize.to_uint8(samples), columns=n)


def walk_times(num_keys: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
  """(leg, t) of a walk through num_keys key points, `frames` frames per leg (t = j / frames)
  and the last key point at the end: frame f shows leg[f]'s point at fraction t[f]."""
  legs = np.repeat(np.arange(num_keys - 1), frames)
  t = np.tile(np.arange(frames) / frames, num_keys - 1)
  return np.append(legs, num_keys - 2), np.append(t, 1.0)


def slerp_latents(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
  """Spherical interpolation of N(0, I) latents a, b ([N, D]) at t ([N]): the direction along
  the great circle, the norm linearly. (A straight line between two Gaussian latents passes
  through norms the generator never saw in training: in high dimension they concentrate near
  sqrt(D).) t = 0 and 1 give a and b exactly."""
  a64, b64 = a.astype(np.float64), b.astype(np.float64)
  norm_a = np.linalg.norm(a64, axis=-1, keepdims=True)
  norm_b = np.linalg.norm(b64, axis=-1, keepdims=True)
  unit_a, unit_b = a64 / norm_a, b64 / norm_b
  omega = np.arccos(np.clip(np.sum(unit_a * unit_b, axis=-1, keepdims=True), -1.0, 1.0))
  tt = t[:, None].astype(np.float64)
  sin_omega = np.sin(omega)
  near = sin_omega < 1e-6  # (anti)parallel directions: the straight line between them
  safe = np.where(near, 1.0, sin_omega)
  w_a = np.where(near, 1.0 - tt, np.sin((1.0 - tt) * omega) / safe)
  w_b = np.where(near, tt, np.sin(tt * omega) / safe)
  direction = w_a * unit_a + w_b * unit_b
  direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-12)
  out = direction * ((1.0 - tt) * norm_a + tt * norm_b)
  out = np.where(tt == 0.0, a64, np.where(tt == 1.0, b64, out))
  return out.astype(a.dtype)


def _code_sizes(config) -> tuple[int, int]:
  """InfoGAN's categorical code size and number of continuous codes of a config (0: none, also
  for configs before the keys)."""
  code = config.get("info_code")
  if code is None or not code.categories:
    return 0, 0
  return code.categories, code.get("continuous", 0)


def _batch_size(tree) -> int:
  return jax.tree_util.tree_leaves(tree)[0].shape[0]


def _sum_leaves(fn, *trees):
  """fn over corresponding leaves of logit trees, summed (CoGAN's two domains: a tuple)."""
  values = [fn(*leaves) for leaves in zip(*(jax.tree_util.tree_leaves(t) for t in trees))]
  total = values[0]
  for v in values[1:]:
    total = total + v
  return total


def _logit_metrics(real_logits, fake_logits) -> dict:
  real = jnp.mean(jnp.stack([jnp.mean(x) for x in jax.tree_util.tree_leaves(real_logits)]))
  fake = jnp.mean(jnp.stack([jnp.mean(x) for x in jax.tree_util.tree_leaves(fake_logits)]))
  # The critic's estimate of the Wasserstein distance (meaningful for WGAN critics).
  return {"d_real": real, "d_fake": fake, "wasserstein": real - fake}


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
  if "bn_momentum" not in {f.name for f in dataclasses.fields(generator)}:
    return None
  generator = generator.clone(bn_momentum=0.0)

  @jax.jit
  def batch_stats(params, g_state, z, labels):
    _, updates = generator.apply({"params": params, **g_state}, z, labels, train=True,
                                 mutable=["batch_stats"])
    return updates["batch_stats"]

  return batch_stats
