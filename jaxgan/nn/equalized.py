"""Equalised learning rate (Karras et al. 2017, section 4.1), with StyleGAN's lr multiplier.

Weights are stored as N(0, 1) / lr_mul and scaled at run time by gain / sqrt(fan_in) * lr_mul (He's
constant times the multiplier); the bias is stored as `bias_init` and multiplied by lr_mul at run
time, as in NVlabs/stylegan (bias initialised to zero there) and
stylegan2-ada-pytorch's FullyConnectedLayer (bias_init stored, bias_gain = lr_mul). With lr_mul =
0.01 (StyleGAN's mapping network) Adam's steps on the stored values move the effective weights 100x
more slowly.

`gain` is ProGAN/StyleGAN's: it goes into the weight scale (sqrt(2) before a (leaky) ReLU, 1
before a linear output). stylegan2-ada-pytorch instead multiplies the activation's output by
sqrt(2); for a positively homogeneous activation the two differ only in how the bias is
parameterised (b vs b * sqrt(2)), and jaxgan.models.stylegan2 uses gain=1 here and the sqrt(2)
after the activation, as that code does.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


def _std_normal_over(lr_mul: float):
  def init(key, shape, dtype=jnp.float32):
    return jax.random.normal(key, shape, dtype) / lr_mul
  return init


class EqualizedDense(nn.Module):
  """y = x @ (W * gain / sqrt(fan_in) * lr_mul) + b * lr_mul, with W ~ N(0, 1) / lr_mul stored."""

  features: int
  gain: float = 1.0
  lr_mul: float = 1.0
  use_bias: bool = True
  bias_init: float = 0.0  # the stored bias's initial value (StyleGAN2's style affines use 1)
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    fan_in = x.shape[-1]
    kernel = self.param("kernel", _std_normal_over(self.lr_mul), (fan_in, self.features),
                        jnp.float32)
    scale = self.gain / math.sqrt(fan_in) * self.lr_mul
    y = jnp.dot(x.astype(self.dtype), (kernel * scale).astype(self.dtype))
    if self.use_bias:
      bias = self.param("bias", nn.initializers.constant(self.bias_init), (self.features,),
                        jnp.float32)
      y = y + (bias * self.lr_mul).astype(self.dtype)
    return y


class EqualizedConv(nn.Module):
  """An NHWC convolution with an equalised kernel (fan_in = kh * kw * C_in), stride 1.

  padding: 'SAME' or 'VALID' or explicit pairs, as flax's Conv.
  """

  features: int
  kernel_size: Sequence[int] = (3, 3)
  gain: float = math.sqrt(2.0)
  lr_mul: float = 1.0
  use_bias: bool = True
  padding: str | Sequence[tuple[int, int]] = "SAME"
  strides: Sequence[int] = (1, 1)
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    kh, kw = self.kernel_size
    fan_in = kh * kw * x.shape[-1]
    kernel = self.param("kernel", _std_normal_over(self.lr_mul),
                        (kh, kw, x.shape[-1], self.features), jnp.float32)
    scale = self.gain / math.sqrt(fan_in) * self.lr_mul
    y = jax.lax.conv_general_dilated(
        x.astype(self.dtype), (kernel * scale).astype(self.dtype), tuple(self.strides),
        self.padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))
    if self.use_bias:
      bias = self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
      y = y + (bias * self.lr_mul).astype(self.dtype)
    return y
