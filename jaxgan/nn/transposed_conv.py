"""A 4x4, stride-2 fractionally-strided convolution with a kernel gradient XLA's CPU backend runs
fast.

The same function and parameters as flax's `nn.ConvTranspose(features, (4, 4), strides=(2, 2),
padding='SAME')` (tested equal, values and gradients). Only the backward pass differs: XLA CPU
computes a transposed convolution's kernel gradient on a slow generic path, so it is written as
what it equals, the kernel gradient of the stride-2 convolution that maps the cotangent back to
the input's shape, which runs on the fast convolution kernels (about 2.4x faster for DCGAN's G).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.nn import backend

_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def _conv_transpose(x, kernel):
  return jax.lax.conv_transpose(x, kernel, (2, 2), "SAME", dimension_numbers=_DIMENSIONS)


@jax.custom_vjp
def up_conv(x, kernel):
  """x (N, H, W, Cin), kernel (4, 4, Cin, Cout) -> (N, 2H, 2W, Cout)."""
  return _conv_transpose(x, kernel)


def _up_conv_fwd(x, kernel):
  return _conv_transpose(x, kernel), (x, kernel)


def _up_conv_bwd(residuals, g):
  x, kernel = residuals
  dx = jax.vjp(lambda x_: _conv_transpose(x_, kernel), x)[1](g)[0]
  # dk[t, ci, co] = sum over n, i of x[n, i, ci] g[n, 2i + c - t, co]: the kernel gradient of the
  # stride-2 convolution of g, with the taps reversed and the channel axes swapped.
  def strided(w):
    return jax.lax.conv_general_dilated(g, w, (2, 2), ((1, 1), (1, 1)),
                                        dimension_numbers=_DIMENSIONS)
  w0 = jnp.zeros((4, 4, kernel.shape[3], kernel.shape[2]), kernel.dtype)
  dw = jax.vjp(strided, w0)[1](x)[0]
  return dx, jnp.flip(dw, (0, 1)).transpose(0, 1, 3, 2)


up_conv.defvjp(_up_conv_fwd, _up_conv_bwd)


class FractionallyStridedConv(nn.Module):
  features: int
  use_bias: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    kernel = self.param("kernel", self.kernel_init, (4, 4, x.shape[-1], self.features),
                        jnp.float32)
    conv = up_conv if backend.use_cpu_workarounds() else _conv_transpose
    y = conv(x.astype(self.dtype), kernel.astype(self.dtype))
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32).astype(
          self.dtype)
    return y
