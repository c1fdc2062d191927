"""A flax module as a pure function of (params, other collections, key): how every trainer
initialises and applies its networks.

Networks draw their randomness from named streams derived from one key: 'dropout' (dropout,
stochastic layers) and 'noise' (per-layer noise injection, style mixing). Keys come from the
train state's key, so a run draws the same noise on any number of devices.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

# Fold-in constants: the 'noise' stream is derived from the key a network call gets, without
# changing what that key already drives (the 'dropout' stream of existing models).
NOISE_STREAM = 0x6E6F  # "no"
SPECTRAL = "spectral"  # jaxgan.nn.spectral.COLLECTION: the power-iteration vectors


LATENT_DISTRIBUTIONS = ("normal", "uniform")


def draw_latents(key, shape, distribution: str = "normal"):
  """G's input z: 'normal' N(0, I), or 'uniform' U[-1, 1] per component (what GAN, CGAN, DCGAN's
  code and CoGAN draw; config key latent.distribution)."""
  if distribution == "normal":
    return jax.random.normal(key, shape, jnp.float32)
  if distribution == "uniform":
    return jax.random.uniform(key, shape, jnp.float32, -1.0, 1.0)
  raise ValueError(f"latent distribution must be one of {LATENT_DISTRIBUTIONS}, got "
                   f"{distribution!r}")


def latent_distribution(config) -> str:
  """The config's latent.distribution ('normal' for configs saved before the key existed)."""
  latent = config.get("latent")
  return "normal" if latent is None else latent.distribution


def split_collections(variables):
  """flax variables -> (params, the other collections)."""
  variables = dict(variables)
  params = variables.pop("params")
  return params, variables


def rngs_for(key):
  """The named rng streams of one network call (None: a deterministic call)."""
  if key is None:
    return None
  return {"dropout": key, "noise": jax.random.fold_in(key, NOISE_STREAM)}


def init_net(module, key, *args, param_key=None, **kwargs):
  """(params, other collections) of `module` initialised on example inputs in training mode.

  key drives the parameters and the stochastic layers, split in two as every trainer does;
  param_key, when given, drives the parameters alone (and key the layers).
  """
  if param_key is None:
    param_key, key = jax.random.split(key)
  rngs = {"params": param_key, **rngs_for(key)}
  return split_collections(module.init(rngs, *args, train=True, **kwargs))


def apply_net(module, params, state, *args, train: bool, key=None, **kwargs):
  """module(*args) -> (output, updated collections).

  In training mode the collections (batch-norm statistics, spectral-norm vectors, tracked
  averages) come back updated; callers that only read them (penalties, G's view of D) drop the
  update. Otherwise they come back unchanged.
  """
  variables = {"params": params, **state}
  rngs = rngs_for(key)
  if train and state:
    return module.apply(variables, *args, train=True, rngs=rngs, mutable=list(state), **kwargs)
  return module.apply(variables, *args, train=train, rngs=rngs, **kwargs), state


def keep_spectral(updated, start):
  """The collections the next training call of a network reads within one optimiser update:
  `updated` (what the last call returned: batch-norm averages move on), except the spectral-norm
  vectors, which stay as they were at the update's start (`start`), at any nesting depth.

  Every call of an update (real and fake, each micro-batch) then normalises by the same sigma
  and computes the same new u, which the update writes back: one power iteration per
  optimiser update, as in the reference code, which runs D once on real and fake together,
  however many calls and micro-batches the update makes.
  """
  if not isinstance(updated, Mapping):
    return updated
  return type(updated)({k: (start[k] if k == SPECTRAL else keep_spectral(v, start[k]))
                        for k, v in updated.items()})
