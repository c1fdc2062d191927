"""Penalties and regularisers as terms a config lists.

`config.d_terms` and `config.g_terms` map a term's name to `dict(weight=..., every=1)`:

    c.d_terms.gradient_penalty = dict(weight=10.0)       # WGAN-GP
    c.d_terms.drift = dict(weight=1e-3)                  # ProGAN
    c.d_terms.r1 = dict(weight=0.5 * gamma, every=16)    # StyleGAN2's lazy R1 (weight = gamma/2)
    c.g_terms.ortho_reg = dict(weight=1e-4)                  # BigGAN

A term with every=1 is added to its network's main loss; one with every=k > 1 runs in its own
phase on iterations i % k == 0 with its weight multiplied by k (StyleGAN2's lazy
regularisation), so its average contribution is unchanged.

A D term sees `DTermInputs`; a G term sees G's parameters (and, for path length, what its phase
provides). Terms that differentiate D per example (gradient penalty, R1) are wrong for a critic
whose outputs depend on the batch (batch norm): `check_d_terms` makes that a config error.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

from jaxgan import losses
from jaxgan.errors import JaxganError


class DTermInputs(NamedTuple):
  d_fn: Callable  # (images, labels) -> logits, D in training mode, its collections read only
  real: Any
  fake: Any
  real_labels: Any
  real_logits: Any
  key: Any


@dataclasses.dataclass(frozen=True)
class Term:
  fn: Callable  # D terms: fn(DTermInputs) -> scalar; G terms: fn(g_params) -> scalar
  per_example_grads: bool = False  # differentiates D per example (needs a batch-free D)
  needs_fake: bool = False


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
    "ortho_reg": Term(lambda g_params: losses.orthogonal_regularization(g_params, 1.0)),
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


def check_d_terms(terms: list[ActiveTerm], d_collections) -> None:
  """Per-example gradient penalties need a D whose outputs do not depend on the batch."""
  if "batch_stats" not in d_collections:
    return
  for t in terms:
    if t.term.per_example_grads:
      raise JaxganError(
          f"d_terms.{t.name} differentiates D per example, but this discriminator uses batch "
          "norm (its outputs depend on the batch); use discriminator.norm='layer' or 'none'")


def add_terms(total, terms: list[ActiveTerm], value_of: Callable, lazy: bool = False):
  """(total + sum of weight * value, metrics), added one by one in order; lazy multiplies each
  weight by its every."""
  metrics = {}
  for t in terms:
    value = value_of(t)
    weight = t.weight * t.every if lazy else t.weight
    total = total + weight * value
    metrics[t.name] = value
  return total, metrics
