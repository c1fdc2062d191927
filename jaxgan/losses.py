"""Adversarial losses and regularisers as pure functions of logits, images and parameters.

Each adversarial loss is a pair: the discriminator's loss of (real_logits, fake_logits) and the
generator's loss of fake_logits, both averaged over the batch. Names follow the papers.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


class AdversarialLoss(NamedTuple):
  discriminator: Callable[[jax.Array, jax.Array], jax.Array]
  generator: Callable[[jax.Array], jax.Array]


def _mean(x):
  return jnp.mean(x.astype(jnp.float32))


# Goodfellow et al. 2014: D maximises log D(x) + log(1 - D(G(z))), with D = sigmoid(logit).
def minimax_d(real_logits, fake_logits, real_target=1.0):
  """real_target < 1: one-sided label smoothing (Salimans et al. 2016), the cross-entropy
  against real_target on reals (fakes keep 0)."""
  real_loss = jax.nn.softplus(-real_logits)
  if real_target != 1.0:
    real_loss = real_target * real_loss + (1.0 - real_target) * jax.nn.softplus(real_logits)
  return _mean(real_loss) + _mean(jax.nn.softplus(fake_logits))


def minimax_g(fake_logits):
  """G minimises log(1 - D(G(z))) = -softplus(logit): saturates when D wins early."""
  return -_mean(jax.nn.softplus(fake_logits))


def non_saturating_g(fake_logits):
  """G maximises log D(G(z)) instead, the paper's recommended practice."""
  return _mean(jax.nn.softplus(-fake_logits))


# Arjovsky et al. 2017: the critic estimates W(P_r, P_g) as E[f(x)] - E[f(G(z))].
def wasserstein_d(real_logits, fake_logits):
  return _mean(fake_logits) - _mean(real_logits)


def wasserstein_g(fake_logits):
  return -_mean(fake_logits)


# Lim & Ye 2017 / Miyato et al. 2018 (SAGAN, BigGAN).
def hinge_d(real_logits, fake_logits):
  return _mean(jax.nn.relu(1.0 - real_logits)) + _mean(jax.nn.relu(1.0 + fake_logits))


hinge_g = wasserstein_g


# Mao et al. 2017 (LSGAN) with targets a=0 (fake), b=c=1 (real), as CycleGAN uses it (its
# eq. 3 and reference code): D's objective halved, G's E[(D(G(x)) - 1)^2] with weight 1. (The
# LSGAN paper halves G's too; alone under Adam that is the same update, but beside CycleGAN's
# cycle loss it would halve the adversarial weight.)
def least_squares_d(real_logits, fake_logits):
  return 0.5 * _mean(jnp.square(real_logits - 1.0)) + 0.5 * _mean(jnp.square(fake_logits))


def least_squares_g(fake_logits):
  return _mean(jnp.square(fake_logits - 1.0))


def top_k_generator(generator, fake_logits, k):
  """G's loss over the k fakes D scores highest alone (Sinha et al. 2020, top-k training): the
  other fakes get no gradient. generator: a loss that averages a per-example term (all of the
  above); fake_logits [B, ...] (a fake's score: the mean of its logits); k may be traced (a
  schedule), 1 <= k <= B."""
  n = fake_logits.shape[0]
  per_example = jax.vmap(lambda logits: generator(logits[None]))(fake_logits)
  scores = jnp.mean(fake_logits.reshape(n, -1).astype(jnp.float32), axis=1)
  rank = jnp.argsort(jnp.argsort(-scores))  # 0 for the fake D finds most real
  keep = (rank < k).astype(jnp.float32)
  return jnp.sum(keep * per_example) / jnp.sum(keep)


def code_cross_entropy(code_logits, codes):
  """InfoGAN's mutual-information term for a categorical code: the mean cross-entropy
  -log Q(c | G(z, c)) of the codes the fakes were generated with. H(c) minus it is the lower
  bound on I(c; G(z, c)) that G and Q maximise, so both minimise it (Chen et al. 2016)."""
  log_q = jax.nn.log_softmax(code_logits.astype(jnp.float32), axis=-1)
  return -jnp.mean(jnp.take_along_axis(log_q, codes[:, None], axis=-1))


def continuous_code_nll(means, codes):
  """InfoGAN's term for continuous codes: Q's factored Gaussian with unit spread (the reference
  code's fix_std), so -log Q(c | G(z, c)) is 0.5 (c - mean)^2 per code plus a constant, summed
  over the codes and averaged over the batch (the constant dropped)."""
  diff = codes.astype(jnp.float32) - means.astype(jnp.float32)
  return 0.5 * jnp.mean(jnp.sum(jnp.square(diff), axis=-1))


