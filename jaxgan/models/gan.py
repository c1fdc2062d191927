"""GAN (Goodfellow et al. 2014): multilayer perceptrons for G and D.

The paper's MNIST G is ReLU layers with a sigmoid output on [0, 1] pixels; ours are in [-1, 1]
and its output is tanh, which is the same family (tanh(a) = 2 sigmoid(2a) - 1, the factors taken
up by the last layer's weights). Its D is maxout layers with dropout on every layer's input
(0.2 on the pixels, 0.5 elsewhere). Both are options here, so the digits configs and the 2-D
mixtures share one definition.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from jaxgan.nn.basic import activation, compute_dtype, maxout


class MLPGenerator(nn.Module):
  """z -> hidden ReLU layers -> output of `out_shape` (tanh for images, linear for points)."""

  out_shape: Sequence[int]
  hidden: Sequence[int] = (256, 256)
  act: str = "relu"
  output: str = "tanh"  # 'tanh' for images in [-1, 1], 'linear' for unbounded points
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, z, labels=None, train: bool = True):
    del labels, train
    h = z.astype(self.dtype)
    for width in self.hidden:
      h = activation(self.act)(nn.Dense(width, dtype=self.dtype)(h))
    h = nn.Dense(int(np.prod(self.out_shape)), dtype=self.dtype)(h)
    if self.output == "tanh":
      h = jnp.tanh(h)
    return h.astype(jnp.float32).reshape((z.shape[0],) + tuple(self.out_shape))


class MLPDiscriminator(nn.Module):
  """x -> hidden layers (maxout or an activation, optional dropout) -> one logit per example."""

  hidden: Sequence[int] = (256, 256)
  act: str = "leaky_relu"
  maxout_pieces: int = 0  # >1 uses maxout units as in the paper
  dropout: float = 0.0  # after every hidden layer
  input_dropout: float = 0.0  # on D's input pixels (the paper's MNIST D: 0.2)
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, labels=None, train: bool = True):
    del labels
    h = x.reshape(x.shape[0], -1).astype(self.dtype)
    if self.input_dropout > 0:
      h = nn.Dropout(self.input_dropout, deterministic=not train)(h)
    for width in self.hidden:
      if self.maxout_pieces > 1:
        h = maxout(nn.Dense(width * self.maxout_pieces, dtype=self.dtype)(h), self.maxout_pieces)
      else:
        h = activation(self.act)(nn.Dense(width, dtype=self.dtype)(h))
      if self.dropout > 0:
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
    return nn.Dense(1, dtype=self.dtype)(h)[:, 0].astype(jnp.float32)


def build(config, info):
  g, d = config.generator, config.discriminator
  dtype = compute_dtype(config.compute_dtype)
  output = "linear" if info.kind == "points" else "tanh"
  generator = MLPGenerator(out_shape=info.shape, hidden=tuple(g.hidden), act=g.act,
                           output=output, dtype=dtype)
  discriminator = MLPDiscriminator(hidden=tuple(d.hidden), act=d.act,
                                   maxout_pieces=d.maxout_pieces, dropout=d.dropout,
                                   input_dropout=d.get("input_dropout", 0.0), dtype=dtype)
  return generator, discriminator

