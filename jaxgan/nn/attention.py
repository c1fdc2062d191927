"""The self-attention block of SAGAN (Zhang et al. 2018), as BigGAN also uses it.

For a feature map x (B, H, W, C): queries f(x) with C/8 channels; keys g(x) (C/8) and values
h(x) (C/2) max-pooled 2x2, which cuts the cost by 4 without changing the result much (the
official SAGAN and BigGAN code do this); softmax over the keys; a 1x1 convolution back to C
channels; and y = x + gamma * o with the learnable scalar gamma starting at 0, so the block is
the identity at initialisation and the network learns to lean on non-local evidence gradually.
All 1x1 convolutions are bias-free and spectrally normalised when use_sn.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.nn.spectral import SNConv


def _max_pool2(x):
  return nn.max_pool(x, (2, 2), strides=(2, 2))


class SelfAttention(nn.Module):
  use_sn: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.orthogonal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, update: bool = True):
    b, h, w, c = x.shape
    if c < 8 or h % 2 or w % 2:
      raise ValueError(f"self-attention needs >= 8 channels and an even size, got {x.shape}")
    conv = lambda features, name: SNConv(features, (1, 1), use_bias=False, use_sn=self.use_sn,
                                         kernel_init=self.kernel_init, dtype=self.dtype,
                                         name=name)
    x = x.astype(self.dtype)
    theta = conv(c // 8, "theta")(x, update).reshape(b, h * w, c // 8)
    phi = _max_pool2(conv(c // 8, "phi")(x, update)).reshape(b, h * w // 4, c // 8)
    g = _max_pool2(conv(c // 2, "g")(x, update)).reshape(b, h * w // 4, c // 2)
    logits = jnp.einsum("bqc,bkc->bqk", theta, phi, preferred_element_type=jnp.float32)
    attention = jax.nn.softmax(logits, axis=-1).astype(self.dtype)
    o = jnp.einsum("bqk,bkc->bqc", attention, g).reshape(b, h, w, c // 2)
    o = conv(c, "o")(o, update)
    gamma = self.param("gamma", nn.initializers.zeros, (), jnp.float32)
    return x + gamma.astype(self.dtype) * o
