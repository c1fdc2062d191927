"""pix2pix (Isola et al. 2016): a conditional GAN on paired images, plus an L1 term.

G(x) translates an input image; D(x, y) judges (input, output) pairs patch by patch. The
objective is cGAN + lambda * L1 with lambda = 100: G minimises the adversarial loss of D(x, G(x))
(the non-saturating form the paper uses) plus lambda |y - G(x)|_1, D its usual loss on real
pairs (x, y) against (x, G(x)), halved ("we divide the objective by 2 while optimizing D").
`gan_weight` 0 gives the paper's L1-only ablation, `l1_weight` 0 its cGAN-only one, and
`discriminator.conditional` False its unconditional GAN (D sees outputs alone).

Each step runs G forward once: the G update goes first, on D as it stands, and the fakes it made
(returned alongside the gradients) then train D, as the reference code's CycleGAN does; the
update order within an iteration is the only difference from the paper's D-then-G, a shift of
half a step. Noise is dropout: G trains with it, and with `generator.paper_inference` samples
are drawn as the paper does, dropout on and batch norm on the test batch's own statistics.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import losses, visualize
from jaxgan.errors import JaxganError
from jaxgan.train import pieces
from jaxgan.train.adversarial import accumulate_grads
from jaxgan.train.state import TrainState, make_optimizer

SAMPLE_ROWS = 8


class Pix2PixTrainer(pieces.TwoImageTrainer):
  pairing = "paired"

  def __init__(self, config, info):
    super().__init__(config, info)
    self.generator, self.discriminator = self.build()
    self.g_tx = make_optimizer(config.optimizer.g, config.steps)
    self.d_tx = make_optimizer(config.optimizer.d, config.steps)
    self.l1_weight = float(config.l1_weight)
    self.gan_weight = float(config.gan_weight)
    if self.l1_weight < 0 or self.gan_weight < 0 or self.l1_weight + self.gan_weight == 0:
      raise JaxganError(f"pix2pix needs l1_weight >= 0 and gan_weight >= 0, not both 0; got "
                        f"{self.l1_weight} and {self.gan_weight}")
    self.conditional_d = bool(config.discriminator.conditional)
    self.paper_inference = bool(config.generator.paper_inference)
    self._translate = jax.jit(self._translate_fn)

  # ---------------------------------------------------------------- state and step

  def init_state(self, key):
    key, g_key, d_key = jax.random.split(key, 3)
    x = jnp.zeros((2,) + tuple(self.info.shape), jnp.float32)
    y = jnp.zeros((2,) + tuple(self.info.target_shape), jnp.float32)
    g_params, g_state = pieces.init_net(self.generator, g_key, x)
    d_params, d_state = pieces.init_net(self.discriminator, d_key, y,
                                        x if self.conditional_d else None)
    return TrainState(step=jnp.zeros((), jnp.int32), g_params=g_params, d_params=d_params,
                      g_state=g_state, d_state=d_state, g_opt_state=self.g_tx.init(g_params),
                      d_opt_state=self.d_tx.init(d_params), ema_params=None, rng=key)

  def _d(self, d_params, d_state, image, condition, key):
    return pieces.apply_net(self.discriminator, d_params, d_state, image,
                            condition if self.conditional_d else None, train=True, key=key)

  def make_step(self, constrain):
    del constrain  # every array here follows the sharded batch
    config = self.config
    adversarial = losses.ADVERSARIAL_LOSSES[config.loss]
    num_micro = config.grad_accum_steps
    load_size, flip = pieces.augment_config(config)
    use_gan = self.gan_weight > 0

    def g_loss_fn(g_params, g_state, inputs, d_params, d_state):
      (x, y), key = inputs
      g_key, d_key = jax.random.split(key)
      fake, g_state = pieces.apply_net(self.generator, g_params, g_state, x, train=True,
                                       key=g_key)
      l1 = pieces.mean_abs(fake, y)
      total = self.l1_weight * l1
      metrics = {"l1": l1}
      if use_gan:
        logits, _ = self._d(d_params, d_state, fake, x, d_key)
        g_adv = adversarial.generator(logits)
        total = total + self.gan_weight * g_adv
        metrics["g_loss"] = g_adv
      return total, (g_state, metrics, fake)

    def d_loss_fn(d_params, d_state, inputs):
      (x, y, fake), key = inputs
      real_key, fake_key = jax.random.split(key)
      real_logits, d_state = self._d(d_params, d_state, y, x, real_key)
      fake_logits, d_state = self._d(d_params, d_state, fake, x, fake_key)
      d_loss = 0.5 * adversarial.discriminator(real_logits, fake_logits)
      return d_loss, (d_state, {"d_loss": d_loss, "d_real": jnp.mean(real_logits),
                                "d_fake": jnp.mean(fake_logits)})

    def step(state: TrainState, batch):
      x, y = batch["input"][0], batch["target"][0]
      rng, g_key, d_key, aug_key = jax.random.split(state.rng, 4)
      if load_size or flip:
        x, y = pieces.random_jitter(aug_key, [x, y], load_size, flip)
      loss_fn = functools.partial(g_loss_fn, d_params=state.d_params, d_state=state.d_state)
      grads, g_state, metrics, fake = pieces.grads_with_outputs(
          loss_fn, state.g_params, state.g_state, pieces.micro_batches((x, y), g_key, num_micro),
          num_micro)
      g_params, g_opt_state = pieces.update(self.g_tx, grads, state.g_opt_state, state.g_params)
      d_params, d_state, d_opt_state = state.d_params, state.d_state, state.d_opt_state
      if use_gan:
        fake = jax.lax.stop_gradient(fake)
        grads, (d_state, d_metrics) = accumulate_grads(
            d_loss_fn, d_params, d_state, pieces.micro_batches((x, y, fake), d_key, num_micro),
            num_micro)
        d_params, d_opt_state = pieces.update(self.d_tx, grads, d_opt_state, d_params)
        metrics = {**metrics, **d_metrics}
      new_state = state.replace(step=state.step + 1, g_params=g_params, d_params=d_params,
                                g_state=g_state, d_state=d_state, g_opt_state=g_opt_state,
                                d_opt_state=d_opt_state, rng=rng)
      return new_state, metrics

    return step

  # ---------------------------------------------------------------- inference

  def _translate_fn(self, state, x, key):
    out, _ = pieces.apply_net(self.generator, state.g_params, state.g_state, x,
                              train=self.paper_inference,
                              key=key if self.paper_inference else None)
    return out

  def translate(self, state, inputs: np.ndarray, seed: int = 0,
                batch_size: int | None = None) -> np.ndarray:
    """G on float inputs in [-1, 1], in batches, as float numpy."""
    key = jax.random.PRNGKey(seed)
    return pieces.batched(
        lambda x, i: self._translate(state, x, jax.random.fold_in(key, i)),
        (np.asarray(inputs, np.float32),), batch_size or self.config.eval.batch_size,
        pad=not self.paper_inference)  # the paper's inference normalises by the batch itself

  def sample_outputs(self, state, num: int, seed: int) -> dict:
    """inputs, samples (G's translations) and targets of `num` test examples, uint8."""
    batch = self.examples(num, seed)
    samples = self.translate(state, batch["input"], seed)
    return {"inputs": visualize.to_uint8(batch["input"]),
            "samples": visualize.to_uint8(samples),
            "targets": visualize.to_uint8(batch["target"])}

  def sample_grid(self, state) -> np.ndarray:
    """Rows of input | output | target for the first test examples, two per row."""
    batch = self.examples(SAMPLE_ROWS, None, require_test=False)
    samples = self.translate(state, batch["input"])
    return pieces.rows_picture([batch["input"], samples, batch["target"]], groups=2)

  def can_evaluate(self) -> bool:
    return self.test_source() is not None

  def evaluate(self, state, num_samples: int | None = None) -> dict:
    """L1 (0-1 scale) and PSNR (dB, peak 1) of G's outputs on the test split."""
    source = self.require_test_source()
    num = min(num_samples or self.config.eval.num_samples, len(source))
    batch = self.examples(num, None)
    samples = self.translate(state, batch["input"])
    return {"l1": float(np.mean(pieces.l1_01(samples, batch["target"]))),
            "psnr": float(np.mean(pieces.psnr(samples, batch["target"]))),
            "num_test": float(num)}
