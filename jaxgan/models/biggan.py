"""BigGAN (Brock et al. 2018).

G: z is split into equal chunks (hierarchical latents), one for the input layer and one per
up-block; each block's conditional BNs take [shared class embedding, its z chunk] through
bias-free SN linear maps (gain = 1 + W_g c, bias = W_b c); with shared_dim = 0 (BigGAN-PyTorch
without --G_shared, as its CIFAR runs) a gain and bias per class instead. Residual up-blocks, self-attention at
the configured resolutions, BN -> ReLU -> SN conv3x3 -> tanh. Spectral norm in G and D,
orthogonal initialisation. D: SAGAN's projection discriminator with BigGAN's widths
(jaxgan.models.sagan.SAGANDiscriminator).

The paper's architectures (BigGAN-PyTorch's G_arch/D_arch; ch = 96 at 128x128):

| size | G multipliers (4x4 input, then per block) | D multipliers | D downsamples | attention |
|---|---|---|---|---|
| 32  | (4, 4, 4, 4)            | (4, 4, 4, 4)           | T T F F       | per config |
| 64  | (16, 16, 8, 4, 2)       | (1, 2, 4, 8, 16)       | all           | 32 |
| 128 | (16, 16, 8, 4, 2, 1)    | (1, 2, 4, 8, 16, 16)   | all but last  | 64 |
| 256 | (16, 16, 8, 8, 4, 2, 1) | (1, 2, 4, 8, 8, 16, 16)| all but last  | 64 |

At 128x128 with 1000 classes, z of 120 (6 chunks of 20) and a 128-d shared embedding this gives
the paper's 70.4M G parameters (70,433,988) and 87,983,370 for D (tests/test_biggan.py).

The orthogonal regulariser, hinge loss, 2 D steps per G step, the EMA of G with a start step,
the truncation trick and standing statistics live in the trainer and configs/biggan_*.py.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.models.sagan import INITS, SAGANDiscriminator, check_multipliers
from jaxgan.nn.attention import SelfAttention
from jaxgan.nn.basic import compute_dtype
from jaxgan.nn.conditioning import block_conditions, split_latents
from jaxgan.nn.normalization import ConditionalBatchNorm
from jaxgan.nn.resblocks import GBlock, rematerialized
from jaxgan.nn.spectral import SNConv, SNDense


class BigGANGenerator(nn.Module):
  image_size: int
  channels: int
  num_classes: int = 0
  ch: int = 96
  channel_multipliers: Sequence[int] = (16, 16, 8, 4, 2, 1)
  attention_resolutions: Sequence[int] = (64,)
  shared_dim: int = 128  # the shared class embedding; 0: none, a gain and bias per class
  hierarchical: bool = True
  use_sn: bool = True
  bn_momentum: float = 0.9  # 0: store the batch statistics themselves (standing statistics)
  weight_init: str = "orthogonal"
  remat: bool = False  # jax.checkpoint per residual block (config.remat)
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, z, labels=None, train: bool = True):
    check_multipliers(self.channel_multipliers, self.image_size, "generator")
    block = rematerialized(GBlock, self.remat)
    kinit = INITS[self.weight_init]
    widths = [self.ch * m for m in self.channel_multipliers]
    num_blocks = len(widths) - 1
    shared = None
    per_class = self.num_classes and not self.shared_dim
    if per_class and self.hierarchical:
      raise ValueError("hierarchical latents need the shared class embedding (shared_dim > 0)")
    if self.num_classes and self.shared_dim:
      shared = nn.Embed(self.num_classes, self.shared_dim, embedding_init=kinit,
                        name="shared")(labels).astype(jnp.float32)
    if per_class:  # BigGAN-PyTorch without G_shared (its CIFAR runs): BN gains per class
      z_in, conds = z.astype(jnp.float32), [labels] * num_blocks
    elif self.hierarchical:
      chunks = split_latents(z.astype(jnp.float32), num_blocks + 1)
      z_in, conds = chunks[0], block_conditions(chunks[1:], shared)
    else:
      z_in = z.astype(jnp.float32)
      conds = [shared] * num_blocks
    h = SNDense(4 * 4 * widths[0], use_sn=self.use_sn, kernel_init=kinit, dtype=self.dtype,
                name="input")(z_in, train)
    h = h.reshape(z.shape[0], 4, 4, widths[0])
    for i, width in enumerate(widths[1:]):
      h = block(width, upsample=True, num_classes=self.num_classes if per_class else 0,
                 use_sn=self.use_sn, bn_momentum=self.bn_momentum,
                 kernel_init=kinit, dtype=self.dtype, name=f"block{i}")(h, conds[i], train)
      if h.shape[1] in self.attention_resolutions:
        h = SelfAttention(use_sn=self.use_sn, kernel_init=kinit, dtype=self.dtype,
                          name=f"attention{h.shape[1]}")(h, train)
    h = nn.relu(ConditionalBatchNorm(momentum=self.bn_momentum, dtype=self.dtype,
                                     name="output_bn")(h, None, train))
    h = SNConv(self.channels, (3, 3), use_sn=self.use_sn, kernel_init=kinit, dtype=self.dtype,
               name="output")(h, train)
    return jnp.tanh(h.astype(jnp.float32))


def build(config, info):
  g, d = config.generator, config.discriminator
  dtype = compute_dtype(config.compute_dtype)
  size, _, channels = info.shape
  num_classes = info.num_classes if config.conditional else 0
  generator = BigGANGenerator(
      image_size=size, channels=channels, num_classes=num_classes, ch=g.ch,
      channel_multipliers=tuple(g.channel_multipliers),
      attention_resolutions=tuple(g.attention_resolutions), shared_dim=g.shared_dim,
      hierarchical=g.hierarchical, use_sn=g.spectral_norm, weight_init=g.init,
      remat=config.get("remat", False), dtype=dtype)
  discriminator = SAGANDiscriminator(
      num_classes=num_classes, ch=d.ch, channel_multipliers=tuple(d.channel_multipliers),
      downsample=tuple(d.downsample), attention_resolutions=tuple(d.attention_resolutions),
      use_sn=d.spectral_norm, weight_init=d.init, remat=config.get("remat", False), dtype=dtype)
  return generator, discriminator
