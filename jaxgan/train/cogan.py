"""CoGAN (Liu & Tuzel 2016): a coupled pair of GANs learning a joint distribution of two domains
from unpaired images.

One latent z goes through both generators, whose first layers are shared; each discriminator
sees its own domain's real images against its generator's fakes, and the two share their last
layers. Training is the adversarial trainer's step with G producing a pair and D scoring a
pair: the losses are summed over the two domains. Because the shared layers get gradients from
both branches, the pair (G_A(z), G_B(z)) comes out corresponding (a digit and its negative)
although no pair was shown.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.errors import JaxganError
from jaxgan.train import pieces
from jaxgan.train.adversarial import SAMPLE_KEY, AdversarialTrainer, EVAL_KEY, Networks


@dataclasses.dataclass(frozen=True)
class CoupledNetworks(Networks):
  """G(z) -> (a, b); D(a, b) -> (logits_a, logits_b)."""

  def d_args(self, x, labels) -> tuple:
    del labels
    return tuple(x)


class CoGANTrainer(AdversarialTrainer):
  pairing = "unpaired"
  supports_truncation = False

  def __init__(self, config, info):
    if config.conditional:
      raise JaxganError("the cogan trainer is unconditional; set conditional=False")
    super().__init__(config, info)
    self.nets = CoupledNetworks(self.nets.generator, self.nets.discriminator, config.latent_dim,
                                0, latent_distribution=self.nets.latent_distribution)
    if any(t.term.per_example_grads for t in self.d_terms):
      raise JaxganError("the cogan trainer takes no gradient penalties (its D scores a pair)")

  def real_inputs(self, batch):
    return (batch["a"], batch["b"])

  def example_inputs(self):
    return (jnp.zeros((2,) + tuple(self.info.shape), jnp.float32),
            jnp.zeros((2,) + tuple(self.info.target_shape), jnp.float32))

  def latents(self, key, num: int, labels=None, truncation: float | None = None):
    del labels, truncation
    return self.nets.draw_z(key, num), None

  @property
  def latent_dim(self) -> int:
    return self.config.latent_dim

  def output_names(self) -> set[str]:
    return {"samples_a", "samples_b"}

  def generate_outputs(self, state, num: int, seed: int | None,
                       truncation: float | None = None) -> dict:
    """{'samples_a', 'samples_b'}: pairs from the same latents, float in [-1, 1]."""
    del truncation
    z, _ = self.latents(jax.random.PRNGKey(EVAL_KEY if seed is None else seed), num)
    a, b = self.generate(state, z)
    return {"samples_a": a, "samples_b": b}

  def outputs_of(self, state, z, labels=None, truncation: float | None = None,
                 batch_size: int | None = None) -> dict:
    del labels, truncation
    a, b = self.generate(state, z, batch_size=batch_size)
    return {"samples_a": a, "samples_b": b}

  def sample_grid(self, state) -> np.ndarray:
    """Generated pairs a | b from fixed latents, sample_grid / 2 pairs per row."""
    n = self.config.sample_grid
    z, _ = self.latents(jax.random.PRNGKey(SAMPLE_KEY), n * n // 2)
    a, b = self.generate(state, z)
    return pieces.rows_picture([a, b], groups=max(n // 2, 1))
