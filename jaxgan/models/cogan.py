"""CoGAN (Liu & Tuzel 2016): two generators sharing their first layers, two discriminators
sharing their last layers.

The first layers of a generator decode high-level semantics and the last ones render details,
so sharing the first layers of G_A and G_B (one set of parameters, applied once to the common
z) ties the two domains' images to the same content, while their own last layers render each
domain's look. The discriminators share their last (high-level) layers for the same reason and
keep their own first ones. How many layers are shared is set by config; 0 gives two independent
GANs (the paper's ablation).

The layers are DCGAN's (this library's `dcgan` model; convolutions from nn.padded_conv, which
runs small maps as matrix products) for image sizes 4 * 2^k:
G: z -> dense to 4x4 -> k fractionally-strided 4x4 convolutions (BN + ReLU, tanh output), k + 1
layers; D: k strided 4x4 convolutions (LeakyReLU 0.2, BN but on the first) -> one dense logit,
k + 1 layers. A shared D layer runs once on the two domains' features stacked along the batch,
so each parameter gets both branches' gradients in one pass.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.models.dcgan import _num_blocks
from jaxgan.nn.basic import compute_dtype
from jaxgan.nn.instance_norm import has_bias_of_its_own, norm
from jaxgan.nn.padded_conv import Conv, TransposedConv2x

INIT = nn.initializers.normal(0.02)


class GeneratorLayer(nn.Module):
  """Layer `index` of a CoGAN generator of `num_layers` layers."""

  index: int
  num_layers: int
  features: int  # output channels (for the dense projection: of its 4x4 map)
  norm: str = "batch"
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, h, train: bool):
    last = self.index == self.num_layers - 1
    bias = last or not has_bias_of_its_own(self.norm)
    if self.index == 0:
      h = nn.Dense(4 * 4 * self.features, use_bias=bias, kernel_init=INIT, dtype=self.dtype)(
          h.astype(self.dtype))
      h = h.reshape(h.shape[0], 4, 4, self.features)
    else:
      h = TransposedConv2x(self.features, 4, (2, 2), use_bias=bias, kernel_init=INIT,
                           dtype=self.dtype)(h)
    if last:
      return jnp.tanh(h).astype(jnp.float32)
    return nn.relu(norm(self.norm, train, self.dtype)(h))


class DiscriminatorLayer(nn.Module):
  """Layer `index` of a CoGAN discriminator of `num_layers` layers (the last: the logit)."""

  index: int
  num_layers: int
  features: int
  norm: str = "batch"
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, h, train: bool):
    if self.index == self.num_layers - 1:
      h = h.reshape(h.shape[0], -1)
      return nn.Dense(1, kernel_init=INIT, dtype=self.dtype)(h)[:, 0].astype(jnp.float32)
    normed = self.index > 0
    h = Conv(self.features, 4, 2, "SAME", kernel_init=INIT,
             use_bias=not normed or not has_bias_of_its_own(self.norm), dtype=self.dtype)(
                 h.astype(self.dtype))
    if normed:
      h = norm(self.norm, train, self.dtype)(h)
    return nn.leaky_relu(h, 0.2)


def check_shared(shared: int, num_layers: int, what: str):
  if not 0 <= shared < num_layers:
    raise ValueError(f"{what} has {num_layers} layers, so it can share 0 to {num_layers - 1} "
                     f"(its {'last' if what.startswith('G') else 'first'} layer is always its "
                     f"own), got {shared}")


class CoupledGenerator(nn.Module):
  """(z[, labels]) -> (image_a, image_b): the first `shared_layers` layers are one network."""

  image_size: int
  channels: tuple[int, int]  # (domain A's, domain B's)
  base_features: int = 64
  shared_layers: int = 3
  norm: str = "batch"
  dtype: jnp.dtype = jnp.float32

  def num_layers(self) -> int:
    return _num_blocks(self.image_size) + 1

  def layer_features(self) -> list[int]:
    blocks = _num_blocks(self.image_size)
    return [self.base_features * 2 ** (blocks - 1 - i) for i in range(blocks)]

  @nn.compact
  def __call__(self, z, labels=None, train: bool = True):
    del labels
    num = self.num_layers()
    check_shared(self.shared_layers, num, "G")
    hidden = self.layer_features()

    def layer(i, domain):
      features = hidden[i] if i < num - 1 else self.channels[domain == "b"]
      name = f"shared{i}" if domain is None else f"{domain}{i}"
      return GeneratorLayer(i, num, features, self.norm, self.dtype, name=name)

    h = z
    for i in range(self.shared_layers):
      h = layer(i, None)(h, train)
    h_a = h_b = h
    for i in range(self.shared_layers, num):
      h_a = layer(i, "a")(h_a, train)
      h_b = layer(i, "b")(h_b, train)
    return h_a, h_b


class CoupledDiscriminator(nn.Module):
  """(x_a, x_b) -> (logits_a, logits_b): the last `shared_layers` layers are one network."""

  image_size: int
  base_features: int = 64
  shared_layers: int = 3
  norm: str = "batch"
  dtype: jnp.dtype = jnp.float32

  def num_layers(self) -> int:
    return _num_blocks(self.image_size) + 1

  @nn.compact
  def __call__(self, x_a, x_b, train: bool = True):
    num = self.num_layers()
    check_shared(self.shared_layers, num, "D")
    first_shared = num - self.shared_layers

    def layer(i, domain):
      name = f"shared{i}" if domain is None else f"{domain}{i}"
      return DiscriminatorLayer(i, num, self.base_features * 2**i, self.norm, self.dtype,
                                name=name)

    h_a, h_b = x_a, x_b
    for i in range(first_shared):
      h_a = layer(i, "a")(h_a, train)
      h_b = layer(i, "b")(h_b, train)
    if first_shared == num:
      return h_a, h_b
    split = h_a.shape[0]
    h = jnp.concatenate([h_a, h_b], axis=0)
    for i in range(first_shared, num):
      h = layer(i, None)(h, train)
    return h[:split], h[split:]


def build(config, info):
  dtype = compute_dtype(config.compute_dtype)
  size = info.shape[0]
  if info.shape[:2] != info.target_shape[:2]:
    raise ValueError(f"the two domains must share one image size, got {info.shape} and "
                     f"{info.target_shape}")
  _num_blocks(size)
  g, d = config.generator, config.discriminator
  generator = CoupledGenerator(size, (info.shape[-1], info.target_shape[-1]),
                               base_features=g.base_features, shared_layers=g.shared_layers,
                               norm=g.norm, dtype=dtype)
  discriminator = CoupledDiscriminator(size, base_features=d.base_features,
                                       shared_layers=d.shared_layers, norm=d.norm, dtype=dtype)
  check_shared(g.shared_layers, generator.num_layers(), "G")
  check_shared(d.shared_layers, discriminator.num_layers(), "D")
  return generator, discriminator
