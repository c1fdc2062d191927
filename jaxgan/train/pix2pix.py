"""pix2pix (Isola et al. 2016): a conditional GAN on paired images, plus an L1 term.

G(x) translates an input image; D(x, y) judges (input, output) pairs patch by patch. The
objective is cGAN + lambda * L1 with lambda = 100: G minimises the adversarial loss of D(x, G(x))
(the non-saturating form the paper uses) plus lambda |y - G(x)|_1, D its usual loss on real
pairs (x, y) against (x, G(x)), halved ("we divide the objective by 2 while optimizing D").
`gan_weight` 0 gives the paper's L1-only ablation, `l1_weight` 0 its cGAN-only one, and
`discriminator.conditional` False its unconditional GAN (D sees outputs alone).

Each step runs G forward once: the G update goes first, on D as it stands, and the fakes it made
(the generator phase's outputs) then train D, as the reference code's CycleGAN does; the
update order within an iteration is the only difference from the paper's D-then-G, a shift of
half a step. Noise is dropout: G trains with it, and with `generator.paper_inference` samples
are drawn as the paper does at its test batch size of 1: dropout on, batch norm on each test
image's own statistics.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import losses
from jaxgan.errors import JaxganError
from jaxgan.train import pieces
from jaxgan.train.networks import apply_net, init_net
from jaxgan.train.phases import micro_batches, update_phase
from jaxgan.train.state import TrainState, make_optimizer

SAMPLE_ROWS = 8


class Pix2PixTrainer(pieces.TwoImageTrainer):
  pairing = "paired"
  num_keys = 3  # the generator's, the discriminator's, the jitter's

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
    g_params, g_state = init_net(self.generator, g_key, x)
    d_params, d_state = init_net(self.discriminator, d_key, y,
                                 x if self.conditional_d else None)
    return TrainState(step=jnp.zeros((), jnp.int32), g_params=g_params, d_params=d_params,
                      g_state=g_state, d_state=d_state, g_opt_state=self.g_tx.init(g_params),
                      d_opt_state=self.d_tx.init(d_params), ema_params=None, rng=key)

  def _d(self, d_params, d_state, image, condition, key):
    return apply_net(self.discriminator, d_params, d_state, image,
                     condition if self.conditional_d else None, train=True, key=key)

  def phases(self, constrain):
    del constrain  # every array here follows the sharded batch
    config = self.config
    adversarial = losses.ADVERSARIAL_LOSSES[config.loss]
    num_micro = config.grad_accum_steps
    use_gan = self.gan_weight > 0

    def g_loss_fn(g_params, g_state, inputs, state):
      (x, y), key = inputs
      g_key, d_key = jax.random.split(key)
      fake, g_state = apply_net(self.generator, g_params, g_state, x, train=True, key=g_key)
      l1 = pieces.mean_abs(fake, y)
      total = self.l1_weight * l1
      metrics = {"l1": l1}
      if use_gan:
        logits, _ = self._d(state.d_params, state.d_state, fake, x, d_key)
        g_adv = adversarial.generator(logits)
        total = total + self.gan_weight * g_adv
        metrics["g_loss"] = g_adv
      return total, (g_state, metrics, {"fake": fake})

    def d_loss_fn(d_params, d_state, inputs, state):
      del state
      (x, y, fake), key = inputs
      real_key, fake_key = jax.random.split(key)
      real_logits, d_state = self._d(d_params, d_state, y, x, real_key)
      fake_logits, d_state = self._d(d_params, d_state, fake, x, fake_key)
      d_loss = 0.5 * adversarial.discriminator(real_logits, fake_logits)
      return d_loss, (d_state, {"d_loss": d_loss, "d_real": jnp.mean(real_logits),
                                "d_fake": jnp.mean(fake_logits)})

    result = [pieces.jitter_phase(config, ("input", "target"), paired=True, key_slot=2),
              update_phase("generator", "g", g_loss_fn, self.g_tx, num_micro,
                           lambda b, k: micro_batches((b["input"], b["target"]), k, num_micro),
                           key_slot=0)]
    if use_gan:
      result.append(update_phase(
          "discriminator", "d", d_loss_fn, self.d_tx, num_micro,
          lambda b, k: micro_batches((b["input"], b["target"], jax.lax.stop_gradient(b["fake"])),
                                     k, num_micro),
          key_slot=1))
    return [p for p in result if p is not None]

  # ---------------------------------------------------------------- inference

  def _translate_fn(self, state, x, key, start):
    """G on a batch of inputs, the first being input number `start` of the whole set.

    With paper_inference each image is translated alone, as at the paper's test batch size of
    1 (dropout on, batch norm over that image's own statistics), vmapped over the batch, with
    dropout drawn from `key` folded with the image's number: an image's output depends on
    neither its batch-mates nor the batch size."""
    if not self.paper_inference:
      return apply_net(self.generator, state.g_params, state.g_state, x, train=False)[0]

    def one(image, number):
      out, _ = apply_net(self.generator, state.g_params, state.g_state, image[None],
                         train=True, key=jax.random.fold_in(key, number))
      return out[0]

    return jax.vmap(one)(x, start + jnp.arange(x.shape[0]))

  def translate(self, state, inputs: np.ndarray, seed: int = 0,
                batch_size: int | None = None) -> np.ndarray:
    """G on float inputs in [-1, 1], in batches, as float numpy."""
    key = jax.random.PRNGKey(seed)
    batch_size = batch_size or self.config.eval.batch_size
    return pieces.batched(
        lambda x, i: self._translate(state, x, key, i * batch_size),
        (np.asarray(inputs, np.float32),), batch_size)

  def output_names(self) -> set[str]:
    return {"inputs", "samples", "targets"}

  def generate_outputs(self, state, num: int, seed: int | None,
                       truncation: float | None = None) -> dict:
    """{'inputs', 'samples' (G's translations), 'targets'} of `num` test examples: the first
    ones for seed None (evaluation), else a seeded draw."""
    del truncation
    if seed is None:  # every test example at most once
      num = min(num, len(self.require_test_source()))
    batch = self.examples(num, seed)
    samples = self.translate(state, batch["input"], seed or 0)
    return {"inputs": batch["input"], "samples": samples, "targets": batch["target"]}

  def sample_grid(self, state) -> np.ndarray:
    """Rows of input | output | target for the first test examples, two per row."""
    batch = self.examples(SAMPLE_ROWS, None, require_test=False)
    samples = self.translate(state, batch["input"])
    return pieces.rows_picture([batch["input"], samples, batch["target"]], groups=2)
