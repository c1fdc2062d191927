"""DCGAN (Radford et al. 2015), also the architecture of WGAN and WGAN-GP's image experiments.

G: a projection of z reshaped to 4x4, then fractionally-strided convolutions doubling the size,
BatchNorm + ReLU everywhere but the tanh output. D: strided convolutions with LeakyReLU(0.2),
BatchNorm everywhere but the input layer, no hidden fully connected layer: the last feature map
is flattened into one logit. Weights start from N(0, 0.02) as in the paper.

With `code_categories` (config info_code.categories, InfoGAN: Chen et al. 2016) D also has
InfoGAN's head Q on the same flattened features (its MNIST net: FC 128, batch norm, LeakyReLU,
then the code's logits, and with `code_continuous` the means of that many continuous codes),
returned beside the logit when called with code_head=True.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.nn.basic import compute_dtype, norm_layer
from jaxgan.nn.transposed_conv import FractionallyStridedConv

_INIT = nn.initializers.normal(0.02)


def _num_blocks(image_size: int) -> int:
  blocks = int(math.log2(image_size // 4))
  if image_size < 8 or 4 * 2**blocks != image_size:
    raise ValueError(f"DCGAN needs an image size of 4*2^k >= 8, got {image_size}")
  return blocks


class DCGANGenerator(nn.Module):
  image_size: int
  channels: int
  base_features: int = 64  # features of the last hidden layer; doubled per block towards z
  norm: str = "batch"
  dtype: jnp.dtype = jnp.float32
  bn_momentum: float = 0.9  # 0: store the batch statistics themselves (standing statistics)

  @nn.compact
  def __call__(self, z, labels=None, train: bool = True):
    del labels
    blocks = _num_blocks(self.image_size)
    features = self.base_features * 2 ** (blocks - 1)
    h = nn.Dense(4 * 4 * features, kernel_init=_INIT, use_bias=False, dtype=self.dtype)(
        z.astype(self.dtype))
    h = h.reshape(z.shape[0], 4, 4, features)
    h = nn.relu(norm_layer(self.norm, train, self.dtype, momentum=self.bn_momentum)(h))
    for _ in range(blocks - 1):
      features //= 2
      h = FractionallyStridedConv(features, use_bias=False, kernel_init=_INIT,
                                  dtype=self.dtype)(h)
      h = nn.relu(norm_layer(self.norm, train, self.dtype, momentum=self.bn_momentum)(h))
    h = FractionallyStridedConv(self.channels, kernel_init=_INIT, dtype=self.dtype)(h)
    return jnp.tanh(h).astype(jnp.float32)


class DCGANDiscriminator(nn.Module):
  base_features: int = 64  # features of the first layer; doubled per block
  norm: str = "batch"  # 'batch' (DCGAN, WGAN), 'layer' or 'none' (WGAN-GP's critic)
  dtype: jnp.dtype = jnp.float32
  code_categories: int = 0  # InfoGAN's Q head predicts a code of this many values (0: none)
  code_continuous: int = 0  # and the means of this many continuous codes

  @nn.compact
  def __call__(self, x, labels=None, train: bool = True, code_head: bool = False):
    del labels
    blocks = _num_blocks(x.shape[1])
    h = x.astype(self.dtype)
    features = self.base_features
    for block in range(blocks):
      h = nn.Conv(features, (4, 4), strides=(2, 2), padding="SAME", kernel_init=_INIT,
                  use_bias=block == 0 or self.norm == "none", dtype=self.dtype)(h)
      if block > 0:  # no normalisation on the input layer
        h = norm_layer(self.norm, train, self.dtype)(h)
      h = nn.leaky_relu(h, 0.2)
      features *= 2
    h = h.reshape(h.shape[0], -1)
    logit = nn.Dense(1, kernel_init=_INIT, dtype=self.dtype)(h)[:, 0].astype(jnp.float32)
    if not code_head:
      return logit
    if not self.code_categories:
      raise ValueError("code_head=True needs code_categories > 0")
    q = nn.Dense(128, kernel_init=_INIT, use_bias=self.norm != "batch", dtype=self.dtype)(h)
    if self.norm == "batch":  # InfoGAN's Q: FC 128 with batch norm (no norm for the others)
      q = norm_layer(self.norm, train, self.dtype)(q)
    q = nn.leaky_relu(q, 0.2)
    code_logits = nn.Dense(self.code_categories + self.code_continuous, kernel_init=_INIT,
                           dtype=self.dtype)(q)
    return logit, code_logits.astype(jnp.float32)


def build(config, info):
  dtype = compute_dtype(config.compute_dtype)
  size, _, channels = info.shape
  generator = DCGANGenerator(image_size=size, channels=channels,
                             base_features=config.generator.base_features,
                             norm=config.generator.norm, dtype=dtype)
  code = config.get("info_code")
  discriminator = DCGANDiscriminator(base_features=config.discriminator.base_features,
                                     norm=config.discriminator.norm, dtype=dtype,
                                     code_categories=code.categories if code else 0,
                                     code_continuous=code.get("continuous", 0) if code else 0)
  return generator, discriminator
