"""CGAN (Mirza & Osindero 2014): the label is fed to both G and D.

As in the paper's MNIST model, z and the one-hot label first pass through their own hidden
layers, which are then concatenated and processed jointly (G: ReLU; D: maxout); dropout after
every hidden layer of both (the paper: "dropout with probability of 0.5 was applied to both the
generator and discriminator"), in training only.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.nn.basic import activation, compute_dtype, maxout


class ConditionalMLPGenerator(nn.Module):
  out_shape: Sequence[int]
  num_classes: int
  z_hidden: int = 200
  label_hidden: int = 1000
  joint_hidden: Sequence[int] = (1200,)
  act: str = "relu"
  output: str = "tanh"
  dropout: float = 0.0
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, z, labels, train: bool = True):
    act = activation(self.act)

    def unit(h, width):
      h = act(nn.Dense(width, dtype=self.dtype)(h))
      return nn.Dropout(self.dropout, deterministic=not train)(h) if self.dropout > 0 else h

    y = jax.nn.one_hot(labels, self.num_classes, dtype=self.dtype)
    h = jnp.concatenate([unit(z.astype(self.dtype), self.z_hidden),
                         unit(y, self.label_hidden)], axis=-1)
    for width in self.joint_hidden:
      h = unit(h, width)
    h = nn.Dense(int(np.prod(self.out_shape)), dtype=self.dtype)(h)
    if self.output == "tanh":
      h = jnp.tanh(h)
    return h.astype(jnp.float32).reshape((z.shape[0],) + tuple(self.out_shape))


class ConditionalMLPDiscriminator(nn.Module):
  num_classes: int
  x_hidden: int = 240
  label_hidden: int = 50
  joint_hidden: Sequence[int] = (240,)
  maxout_pieces: int = 5
  dropout: float = 0.5
  act: str = "leaky_relu"
  dtype: jnp.dtype = jnp.float32

  def _unit(self, h, width, train):
    if self.maxout_pieces > 1:
      h = maxout(nn.Dense(width * self.maxout_pieces, dtype=self.dtype)(h), self.maxout_pieces)
    else:
      h = activation(self.act)(nn.Dense(width, dtype=self.dtype)(h))
    return nn.Dropout(self.dropout, deterministic=not train)(h) if self.dropout > 0 else h

  @nn.compact
  def __call__(self, x, labels, train: bool = True):
    y = jax.nn.one_hot(labels, self.num_classes, dtype=self.dtype)
    h = jnp.concatenate([self._unit(x.reshape(x.shape[0], -1).astype(self.dtype),
                                    self.x_hidden, train),
                         self._unit(y, self.label_hidden, train)], axis=-1)
    for width in self.joint_hidden:
      h = self._unit(h, width, train)
    return nn.Dense(1, dtype=self.dtype)(h)[:, 0].astype(jnp.float32)


def build(config, info):
  g, d = config.generator, config.discriminator
  dtype = compute_dtype(config.compute_dtype)
  output = "linear" if info.kind == "points" else "tanh"
  generator = ConditionalMLPGenerator(
      out_shape=info.shape, num_classes=info.num_classes, z_hidden=g.z_hidden,
      label_hidden=g.label_hidden, joint_hidden=tuple(g.joint_hidden), act=g.act, output=output,
      dropout=g.get("dropout", 0.0), dtype=dtype)
  discriminator = ConditionalMLPDiscriminator(
      num_classes=info.num_classes, x_hidden=d.x_hidden, label_hidden=d.label_hidden,
      joint_hidden=tuple(d.joint_hidden), maxout_pieces=d.maxout_pieces, dropout=d.dropout,
      act=d.act, dtype=dtype)
  return generator, discriminator
