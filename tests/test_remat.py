"""config.remat: jax.checkpoint per residual block gives the same parameters, loss and gradients,
and the step really holds the checkpoints (one per block)."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import models
from jaxgan.config import apply_overrides, load_config_file, validate
from jaxgan.data.base import DataInfo
from jaxgan.errors import JaxganError
from jaxgan.train.networks import apply_net, init_net

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RESNETS = {"generator.ch": "2", "generator.channel_multipliers": "(4, 4, 2)",
           "generator.attention_resolutions": "(8,)", "discriminator.ch": "2",
           "discriminator.channel_multipliers": "(4, 4, 4)",
           "discriminator.downsample": "(True, True, False)",
           "discriminator.attention_resolutions": "(8,)", "latent_dim": "9"}
# name: (config, overrides, data, checkpointed blocks in G, in D)
CASES = {
    "biggan": ("biggan_digits", {**RESNETS, "generator.shared_dim": "4"},
               DataInfo("digits", "images", (16, 16, 1), 10), 2, 3),
    "sagan": ("sagan_digits", RESNETS, DataInfo("digits", "images", (16, 16, 1), 10), 2, 3),
    # StyleGAN2: G's synthesis layers (conv1 at 4, conv0 and conv1 at 8 and 16); D as it is.
    "stylegan2": ("stylegan2_digits", {"data.image_size": "16", "generator.fmap_base": "32",
                                       "generator.fmap_max": "8", "generator.w_dim": "8",
                                       "generator.mapping_features": "8", "latent_dim": "8",
                                       "discriminator.fmap_base": "32",
                                       "discriminator.fmap_max": "8"},
                  DataInfo("digits", "images", (16, 16, 1), 0), 5, 0),
}
BATCH = 4


def config(name, **extra):
  file, overrides, _, _, _ = CASES[name]
  c = load_config_file(os.path.join(REPO, "configs", file + ".py"))
  return apply_overrides(c, {**overrides, **{k: str(v) for k, v in extra.items()}})


def network_jaxpr(name, remat: bool):
  """G's and D's abstract parameters and the jaxpr of a D loss on real and generated images in
  training mode, traced from abstract shapes (nothing is compiled or run). The checkpointed
  regions of the forward pass are what jax.grad differentiates with recomputation."""
  c = config(name, remat=remat)
  info = CASES[name][2]
  generator, discriminator = models.build(c, info)
  z = jnp.zeros((BATCH, c.latent_dim))
  real = jnp.zeros((BATCH,) + info.shape)
  labels = jnp.zeros((BATCH,), jnp.int32) if info.num_classes else None
  key = jax.random.PRNGKey(0)
  g_params, g_state = jax.eval_shape(lambda: init_net(generator, key, z, labels))
  d_params, d_state = jax.eval_shape(lambda: init_net(discriminator, key, real, labels))

  def loss(g_params, d_params, g_state, d_state):
    fake, _ = apply_net(generator, g_params, g_state, z, labels, train=True, key=key)
    on_real, _ = apply_net(discriminator, d_params, d_state, real, labels, train=True)
    on_fake, _ = apply_net(discriminator, d_params, d_state, fake, labels, train=True)
    return jnp.mean(jax.nn.relu(1 - on_real)) + jnp.mean(jax.nn.relu(1 + on_fake))

  return (g_params, d_params), jax.make_jaxpr(loss)(g_params, d_params, g_state, d_state)


def _all_eqns(jaxpr):
  for eqn in jaxpr.eqns:
    yield eqn
    for value in eqn.params.values():
      inner = getattr(value, "jaxpr", value)
      if hasattr(inner, "eqns"):
        yield from _all_eqns(inner)


def checkpoints(jaxpr) -> int:
  """jax.checkpoint regions in the forward pass (the primitive is 'checkpoint' in current JAX,
  'remat' in older ones)."""
  return sum(e.primitive.name in ("checkpoint", "remat", "remat2")
             for e in _all_eqns(jaxpr.jaxpr))


@pytest.mark.parametrize("name", sorted(CASES))
def test_remat_checkpoints_each_block_and_keeps_the_parameters(name):
  (params, jaxpr), (params_r, jaxpr_r) = network_jaxpr(name, False), network_jaxpr(name, True)
  _, _, _, g_blocks, d_blocks = CASES[name]
  # Same names and shapes: checkpoints written either way load either way.
  assert jax.tree_util.tree_structure(params) == jax.tree_util.tree_structure(params_r)
  assert jax.tree_util.tree_leaves(params) == jax.tree_util.tree_leaves(params_r)
  assert checkpoints(jaxpr) == 0
  # G runs once, D twice (real, fake): each block call is one checkpointed region.
  assert checkpoints(jaxpr_r) == g_blocks + 2 * d_blocks


def _block_cases():
  from jaxgan.models.stylegan2 import SynthesisLayer  # pylint: disable=g-import-not-at-top
  from jaxgan.nn.resblocks import DBlock, GBlock  # pylint: disable=g-import-not-at-top
  key = jax.random.PRNGKey(1)
  x4 = jax.random.normal(key, (2, 4, 4, 8))
  x8 = jax.random.normal(jax.random.fold_in(key, 1), (2, 8, 8, 8))
  cond = jax.random.normal(jax.random.fold_in(key, 2), (2, 6))  # BigGAN's [shared, z chunk]
  w = jax.random.normal(jax.random.fold_in(key, 3), (2, 8))
  return {
      # (block class, its arguments after x; the static one last, as the models call them)
      "gblock": (GBlock, dict(features=8), x4, (cond, True)),
      "dblock": (DBlock, dict(features=8, preactivation=True), x8, (True,)),
      "synthesis": (SynthesisLayer, dict(features=8, up=2), x4, (w, "random")),
  }


@pytest.mark.parametrize("block", ["gblock", "dblock", "synthesis"])
def test_remat_block_gives_the_same_outputs_and_gradients(block):
  from jaxgan.nn.resblocks import rematerialized  # pylint: disable=g-import-not-at-top
  cls, kwargs, x, rest = _block_cases()[block]
  plain, checkpointed = cls(**kwargs), rematerialized(cls, True)(**kwargs)
  rngs = {"params": jax.random.PRNGKey(2), "noise": jax.random.PRNGKey(3)}
  variables = jax.jit(lambda x: plain.init(rngs, x, *rest))(x)
  params, state = variables["params"], {k: v for k, v in variables.items() if k != "params"}
  shape = jax.eval_shape(lambda: plain.apply(variables, x, *rest, rngs={"noise": rngs["noise"]},
                                             mutable=list(state))[0]).shape
  weights = jax.random.normal(jax.random.PRNGKey(4), shape)

  def loss(module, params, x):
    out, updated = module.apply({"params": params, **state}, x, *rest,
                                rngs={"noise": rngs["noise"]}, mutable=list(state))
    return jnp.sum(out * weights), updated

  results = []
  for module in (plain, checkpointed):
    fn = jax.jit(jax.value_and_grad(lambda p, x, m=module: loss(m, p, x), argnums=(0, 1),
                                    has_aux=True))
    results.append(fn(params, x))
  ((value, updated), grads), ((value_r, updated_r), grads_r) = results
  np.testing.assert_allclose(value_r, value, rtol=1e-5)
  for a, b in zip(jax.tree_util.tree_leaves((grads, updated)),
                  jax.tree_util.tree_leaves((grads_r, updated_r))):
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
  assert float(jnp.abs(grads[1]).max()) > 0


def test_remat_is_refused_where_there_are_no_blocks():
  c = load_config_file(os.path.join(REPO, "configs", "dcgan_digits.py"))
  apply_overrides(c, {"remat": "true"})
  with pytest.raises(JaxganError, match="remat wraps the residual blocks of .*'dcgan'"):
    validate(c, num_devices=1)
  with pytest.raises(JaxganError, match="config key remat needs true or false"):
    apply_overrides(c, {"remat": "sometimes"})
  c.remat = False
  validate(c, num_devices=1)
