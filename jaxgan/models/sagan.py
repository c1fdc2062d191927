"""SAGAN (Zhang et al. 2018): residual G and D with self-attention and spectral norm in both.

G: z -> SN linear -> 4x4 x (ch * m0), residual up-blocks (2x each) with class-conditional BN (a
gain and bias per class), a self-attention block after the block that reaches each attention
resolution, then BN -> ReLU -> SN conv3x3 -> tanh. D: residual down-blocks (the first without
pre-activation), self-attention at its resolutions, ReLU, global sum pooling, and the projection
head psi(h) + <embed(y), h>. Hinge loss, TTUR (G 1e-4, D 4e-4), Adam beta=(0, 0.9): see
configs/sagan_*.py.

At 128x128 (the paper's ImageNet model, as in the official TensorFlow code): G with ch=64 and
multipliers (16, 16, 8, 4, 2, 1), attention at 32x32; D with ch=64 and multipliers (1, 2, 4, 8,
16, 16), downsampling in all but the last block, attention at 32x32; z of 128.

The discriminator is also BigGAN's (jaxgan.models.biggan), with BigGAN's widths.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.nn.attention import SelfAttention
from jaxgan.nn.basic import compute_dtype
from jaxgan.nn.conditioning import ProjectionHead
from jaxgan.nn.normalization import ConditionalBatchNorm
from jaxgan.nn.resblocks import DBlock, GBlock, rematerialized
from jaxgan.nn.spectral import SNConv, SNDense

INITS = {
    "orthogonal": nn.initializers.orthogonal(),  # BigGAN
    "glorot": nn.initializers.xavier_uniform(),  # SAGAN
    "normal": nn.initializers.normal(0.02),
}


def num_up_blocks(image_size: int) -> int:
  blocks = int(round(math.log2(image_size / 4)))
  if image_size < 8 or 4 * 2**blocks != image_size:
    raise ValueError(f"needs an image size of 4*2^k >= 8, got {image_size}")
  return blocks


def check_multipliers(multipliers: Sequence[int], image_size: int, who: str):
  blocks = num_up_blocks(image_size)
  if len(multipliers) != blocks + 1:
    raise ValueError(f"{who} channel_multipliers {tuple(multipliers)} need {blocks + 1} entries "
                     f"(the 4x4 input and one per up-block) for {image_size}x{image_size}")


class SAGANGenerator(nn.Module):
  image_size: int
  channels: int
  num_classes: int = 0
  ch: int = 64
  channel_multipliers: Sequence[int] = (16, 16, 8, 4, 2, 1)
  attention_resolutions: Sequence[int] = (32,)
  use_sn: bool = True
  bn_momentum: float = 0.9  # 0: store the batch statistics themselves (standing statistics)
  weight_init: str = "glorot"
  remat: bool = False  # jax.checkpoint per residual block (config.remat)
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, z, labels=None, train: bool = True):
    check_multipliers(self.channel_multipliers, self.image_size, "generator")
    kinit = INITS[self.weight_init]
    cond = labels if self.num_classes else None
    block = rematerialized(GBlock, self.remat)
    widths = [self.ch * m for m in self.channel_multipliers]
    h = SNDense(4 * 4 * widths[0], use_sn=self.use_sn, kernel_init=kinit, dtype=self.dtype,
                name="input")(z.astype(self.dtype), train)
    h = h.reshape(z.shape[0], 4, 4, widths[0])
    for i, width in enumerate(widths[1:]):
      h = block(width, upsample=True, num_classes=self.num_classes, use_sn=self.use_sn,
                 bn_momentum=self.bn_momentum, kernel_init=kinit, dtype=self.dtype,
                 name=f"block{i}")(h, cond, train)
      if h.shape[1] in self.attention_resolutions:
        h = SelfAttention(use_sn=self.use_sn, kernel_init=kinit, dtype=self.dtype,
                          name=f"attention{h.shape[1]}")(h, train)
    h = nn.relu(ConditionalBatchNorm(momentum=self.bn_momentum, dtype=self.dtype,
                                     name="output_bn")(h, None, train))
    h = SNConv(self.channels, (3, 3), use_sn=self.use_sn, kernel_init=kinit, dtype=self.dtype,
               name="output")(h, train)
    return jnp.tanh(h.astype(jnp.float32))


class SAGANDiscriminator(nn.Module):
  """The projection discriminator of SAGAN and BigGAN."""

  num_classes: int = 0
  ch: int = 64
  channel_multipliers: Sequence[int] = (1, 2, 4, 8, 16, 16)
  downsample: Sequence[bool] = ()  # per block; () = all but the last
  attention_resolutions: Sequence[int] = (32,)
  use_sn: bool = True
  weight_init: str = "glorot"
  remat: bool = False  # jax.checkpoint per residual block (config.remat)
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, labels=None, train: bool = True):
    kinit = INITS[self.weight_init]
    block = rematerialized(DBlock, self.remat)
    blocks = len(self.channel_multipliers)
    downsample = tuple(self.downsample) or (True,) * (blocks - 1) + (False,)
    if len(downsample) != blocks:
      raise ValueError(f"discriminator downsample {downsample} needs {blocks} entries")
    # Attention goes after the first block whose output has an attention resolution.
    attend_after, size = {}, x.shape[1]
    for i, down in enumerate(downsample):
      size = size // 2 if down else size
      if size in self.attention_resolutions and size not in attend_after.values():
        attend_after[i] = size
    h = x.astype(self.dtype)
    for i, (m, down) in enumerate(zip(self.channel_multipliers, downsample)):
      h = block(self.ch * m, downsample=down, preactivation=i > 0, use_sn=self.use_sn,
                 kernel_init=kinit, dtype=self.dtype, name=f"block{i}")(h, train)
      if i in attend_after:
        h = SelfAttention(use_sn=self.use_sn, kernel_init=kinit, dtype=self.dtype,
                          name=f"attention{h.shape[1]}")(h, train)
    h = jnp.sum(nn.relu(h).astype(jnp.float32), axis=(1, 2))
    return ProjectionHead(self.num_classes if labels is not None else 0, use_sn=self.use_sn,
                          kernel_init=kinit, name="head")(h, labels, train)


def build(config, info):
  g, d = config.generator, config.discriminator
  dtype = compute_dtype(config.compute_dtype)
  size, _, channels = info.shape
  num_classes = info.num_classes if config.conditional else 0
  generator = SAGANGenerator(
      image_size=size, channels=channels, num_classes=num_classes, ch=g.ch,
      channel_multipliers=tuple(g.channel_multipliers),
      attention_resolutions=tuple(g.attention_resolutions), use_sn=g.spectral_norm,
      weight_init=g.init, remat=config.get("remat", False), dtype=dtype)
  discriminator = SAGANDiscriminator(
      num_classes=num_classes, ch=d.ch, channel_multipliers=tuple(d.channel_multipliers),
      downsample=tuple(d.downsample), attention_resolutions=tuple(d.attention_resolutions),
      use_sn=d.spectral_norm, weight_init=d.init, remat=config.get("remat", False), dtype=dtype)
  return generator, discriminator
