"""Spectral normalisation (Miyato et al. 2018) as SN-GAN, SAGAN and BigGAN use it.

The layer's weight W is a plain parameter that is never overwritten: every call divides it by an
estimate of its largest singular value, sigma(W), computed on the fly by power iteration from a
vector u kept in its own collection, 'spectral' (not 'params', not 'batch_stats'):

- training (`update=True`): `n_steps` power iterations from the stored u; the new u is written
  back (the caller makes 'spectral' mutable), so the estimate sharpens from update to update.
  The train step's update phases give every call of one optimiser update (real and fake,
  each micro-batch) the u the update started from (jaxgan.train.networks.keep_spectral), so
  an update advances u by n_steps iterations, as the reference's single D call does;
- evaluation (`update=False`): one iteration from the stored u, which is not written back, so
  evaluation is a pure function of (params, spectral state). sigma is recomputed from the weight
  it is applied to rather than stored, so the EMA generator (whose weights differ slightly from
  the trained G that owns u) is normalised by its own sigma, as in BigGAN-PyTorch.

u and v carry no gradient (stop_gradient): the gradient flows through W in sigma = v^T W u,
which is the paper's treatment. The iteration runs in float32 whatever the compute dtype.

As in BigGAN-PyTorch, the weight is divided by sigma itself; eps (its SN_eps) only floors the
norms by which the power iteration's vectors are normalised, so weights converted from it
reproduce its outputs. The projection discriminator's embedding keeps u on the class side, as
BigGAN-PyTorch's SNEmbedding does.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

COLLECTION = "spectral"
EPS = 1e-12


def _l2_normalize(x, eps=EPS):
  return x * jax.lax.rsqrt(jnp.maximum(jnp.sum(x * x), eps * eps))


def as_matrix(kernel):
  """A dense (in, out) or conv (kh, kw, in, out) kernel as the (fan_in, out) matrix whose
  singular values SN uses (rows: the inputs a filter reads; columns: the filters)."""
  return kernel.reshape(-1, kernel.shape[-1])


def power_iteration(w_mat, u, n_steps: int = 1, eps: float = EPS):
  """n_steps of the power iteration on w_mat (m, n) from u (n,) -> (u, v, sigma), no gradient
  through u, v; sigma = v^T W u carries W's gradient. eps floors the vectors' norms."""
  w32 = w_mat.astype(jnp.float32)
  u = jax.lax.stop_gradient(u.astype(jnp.float32))
  w_ng = jax.lax.stop_gradient(w32)
  v = None
  for _ in range(max(n_steps, 1)):
    v = _l2_normalize(w_ng @ u, eps)
    u = _l2_normalize(w_ng.T @ v, eps)
  u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
  sigma = v @ (w32 @ u)
  return u, v, sigma


class SpectralWeight(nn.Module):
  """W / sigma(W) for a kernel; holds u (size: the kernel's last axis) in 'spectral'."""

  n_steps: int = 1
  eps: float = EPS  # floors the power iteration's norms (BigGAN-PyTorch's SN_eps); W / sigma

  @nn.compact
  def __call__(self, kernel, update: bool):
    w_mat = as_matrix(kernel)
    u_var = self.variable(
        COLLECTION, "u",
        lambda: _l2_normalize(jax.random.normal(self.make_rng("params"), (w_mat.shape[1],),
                                                jnp.float32)))
    steps = self.n_steps if update else 1
    u, _, sigma = power_iteration(w_mat, u_var.value, steps, self.eps)
    # Written back only where the caller lets this collection change (the train step does);
    # a training-mode call with 'spectral' immutable (standing statistics) leaves it as it is.
    if update and not self.is_initializing() and self.is_mutable_collection(COLLECTION):
      u_var.value = u
    return kernel / sigma.astype(kernel.dtype)


def _maybe_sn(kernel, use_sn: bool, update: bool, n_steps: int):
  if not use_sn:
    return kernel
  return SpectralWeight(n_steps=n_steps, name="sn")(kernel, update)


class SNDense(nn.Module):
  """nn.Dense with an optionally spectrally normalised kernel."""

  features: int
  use_bias: bool = True
  use_sn: bool = True
  n_steps: int = 1
  kernel_init: nn.initializers.Initializer = nn.initializers.orthogonal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, update: bool = True):
    kernel = self.param("kernel", self.kernel_init, (x.shape[-1], self.features), jnp.float32)
    kernel = _maybe_sn(kernel, self.use_sn, update, self.n_steps)
    y = jnp.dot(x.astype(self.dtype), kernel.astype(self.dtype))
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32).astype(
          self.dtype)
    return y


class SNConv(nn.Module):
  """A stride-1 SAME nn.Conv (NHWC) with an optionally spectrally normalised kernel."""

  features: int
  kernel_size: Sequence[int] = (3, 3)
  use_bias: bool = True
  use_sn: bool = True
  n_steps: int = 1
  kernel_init: nn.initializers.Initializer = nn.initializers.orthogonal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, update: bool = True):
    shape = tuple(self.kernel_size) + (x.shape[-1], self.features)
    kernel = self.param("kernel", self.kernel_init, shape, jnp.float32)
    kernel = _maybe_sn(kernel, self.use_sn, update, self.n_steps)
    y = jax.lax.conv_general_dilated(
        x.astype(self.dtype), kernel.astype(self.dtype), window_strides=(1, 1), padding="SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"))
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32).astype(
          self.dtype)
    return y


class SNEmbed(nn.Module):
  """nn.Embed with an optionally spectrally normalised table (the projection D's embedding).

  The table is (num_embeddings, features) and is normalised as the (num, features) matrix,
  like a dense layer from a one-hot label; u has one entry per class (the power iteration runs
  on the transposed table), where BigGAN-PyTorch's SNEmbedding keeps it, so its u0 loads as is.
  """

  num_embeddings: int
  features: int
  use_sn: bool = True
  n_steps: int = 1
  embedding_init: nn.initializers.Initializer = nn.initializers.orthogonal()
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, labels, update: bool = True):
    table = self.param("embedding", self.embedding_init, (self.num_embeddings, self.features),
                       jnp.float32)
    table = _maybe_sn(table.T, self.use_sn, update, self.n_steps).T
    return jnp.take(table, labels, axis=0).astype(self.dtype)
