"""Residual up- and down-sampling blocks of SN-GAN, SAGAN and BigGAN (Miyato et al. 2018's
ResNet blocks, with BigGAN's conditioning).

GBlock: CBN -> ReLU -> (2x nearest upsample) -> conv3x3 -> CBN -> ReLU -> conv3x3, plus a
shortcut (upsample -> conv1x1 when the channels change or the block upsamples).
DBlock: (ReLU) -> conv3x3 -> ReLU -> conv3x3 -> (2x2 average pool), plus a shortcut; the first
D block takes no pre-activation (its input is the image) and pools before its 1x1 shortcut
conv, the others convolve first (both orders as BigGAN-PyTorch).
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.nn.normalization import ConditionalBatchNorm
from jaxgan.nn.spectral import SNConv


def upsample2(x):
  """Nearest-neighbour 2x upsampling of NHWC."""
  b, h, w, c = x.shape
  x = jnp.broadcast_to(x[:, :, None, :, None, :], (b, h, 2, w, 2, c))
  return x.reshape(b, 2 * h, 2 * w, c)


def avg_pool2(x):
  return nn.avg_pool(x, (2, 2), strides=(2, 2))


def rematerialized(block_class, remat: bool):
  """`block_class`, or with remat its jax.checkpoint'ed form (config.remat): the block's inner
  activations are recomputed in the backward pass instead of kept from the forward, trading
  about one more forward pass of the block for their memory. Same parameters, names and
  values. The class names its static positional argument (a Python bool or string: train,
  update, noise_mode) in STATIC_ARGNUM, counting `self` as 0 as flax does."""
  if not remat:
    return block_class
  return nn.remat(block_class, static_argnums=(block_class.STATIC_ARGNUM,))


class GBlock(nn.Module):
  STATIC_ARGNUM = 3  # __call__(self, x, cond, train)
  features: int
  upsample: bool = True
  num_classes: int = 0  # > 0 when the conditioning is integer labels (SAGAN's per-class BN)
  use_sn: bool = True
  bn_momentum: float = 0.9
  bn_epsilon: float = 1e-5
  kernel_init: nn.initializers.Initializer = nn.initializers.orthogonal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, cond, train: bool):
    norm = lambda name: ConditionalBatchNorm(
        num_classes=self.num_classes, use_sn=self.use_sn, momentum=self.bn_momentum,
        epsilon=self.bn_epsilon, kernel_init=self.kernel_init, dtype=self.dtype, name=name)
    conv = lambda features, size, name: SNConv(features, (size, size), use_sn=self.use_sn,
                                               kernel_init=self.kernel_init, dtype=self.dtype,
                                               name=name)
    x = x.astype(self.dtype)
    h = nn.relu(norm("bn1")(x, cond, train))
    if self.upsample:
      h, x = upsample2(h), upsample2(x)
    h = conv(self.features, 3, "conv1")(h, train)
    h = nn.relu(norm("bn2")(h, cond, train))
    h = conv(self.features, 3, "conv2")(h, train)
    if x.shape[-1] != self.features or self.upsample:
      x = conv(self.features, 1, "shortcut")(x, train)
    return h + x


class DBlock(nn.Module):
  STATIC_ARGNUM = 2  # __call__(self, x, update)
  features: int
  downsample: bool = True
  preactivation: bool = True  # False for the first block, which sees the image
  hidden_features: int = 0  # 0: features (BigGAN's "wide" D blocks)
  use_sn: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.orthogonal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, update: bool = True):
    conv = lambda features, size, name: SNConv(features, (size, size), use_sn=self.use_sn,
                                               kernel_init=self.kernel_init, dtype=self.dtype,
                                               name=name)
    x = x.astype(self.dtype)
    h = nn.relu(x) if self.preactivation else x
    h = conv(self.hidden_features or self.features, 3, "conv1")(h, update)
    h = conv(self.features, 3, "conv2")(nn.relu(h), update)
    if self.downsample:
      h = avg_pool2(h)
    learnable = x.shape[-1] != self.features or self.downsample
    if self.preactivation:
      if learnable:
        x = conv(self.features, 1, "shortcut")(x, update)
      if self.downsample:
        x = avg_pool2(x)
    else:
      if self.downsample:
        x = avg_pool2(x)
      if learnable:
        x = conv(self.features, 1, "shortcut")(x, update)
    return h + x
