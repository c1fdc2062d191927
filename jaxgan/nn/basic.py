"""Small pieces several papers use: activations by name, normalisation by name, dtypes."""

from __future__ import annotations

import functools

import flax.linen as nn
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


def norm_layer(kind: str, train: bool, dtype, name: str | None = None, momentum: float = 0.9):
  """A normalisation layer by name; 'none' is the identity.

  momentum: of batch norm's running averages (0 stores the batch's own statistics, which the
  standing statistics use).

  BatchNorm runs on the global batch (jit over a data-sharded mesh), so its statistics are
  cross-replica without any extra code.
  """
  if kind == "batch":
    return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=1e-5, dtype=dtype,
                        name=name)
  if kind == "layer":
    # Over (H, W, C) of a feature map, as WGAN-GP's critic uses it; a gain per channel.
    return nn.LayerNorm(epsilon=1e-5, reduction_axes=(-3, -2, -1), dtype=dtype, name=name)
  if kind == "none":
    return lambda x: x
  raise ValueError(f"unknown normalisation {kind!r}")


def compute_dtype(name: str):
  return {"float32": jnp.float32, "bfloat16": jnp.bfloat16}[name]
