"""Penalties and regularisers as terms a config lists.

`config.d_terms` and `config.g_terms` map a term's name to `dict(weight=..., every=1)`:

    c.d_terms.gradient_penalty = dict(weight=10.0)       # WGAN-GP
    c.d_terms.drift = dict(weight=1e-3)                  # ProGAN
    c.d_terms.r1 = dict(weight=0.5 * gamma, every=16)    # StyleGAN2's lazy R1 (weight = gamma/2)
    c.g_terms.ortho_reg = dict(weight=1e-4)                  # BigGAN

A term with every=1 is added to its network's main loss; one with every=k > 1 runs in its own
phase on iterations i % k == 0 with its weight multiplied by k (StyleGAN2's lazy
regularisation), so its average contribution is unchanged.

A D term sees `DTermInputs`; a G term sees `GTermInputs`: G's parameters, the phase's key, a
function giving (per-layer ws, synthesis) for a batch of G's own latents (style generators
only: path length) and the state's `extra`. A term with `extra` (a dict of initial values)
owns those entries of the state's `extra`: its fn returns (value, updated entries) and the
phase that computes it writes them back (StyleGAN2's path-length mean `pl_mean`). A G term of
G's parameters alone (`params_only`: the orthogonal regulariser) is computed once per update
rather than once per micro-batch. Terms that differentiate D per example (gradient penalty, R1) are wrong for a critic
whose outputs depend on the batch (batch norm): `check_d_terms` makes that a config error.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxgan import losses
from jaxgan.errors import JaxganError


class DTermInputs(NamedTuple):
  d_fn: Callable  # (images, labels) -> logits, D in training mode, its collections read only
  real: Any
  fake: Any
  real_labels: Any
  real_logits: Any
  key: Any


class GTermInputs(NamedTuple):
  g_params: Any
  key: Any
  # styles(num, key) -> (ws [num, num_ws, w_dim], synthesis: ws -> images), both functions of
  # g_params (differentiable), G in training mode (mixing, random noise) with its collections
  # read only; None for generators without a mapping network.
  styles: Callable | None
  extra: Any  # the state's extra (read; a term with `extra` returns its updated entries)
  batch_size: int  # the examples of the phase's (micro-)batch


@dataclasses.dataclass(frozen=True)
class Term:
  # D terms: fn(DTermInputs) -> scalar; G terms: fn(GTermInputs) -> scalar, or
  # (scalar, updated extra entries) for a term with `extra`.
  fn: Callable
  per_example_grads: bool = False  # differentiates D per example (needs a batch-free D)
  needs_fake: bool = False
  needs_styles: bool = False  # a G term that reads GTermInputs.styles (style generators only)
  extra: dict | None = None  # the entries of the state's extra it owns, with initial values
  # A G term of G's parameters alone (reads GTermInputs.g_params only): computed once per
  # update, outside the micro-batches, its gradient added to their mean gradient.
  params_only: bool = False


# StyleGAN2's path-length regulariser (stylegan2-ada-pytorch training/loss.py, the official
# values): the mean decays with 0.01, and the regulariser runs on half the batch.
PL_DECAY = 0.01
PL_BATCH_SHRINK = 2


def path_length(t: GTermInputs):
  """StyleGAN2's path-length penalty E[(|J_w^T y| - a)^2] -> (value, {'pl_mean': a'}).

  For batch_size // PL_BATCH_SHRINK of G's own latents (with mixing, as the official run_G),
  y ~ N(0, I) / sqrt(H W) the size of the images, the gradient of sum(images * y) with respect
  to the per-layer ws; |.| = sqrt(mean over layers of the sum over w_dim of its square). The
  running mean a' = lerp(a, mean |.|, PL_DECAY) enters the penalty undetached and is stored
  detached, exactly as the official code does.
  """
  num = max(t.batch_size // PL_BATCH_SHRINK, 1)
  styles_key, noise_key = jax.random.split(t.key)
  ws, synthesis = t.styles(num, styles_key)
  images = synthesis(ws)
  noise = jax.random.normal(noise_key, images.shape, images.dtype) / jnp.sqrt(
      float(images.shape[1] * images.shape[2]))
  grads = jax.grad(lambda w: jnp.sum(synthesis(w) * noise))(ws)
  lengths = jnp.sqrt(jnp.mean(jnp.sum(jnp.square(grads), axis=2), axis=1))
  old = t.extra["pl_mean"]
  pl_mean = old + PL_DECAY * (jnp.mean(lengths) - old)
  penalty = jnp.mean(jnp.square(lengths - pl_mean))
  return penalty, {"pl_mean": jax.lax.stop_gradient(pl_mean)}


D_TERMS = {
    "gradient_penalty": Term(
        lambda t: losses.gradient_penalty(lambda x: t.d_fn(x, t.real_labels), t.real, t.fake,
                                          t.key),
        per_example_grads=True, needs_fake=True),
    "r1": Term(lambda t: losses.r1_penalty(lambda x: t.d_fn(x, t.real_labels), t.real),
               per_example_grads=True),
    "drift": Term(lambda t: losses.drift_penalty(t.real_logits)),
}

G_TERMS = {
    # BigGAN leaves the shared class embedding out; the weight is its beta.
    "ortho_reg": Term(lambda t: losses.orthogonal_regularization(t.g_params, 1.0),
                      params_only=True),
    # StyleGAN2: weight pl_weight (2), every 4 (lazy); needs a style generator.
    "path_length": Term(path_length, needs_styles=True, extra={"pl_mean": 0.0}),
}


@dataclasses.dataclass(frozen=True)
class ActiveTerm:
  name: str
  term: Term
  weight: float
  every: int


def active_terms(section, registry: dict, side: str) -> list[ActiveTerm]:
  """The terms a config section lists (name -> dict(weight, every)), with weight != 0."""
  out = []
  for name, spec in (section or {}).items():
    if name not in registry:
      raise JaxganError(f"unknown {side}_terms.{name}; expected one of {sorted(registry)}")
    weight, every = float(spec.get("weight", 0.0)), int(spec.get("every", 1))
    unknown = set(spec.keys()) - {"weight", "every"}
    if unknown:
      raise JaxganError(f"{side}_terms.{name} has unknown keys {sorted(unknown)}; a term "
                        "takes weight and every")
    if weight < 0:
      raise JaxganError(f"{side}_terms.{name}.weight must be >= 0, got {weight}")
    if every < 1:
      raise JaxganError(f"{side}_terms.{name}.every must be >= 1, got {every}")
    if weight > 0:
      out.append(ActiveTerm(name, registry[name], weight, every))
  return out


def lazy_ratio(terms: list[ActiveTerm], side: str) -> float:
  """StyleGAN2's correction of its network's optimiser for lazy terms: k / (k + 1) for terms
  every k steps (the main and the regularisation updates together then move the weights as far
  per k steps as one per step would: the official code scales Adam's lr by it and raises its
  betas to it); 1 without lazy terms."""
  intervals = {t.every for t in terms if t.every > 1}
  if not intervals:
    return 1.0
  if len(intervals) > 1:
    raise JaxganError(f"the lazy {side}_terms must share one interval (every), got "
                      f"{sorted(intervals)}")
  k = intervals.pop()
  return k / (k + 1)


def scale_for_lazy(opt_config, ratio: float):
  """A copy of an optimiser config with lr * ratio and Adam's betas ** ratio."""
  if ratio == 1.0:
    return opt_config
  scaled = opt_config.copy_and_resolve_references()
  scaled.lr = opt_config.lr * ratio
  if opt_config.name == "adam":
    scaled.b1, scaled.b2 = opt_config.b1 ** ratio, opt_config.b2 ** ratio
  return scaled


