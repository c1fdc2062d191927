"""CoGAN (Liu & Tuzel 2016): a coupled pair of GANs learning a joint distribution of two domains
from unpaired images.

One latent z goes through both generators, whose first layers are shared; each discriminator
sees its own domain's real images against its generator's fakes, and the two share their last
layers. Training is the adversarial step of every other GAN here, summed over the two domains:
n_critic D updates (each on its own real batch of both domains), then one G update, then the
optional EMA of G. Because the shared layers get gradients from both branches, the pair
(G_A(z), G_B(z)) comes out corresponding (a digit and its negative) although no pair was shown.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import losses, visualize
from jaxgan.train import pieces
from jaxgan.train.adversarial import accumulate_grads, split_micro
from jaxgan.train.state import TrainState, ema_update, make_optimizer

SAMPLE_KEY = 19  # the fixed latents of the sample pictures (as the adversarial trainer's)
EVAL_KEY = 20141


class CoGANTrainer(pieces.TwoImageTrainer):
  pairing = "unpaired"
  supports_n_critic = True

  def __init__(self, config, info):
    super().__init__(config, info)
    self.generator, self.discriminator = self.build()
    self.g_tx = make_optimizer(config.optimizer.g, config.steps)
    self.d_tx = make_optimizer(config.optimizer.d, config.steps * config.n_critic)
    self.latent_dim = config.latent_dim
    self._generate = jax.jit(self._generate_fn)

  def init_state(self, key):
    key, g_key, d_key = jax.random.split(key, 3)
    z = jnp.zeros((2, self.latent_dim), jnp.float32)
    a = jnp.zeros((2,) + tuple(self.info.shape), jnp.float32)
    b = jnp.zeros((2,) + tuple(self.info.target_shape), jnp.float32)
    g_params, g_state = pieces.init_net(self.generator, g_key, z)
    d_params, d_state = pieces.init_net(self.discriminator, d_key, a, b)
    return TrainState(step=jnp.zeros((), jnp.int32), g_params=g_params, d_params=d_params,
                      g_state=g_state, d_state=d_state, g_opt_state=self.g_tx.init(g_params),
                      d_opt_state=self.d_tx.init(d_params),
                      ema_params=g_params if self.config.ema.decay > 0 else None, rng=key)

  def make_step(self, constrain):
    config = self.config
    adversarial = losses.ADVERSARIAL_LOSSES[config.loss]
    num_micro = config.grad_accum_steps
    micro_size = config.batch_size // num_micro

    def latents(key, num):
      return constrain(jax.random.normal(key, (num, self.latent_dim), jnp.float32))

    def d_loss_fn(d_params, d_state, inputs, g_params, g_state):
      (real_a, real_b), key = inputs
      z_key, real_key, fake_key = jax.random.split(key, 3)
      (fake_a, fake_b), _ = pieces.apply_net(self.generator, g_params, g_state,
                                             latents(z_key, real_a.shape[0]), train=True)
      fake_a, fake_b = jax.lax.stop_gradient(fake_a), jax.lax.stop_gradient(fake_b)
      (real_la, real_lb), d_state = pieces.apply_net(self.discriminator, d_params, d_state,
                                                     real_a, real_b, train=True, key=real_key)
      (fake_la, fake_lb), d_state = pieces.apply_net(self.discriminator, d_params, d_state,
                                                     fake_a, fake_b, train=True, key=fake_key)
      loss_a = adversarial.discriminator(real_la, fake_la)
      loss_b = adversarial.discriminator(real_lb, fake_lb)
      return loss_a + loss_b, (d_state, {"d_loss": loss_a + loss_b, "d_loss_a": loss_a,
                                         "d_loss_b": loss_b})

    def g_loss_fn(g_params, g_state, key, d_params, d_state):
      z_key, d_key = jax.random.split(key)
      (fake_a, fake_b), g_state = pieces.apply_net(self.generator, g_params, g_state,
                                                   latents(z_key, micro_size), train=True)
      (la, lb), _ = pieces.apply_net(self.discriminator, d_params, d_state, fake_a, fake_b,
                                     train=True, key=d_key)
      loss_a, loss_b = adversarial.generator(la), adversarial.generator(lb)
      return loss_a + loss_b, (g_state, {"g_loss": loss_a + loss_b, "g_loss_a": loss_a,
                                         "g_loss_b": loss_b})

    def step(state: TrainState, batch):
      rng, d_key, g_key = jax.random.split(state.rng, 3)
      n_critic = batch["a"].shape[0]
      d_keys = jax.random.split(d_key, n_critic)
      d_params, d_state, d_opt_state = state.d_params, state.d_state, state.d_opt_state
      d_metrics = []
      loss_fn = functools.partial(d_loss_fn, g_params=state.g_params, g_state=state.g_state)
      for i in range(n_critic):  # unrolled (see adversarial.accumulate_grads)
        real = (batch["a"][i], batch["b"][i])
        micro_keys = jax.random.split(d_keys[i], num_micro)
        inputs = ((real, micro_keys[0]) if num_micro == 1 else
                  (split_micro(real, num_micro), micro_keys))
        grads, (d_state, metrics) = accumulate_grads(loss_fn, d_params, d_state, inputs,
                                                     num_micro)
        d_params, d_opt_state = pieces.update(self.d_tx, grads, d_opt_state, d_params)
        d_metrics.append(metrics)

      g_keys = jax.random.split(g_key, num_micro)
      loss_fn = functools.partial(g_loss_fn, d_params=d_params, d_state=d_state)
      grads, (g_state, g_metrics) = accumulate_grads(
          loss_fn, state.g_params, state.g_state, g_keys[0] if num_micro == 1 else g_keys,
          num_micro)
      g_params, g_opt_state = pieces.update(self.g_tx, grads, state.g_opt_state, state.g_params)
      ema_params = state.ema_params
      if ema_params is not None:
        decay = jnp.where(state.step >= config.ema.start, config.ema.decay, 0.0)
        ema_params = ema_update(ema_params, g_params, decay)
      d_mean = jax.tree_util.tree_map(lambda *xs: jnp.mean(jnp.stack(xs)), *d_metrics)
      new_state = state.replace(step=state.step + 1, g_params=g_params, d_params=d_params,
                                g_state=g_state, d_state=d_state, g_opt_state=g_opt_state,
                                d_opt_state=d_opt_state, ema_params=ema_params, rng=rng)
      return new_state, {**d_mean, **g_metrics}

    return step

  # ---------------------------------------------------------------- sampling

  def _generate_fn(self, state, z):
    params = state.ema_params if state.ema_params is not None else state.g_params
    (a, b), _ = pieces.apply_net(self.generator, params, state.g_state, z, train=False)
    return a, b

  def latents(self, key, num: int):
    return jax.random.normal(key, (num, self.latent_dim), jnp.float32)

  def generate_pairs(self, state, z, batch_size: int | None = None):
    """(images A, images B) from the same latents, float numpy in [-1, 1]."""
    return pieces.batched(lambda z, _: self._generate(state, z), (np.asarray(z, np.float32),),
                          batch_size or self.config.eval.batch_size)

  def sample_outputs(self, state, num: int, seed: int) -> dict:
    a, b = self.generate_pairs(state, self.latents(jax.random.PRNGKey(seed), num))
    return {"samples_a": visualize.to_uint8(a), "samples_b": visualize.to_uint8(b)}

  def sample_grid(self, state) -> np.ndarray:
    """Generated pairs a | b from fixed latents, sample_grid / 2 pairs per row."""
    n = self.config.sample_grid
    a, b = self.generate_pairs(state, self.latents(jax.random.PRNGKey(SAMPLE_KEY), n * n // 2))
    return pieces.rows_picture([a, b], groups=max(n // 2, 1))

  def can_evaluate(self) -> bool:
    return self.info.relation == "negative"

  def evaluate(self, state, num_samples: int | None = None) -> dict:
    """Where B is A's negative: pair_l1, the mean |a - (1 - b)| (0-1 scale) over generated
    pairs, against the same with the b's shuffled (pair_l1_shuffled) and their ratio; on
    digits, each domain's Fréchet distance (and KID, IS) by the digits classifier, negatives
    scored as 1 - b."""
    num = num_samples or self.config.eval.num_samples
    a, b = self.generate_pairs(state, self.latents(jax.random.PRNGKey(EVAL_KEY), num))
    return coupling_scores(a, b, digits=self.info.name == "digits_negative")


def coupling_scores(a: np.ndarray, b: np.ndarray, digits: bool, seed: int = 0) -> dict:
  """Correspondence of generated pairs (a, b) whose b should be a's negative (see evaluate)."""
  shuffled = b[np.random.default_rng(seed).permutation(len(b))]
  pair = float(np.mean(pieces.l1_01(a, -b)))
  base = float(np.mean(pieces.l1_01(a, -shuffled)))
  scores = {"pair_l1": pair, "pair_l1_shuffled": base, "pair_ratio": pair / max(base, 1e-12)}
  if digits and len(a) >= 10:
    from jaxgan.metrics.digits import digits_metrics  # pylint: disable=g-import-not-at-top
    for name, images in (("a", a), ("b", -b)):
      metrics = digits_metrics(images, seed=seed)
      scores.update({f"fd_{name}": metrics["fd"], f"kid_{name}": metrics["kid"],
                     f"is_{name}": metrics["is"]})
  return scores
