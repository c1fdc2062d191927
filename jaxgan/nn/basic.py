"""Small pieces several papers use: activations by name, normalisation by name, dtypes."""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

ACTIVATIONS = {
    "relu": nn.relu,
    "leaky_relu": functools.partial(nn.leaky_relu, negative_slope=0.2),
    "tanh": jnp.tanh,
    "elu": nn.elu,
}


def activation(name: str):
  return ACTIVATIONS[name]


def maxout(x, pieces: int):
  """Goodfellow et al. 2013: the max over `pieces` linear units (last axis split into groups)."""
  return jnp.max(x.reshape(x.shape[:-1] + (x.shape[-1] // pieces, pieces)), axis=-1)


class BatchNorm(nn.Module):
  """Batch norm over every axis but the last: flax's nn.BatchNorm (same parameters 'scale',
  'bias' and statistics 'mean', 'var' in 'batch_stats'), except that the running variance is
  updated with the unbiased batch variance (n / (n - 1) times the one that normalises), as
  PyTorch's BatchNorm does, so networks converted from PyTorch keep their statistics' meaning
  and one training call updates them as the reference would.

  momentum is the running averages' decay (PyTorch's momentum is 1 - this); 0 stores the
  batch's own statistics.
  """

  use_running_average: bool = False
  momentum: float = 0.9
  epsilon: float = 1e-5
  use_scale: bool = True
  use_bias: bool = True
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    features = x.shape[-1]
    ra_mean = self.variable("batch_stats", "mean", jnp.zeros, (features,), jnp.float32)
    ra_var = self.variable("batch_stats", "var", jnp.ones, (features,), jnp.float32)
    x32 = x.astype(jnp.float32)
    if self.use_running_average:
      mean, var = ra_mean.value, ra_var.value
    else:
      axes = tuple(range(x.ndim - 1))
      mean = jnp.mean(x32, axes)
      var = jnp.mean(jnp.square(x32 - mean), axes)
      n = x.size // features
      if not self.is_initializing():
        ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * mean
        ra_var.value = (self.momentum * ra_var.value
                        + (1 - self.momentum) * var * (n / max(n - 1, 1)))
    y = (x32 - mean) * jax.lax.rsqrt(var + self.epsilon)
    if self.use_scale:
      y = y * self.param("scale", nn.initializers.ones, (features,), jnp.float32)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (features,), jnp.float32)
    return y.astype(self.dtype)


def norm_layer(kind: str, train: bool, dtype, name: str | None = None, momentum: float = 0.9):
  """A normalisation layer by name; 'none' is the identity.

  momentum: of batch norm's running averages (0 stores the batch's own statistics, which the
  standing statistics use).

  BatchNorm runs on the global batch (jit over a data-sharded mesh), so its statistics are
  cross-replica without any extra code.
  """
  if kind == "batch":
    return BatchNorm(use_running_average=not train, momentum=momentum, epsilon=1e-5, dtype=dtype,
                     name=name)
  if kind == "layer":
    # Over (H, W, C) of a feature map, as WGAN-GP's critic uses it; a gain per channel.
    return nn.LayerNorm(epsilon=1e-5, reduction_axes=(-3, -2, -1), dtype=dtype, name=name)
  if kind == "none":
    return lambda x: x
  raise ValueError(f"unknown normalisation {kind!r}")


def compute_dtype(name: str):
  return {"float32": jnp.float32, "bfloat16": jnp.bfloat16}[name]