def check_d_terms(terms: list[ActiveTerm], d_collections) -> None:
  """Per-example gradient penalties need a D whose outputs do not depend on the batch."""
  if "batch_stats" not in d_collections:
    return
  for t in terms:
    if t.term.per_example_grads:
      raise JaxganError(
          f"d_terms.{t.name} differentiates D per example, but this discriminator uses batch "
          "norm (its outputs depend on the batch); use discriminator.norm='layer' or 'none'")


def initial_extra(terms: list[ActiveTerm]) -> dict:
  """The state's extra entries the active terms own, at their initial values (float32)."""
  out = {}
  for t in terms:
    for name, value in (t.term.extra or {}).items():
      out[name] = jnp.asarray(value, jnp.float32)
  return out


def add_terms(total, terms: list[ActiveTerm], value_of: Callable, lazy: bool = False):
  """(total + sum of weight * value, metrics), added one by one in order; lazy multiplies each
  weight by its every. A term with `extra` gives (value, updated entries): they are returned
  as metrics (under their own names) and, to write back to the state, by `add_g_terms`."""
  total, metrics, _ = add_g_terms(total, terms, value_of, lazy)
  return total, metrics


def add_g_terms(total, terms: list[ActiveTerm], value_of: Callable, lazy: bool = False):
  """add_terms, also returning the updated extra entries of terms that own some."""
  metrics, updates = {}, {}
  for t in terms:
    value = value_of(t)
    if t.term.extra:
      value, entries = value
      updates.update(entries)
      metrics.update(entries)
    weight = t.weight * t.every if lazy else t.weight
    total = total + weight * value
    metrics[t.name] = value
  return total, metrics, updates