ADVERSARIAL_LOSSES = {
    "minimax": AdversarialLoss(minimax_d, minimax_g),
    "non_saturating": AdversarialLoss(minimax_d, non_saturating_g),
    "wasserstein": AdversarialLoss(wasserstein_d, wasserstein_g),
    "hinge": AdversarialLoss(hinge_d, hinge_g),
    "least_squares": AdversarialLoss(least_squares_d, least_squares_g),
}


def _per_example_grad_norm_sq(d_fn, x):
  """|grad_x D(x)|^2 per example, for a D that maps a batch to per-example logits."""
  grads = jax.grad(lambda inputs: jnp.sum(d_fn(inputs)))(x)
  return jnp.sum(jnp.square(grads.reshape(grads.shape[0], -1)), axis=-1)


def gradient_penalty(d_fn, real, fake, key):
  """WGAN-GP (Gulrajani et al. 2017): E[(|grad D(x_hat)| - 1)^2] on random interpolates.

  d_fn must treat examples independently (no batch norm), as the paper requires of the critic.
  """
  eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
  interpolates = eps * real + (1.0 - eps) * fake
  norms = jnp.sqrt(_per_example_grad_norm_sq(d_fn, interpolates) + 1e-12)
  return _mean(jnp.square(norms - 1.0))


def r1_penalty(d_fn, real):
  """R1 (Mescheder et al. 2018): E[|grad D(x)|^2] on real data; callers weight it by gamma/2."""
  return _mean(_per_example_grad_norm_sq(d_fn, real))


def clip_weights(params, clip_value: float):
  """WGAN's weight clipping: every critic parameter into [-c, c] after each update."""
  return jax.tree_util.tree_map(lambda p: jnp.clip(p, -clip_value, clip_value), params)


def drift_penalty(real_logits):
  """ProGAN's drift term E[D(x)^2], keeping the critic's output near zero."""
  return _mean(jnp.square(real_logits))


def orthogonal_regularization(params, beta: float = 1e-4, exclude=("shared",)):
  """BigGAN's orthogonal regulariser: beta * sum_W ||W^T W * (1 - I)||_F^2.

  Only the off-diagonal of each weight's Gram matrix is penalised (filters are pushed towards
  orthogonality without constraining their norms). W is every parameter with >= 2 dimensions,
  viewed as (fan_in, filters) (a conv kernel (kh, kw, in, out) as (kh*kw*in, out)), so W^T W is
  the filters' Gram matrix; parameters under a key named in `exclude` are skipped (BigGAN leaves
  the shared class embedding out). BigGAN-PyTorch applies the gradient 2 (W W^T * (1 - I)) W
  directly, which is this function's gradient with beta halved. Each term is computed from the
  smaller of the two Gram matrices (`off_diagonal_gram_sq`).
  """
  total = jnp.zeros((), jnp.float32)
  for path, w in jax.tree_util.tree_flatten_with_path(params)[0]:
    names = {str(getattr(entry, "key", getattr(entry, "name", ""))) for entry in path}
    if w.ndim < 2 or names & set(exclude):
      continue
    total = total + off_diagonal_gram_sq(w.reshape(-1, w.shape[-1]).astype(jnp.float32))
  return beta * total


def off_diagonal_gram_sq(m):
  """||M^T M * (1 - I)||_F^2 for M (n, k), from the smaller Gram matrix.

  With more columns than rows (a wide M: BigGAN's G input layer is 20 x 24576), M^T M is k x k
  (2.25 GiB there) but ||M^T M||_F^2 = ||M M^T||_F^2 (both are the sum of M's singular values
  to the fourth power) and the diagonal of M^T M is the columns' squared norms, so the value is
  ||M M^T||_F^2 - sum_j |m_j|^4 from the n x n matrix. Products at full float32 precision (no
  TF32 / bfloat16 passes on accelerators): the wide form subtracts two sums.
  """
  highest = jax.lax.Precision.HIGHEST
  n, k = m.shape
  if k <= n:
    gram = jnp.matmul(m.T, m, precision=highest)
    return jnp.sum(jnp.square(gram * (1.0 - jnp.eye(k, dtype=gram.dtype))))
  gram = jnp.matmul(m, m.T, precision=highest)
  column_sq = jnp.sum(jnp.square(m), axis=0)
  return jnp.sum(jnp.square(gram)) - jnp.sum(jnp.square(column_sq))
