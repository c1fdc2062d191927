"""Instance normalisation (Ulyanov et al. 2016), and normalisation layers by name including it.

Instance norm normalises each example's feature map per channel over its spatial axes, so an
image's output never depends on the rest of the batch. CycleGAN uses it everywhere (without the
affine gain and bias: PyTorch's `InstanceNorm2d(affine=False)`, the reference code's choice);
pix2pix offers it as the alternative to batch norm.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.nn.basic import norm_layer

NORMS = ("batch", "instance", "layer", "none")


class InstanceNorm(nn.Module):
  """(x - mean_hw) / sqrt(var_hw + eps) for NHWC x, statistics in float32; optional affine."""

  affine: bool = False
  epsilon: float = 1e-5
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    x32 = x.astype(jnp.float32)
    mean = jnp.mean(x32, axis=(1, 2), keepdims=True)
    var = jnp.mean(jnp.square(x32 - mean), axis=(1, 2), keepdims=True)
    y = (x32 - mean) * jax.lax.rsqrt(var + self.epsilon)
    if self.affine:
      features = x.shape[-1]
      y = y * self.param("scale", nn.initializers.ones, (features,), jnp.float32)
      y = y + self.param("bias", nn.initializers.zeros, (features,), jnp.float32)
    return y.astype(self.dtype)


def norm(kind: str, train: bool, dtype, name: str | None = None):
  """'batch', 'instance', 'layer' or 'none' (identity) as a layer; see basic.norm_layer."""
  if kind == "instance":
    return InstanceNorm(dtype=dtype, name=name)
  if kind not in NORMS:
    raise ValueError(f"unknown normalisation {kind!r}; expected one of {NORMS}")
  return norm_layer(kind, train, dtype, name=name)


def has_bias_of_its_own(kind: str) -> bool:
  """Whether the norm adds a learned bias, making the preceding conv's bias redundant."""
  return kind in ("batch", "layer")
