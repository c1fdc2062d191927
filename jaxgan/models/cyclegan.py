"""CycleGAN (Zhu et al. 2017): the ResNet generator (Johnson et al. 2016) and PatchGAN critics.

Generator c7s1-64, d128, d256, R256 x num_blocks (6 for 128x128 images, 9 for 256x256), u128,
u64, c7s1-3: a reflection-padded 7x7 stem, two 3x3 stride-2 down-samplings, residual blocks of
two reflection-padded 3x3 convolutions, two 3x3 stride-2 fractionally-strided up-samplings and a
reflection-padded 7x7 head with tanh. Instance norm (no affine) and ReLU after every layer but
the head; convolutions keep their bias (instance norm has none). Weights start from N(0, 0.02).

Discriminator: pix2pix's PatchGAN (70x70 by default) on single images, instance norm.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.models.pix2pix import INIT, PatchDiscriminator, patch_output_size
from jaxgan.nn.basic import compute_dtype
from jaxgan.nn.instance_norm import has_bias_of_its_own, norm
from jaxgan.nn.padded_conv import Conv, ReflectConv, TransposedConv2x

NUM_SAMPLINGS = 2


class ResidualBlock(nn.Module):
  norm: str = "instance"
  dropout: float = 0.0
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = True):
    features = x.shape[-1]
    bias = not has_bias_of_its_own(self.norm)
    h = ReflectConv(features, 3, use_bias=bias, kernel_init=INIT, dtype=self.dtype)(x)
    h = nn.relu(norm(self.norm, train, self.dtype)(h))
    if self.dropout > 0:
      h = nn.Dropout(self.dropout, deterministic=not train)(h)
    h = ReflectConv(features, 3, use_bias=bias, kernel_init=INIT, dtype=self.dtype)(h)
    h = norm(self.norm, train, self.dtype)(h)
    return x + h


class ResnetGenerator(nn.Module):
  out_channels: int
  base_features: int = 64
  num_blocks: int = 9
  norm: str = "instance"
  dropout: float = 0.0  # the reference code's --no_dropout default: none
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = True):
    if x.shape[1] % 2**NUM_SAMPLINGS or x.shape[2] % 2**NUM_SAMPLINGS:
      raise ValueError(f"the ResNet generator needs sides divisible by {2**NUM_SAMPLINGS}, "
                       f"got {x.shape[1]}x{x.shape[2]}")
    bias = not has_bias_of_its_own(self.norm)
    features = self.base_features
    h = ReflectConv(features, 7, use_bias=bias, kernel_init=INIT, dtype=self.dtype,
                    name="stem")(x.astype(self.dtype))
    h = nn.relu(norm(self.norm, train, self.dtype)(h))
    for i in range(NUM_SAMPLINGS):
      features *= 2
      h = Conv(features, 3, 2, ((1, 1), (1, 1)), use_bias=bias, kernel_init=INIT,
               dtype=self.dtype, name=f"down{i}")(h)
      h = nn.relu(norm(self.norm, train, self.dtype)(h))
    for i in range(self.num_blocks):
      h = ResidualBlock(self.norm, self.dropout, self.dtype, name=f"block{i}")(h, train)
    for i in range(NUM_SAMPLINGS):
      features //= 2
      h = TransposedConv2x(features, 3, (1, 2), use_bias=bias, kernel_init=INIT,
                           dtype=self.dtype, name=f"up{i}")(h)
      h = nn.relu(norm(self.norm, train, self.dtype)(h))
    h = ReflectConv(self.out_channels, 7, kernel_init=INIT, dtype=self.dtype, name="head")(h)
    return jnp.tanh(h).astype(jnp.float32)


def build(config, info):
  """({'ab': G_AB, 'ba': G_BA}, D): D is one module, its two copies (D_A, D_B) are two sets of
  parameters."""
  dtype = compute_dtype(config.compute_dtype)
  g, d = config.generator, config.discriminator
  size = info.shape[0]
  if info.shape[:2] != info.target_shape[:2]:
    raise ValueError(f"the two domains must share one image size, got {info.shape} and "
                     f"{info.target_shape}")
  if size % 2**NUM_SAMPLINGS:
    raise ValueError(f"the ResNet generator needs an image size divisible by "
                     f"{2**NUM_SAMPLINGS}, got {size}")
  if size // 2**NUM_SAMPLINGS <= 1:
    raise ValueError(f"the ResNet generator's reflection padding needs images of at least "
                     f"{2 * 2**NUM_SAMPLINGS} pixels, got {size}")
  if patch_output_size(size, d.receptive_field) < 1:
    raise ValueError(f"a {d.receptive_field}x{d.receptive_field} PatchGAN needs images larger "
                     f"than {size}x{size}")
  def generator(out_channels):
    return ResnetGenerator(out_channels=out_channels, base_features=g.base_features,
                           num_blocks=g.num_blocks, norm=g.norm, dropout=g.dropout, dtype=dtype)
  discriminator = PatchDiscriminator(receptive_field=d.receptive_field,
                                     base_features=d.base_features,
                                     max_multiplier=d.max_multiplier, norm=d.norm, dtype=dtype)
  generators = {"ab": generator(info.target_shape[-1]), "ba": generator(info.shape[-1])}
  return generators, discriminator
