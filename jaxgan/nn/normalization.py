"""Batch normalisation with class-conditional gain and bias (de Vries et al. 2017, Dumoulin et
al. 2017), as SN-GAN/SAGAN (a gain and bias per class) and BigGAN (gain and bias as linear
functions of a conditioning vector) use it.

The normalisation itself is flax's BatchNorm without its own affine, over the global batch
(jit over a data-sharded mesh: BigGAN's cross-replica BN with no extra code). `momentum` is the
running averages' decay; a generator that builds its norms with momentum 0 makes one training
mode call store the batch statistics themselves, which is how standing statistics are gathered
(jaxgan.train.adversarial.standing_statistics). The running variance is updated with the
unbiased batch variance, as in PyTorch (jaxgan.nn.basic.BatchNorm).
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.nn.basic import BatchNorm
from jaxgan.nn.spectral import SNDense


class ConditionalBatchNorm(nn.Module):
  """BN(x) * gain(c) + bias(c) for NHWC x.

  cond: None (an ordinary BN: a learned gain and bias per channel); int labels (B,) (a gain and
  bias per class and channel, gains starting at 1); or a float vector (B, D) (gain = 1 +
  W_g c, bias = W_b c, bias-free linear maps, spectrally normalised when use_sn: BigGAN).
  """

  num_classes: int = 0
  use_sn: bool = True
  momentum: float = 0.9
  epsilon: float = 1e-5
  kernel_init: nn.initializers.Initializer = nn.initializers.orthogonal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, cond, train: bool):
    features = x.shape[-1]
    h = BatchNorm(use_running_average=not train, use_scale=False, use_bias=False,
                     momentum=self.momentum, epsilon=self.epsilon, dtype=self.dtype,
                     name="bn")(x)
    if cond is None:
      gain = self.param("gain", nn.initializers.ones, (features,), jnp.float32)[None]
      bias = self.param("bias", nn.initializers.zeros, (features,), jnp.float32)[None]
    elif jnp.issubdtype(cond.dtype, jnp.integer):
      if not self.num_classes:
        raise ValueError("class-conditional BN got labels but num_classes=0")
      gain = nn.Embed(self.num_classes, features, embedding_init=nn.initializers.ones,
                      name="gain")(cond)
      bias = nn.Embed(self.num_classes, features, embedding_init=nn.initializers.zeros,
                      name="bias")(cond)
    else:
      dense = lambda name: SNDense(features, use_bias=False, use_sn=self.use_sn,
                                   kernel_init=self.kernel_init, dtype=jnp.float32, name=name)
      gain = 1.0 + dense("gain")(cond, train)
      bias = dense("bias")(cond, train)
    gain = gain.astype(self.dtype)[:, None, None, :]
    bias = bias.astype(self.dtype)[:, None, None, :]
    return h * gain + bias
