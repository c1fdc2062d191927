"""The papers' settings where a config claims them: WGAN's RMSProp and critic schedule, ProGAN's
Adam on CelebA-HQ, the latent distribution of each paper and every path that draws z, GAN's and
CGAN's dropout, the paper's CoGAN networks with weight decay, and BigGAN-128's one source of
rates (test_biggan)."""

from __future__ import annotations

import dataclasses
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgan.config import (apply_overrides, base_config, check_keys, load_config_file,
                           optimizer_config)
from jaxgan.data.base import DataInfo
from jaxgan.errors import JaxganError
from jaxgan.models import build, cgan, cogan, gan
from jaxgan.train import adversarial
from jaxgan.train import cogan as cogan_train
from jaxgan.train.networks import draw_latents
from jaxgan.train.phases import compose_step
from jaxgan.train.state import make_optimizer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGITS16 = DataInfo("digits", "images", (16, 16, 1), 10)
MNIST_PAIR = DataInfo("mnist", "images", (28, 28, 1), 0, "unpaired", (28, 28, 1))


def config_of(name):
  return load_config_file(os.path.join(REPO, "configs", name + ".py"))


def count(tree) -> int:
  return sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(tree))


# ---------------------------------------------------------------- WGAN


def test_rmsprop_is_pytorchs_eps_outside_the_root():
  """Three updates against PyTorch's RMSprop by hand: nu = a nu + (1 - a) g^2,
  w -= lr g / (sqrt(nu) + eps). With g ~ 1e-4, eps inside the root (optax's default) would
  give steps ~100x smaller."""
  opt = optimizer_config("rmsprop", lr=5e-5, decay=0.99, eps=1e-8)
  tx = make_optimizer(opt, 10)
  w = jnp.array([0.3, -0.2])
  state = tx.init(w)
  nu = np.zeros(2)
  expected = np.asarray(w, np.float64)
  for g in ([1e-4, -3e-4], [2e-4, 1e-4], [-1e-4, 5e-5]):
    g = np.asarray(g)
    updates, state = tx.update(jnp.asarray(g, jnp.float32), state, w)
    w = w + updates
    nu = 0.99 * nu + 0.01 * g**2
    expected = expected - 5e-5 * g / (np.sqrt(nu) + 1e-8)
  np.testing.assert_allclose(np.asarray(w), expected, rtol=1e-5)


def test_wgan_digits_is_the_reference_setup():
  c = config_of("wgan_digits")
  assert c.loss == "wasserstein" and c.clip_value == 0.01 and c.n_critic == 5
  for side in ("g", "d"):
    o = c.optimizer[side]
    assert (o.name, o.lr, o.decay, o.eps) == ("rmsprop", 5e-5, 0.99, 1e-8), side
  assert (c.critic_boost.iterations, c.critic_boost.first, c.critic_boost.every) == (100, 25, 500)
  schedule = adversarial.critic_schedule(c)
  assert [schedule(i) for i in (0, 24, 25, 499, 500, 501, 1000)] == [100, 100, 5, 5, 100, 5, 100]
  assert c.latent.distribution == "normal"


def test_progan_celeba_hq_keeps_the_papers_optimiser_and_loss():
  # It builds on progan_digits, whose Adam rate is raised for its small batch: the paper's
  # config must not inherit that.
  c = config_of("progan_celeba_hq")
  assert c.loss == "wasserstein" and c.n_critic == 1
  assert c.d_terms.gradient_penalty.weight == 10.0 and c.d_terms.drift.weight == 1e-3
  for side in ("g", "d"):
    o = c.optimizer[side]
    assert (o.name, o.lr, o.b1, o.b2, o.eps, o.lr_decay) == (
        "adam", 1e-3, 0.0, 0.99, 1e-8, "constant"), side
  assert config_of("progan_digits").optimizer.g.lr == 1.5e-3  # the departure it documents


# ---------------------------------------------------------------- latents

# Uniform where the paper's code draws it (DCGAN's dcgan_code, CoGAN's Caffe model, CGAN's
# paper; dcgan_digits: DCGAN's and InfoGAN's reference code); N(0, I) for GAN
# (goodfeli/adversarial's Generator default), WGAN, WGAN-GP and the rest, and for
# dcgan_captioned_digits, whose measurements were taken with it (its docstring says so).
UNIFORM = ("cgan_digits", "cogan_digits", "cogan_mnist", "dcgan_celeba64", "dcgan_mnist",
           "dcgan_digits")
NORMAL = ("gan_digits", "gan_digits_paper", "gan_mnist", "gan_ring8", "gan_grid25", "wgan_digits",
          "wgan_gp_digits", "wgan_gp_cifar10", "biggan_digits", "sagan_digits",
          "dcgan_captioned_digits")


@pytest.mark.parametrize("name", UNIFORM + NORMAL)
def test_latent_distribution_per_paper(name):
  assert config_of(name).latent.distribution == ("uniform" if name in UNIFORM else "normal")


def test_latent_distribution_is_validated():
  c = base_config()
  c.architecture = "dcgan"
  check_keys(c)
  assert c.latent.distribution == "normal"
  apply_overrides(c, {"latent.distribution": "uniform"})
  check_keys(c)
  apply_overrides(c, {"latent.distribution": "gaussian"})
  with pytest.raises(JaxganError, match="latent.distribution must be one of 'normal', 'uniform'"):
    check_keys(c)


def test_draw_latents():
  key = jax.random.PRNGKey(0)
  u = np.asarray(draw_latents(key, (4000, 16), "uniform"))
  n = np.asarray(draw_latents(key, (4000, 16), "normal"))
  assert u.min() >= -1 and u.max() <= 1 and abs(u.var() - 1 / 3) < 0.01 and abs(u.mean()) < 0.01
  assert n.max() > 3 and abs(n.var() - 1) < 0.03
  with pytest.raises(ValueError):
    draw_latents(key, (2, 2), "cauchy")


class ZGenerator(nn.Module):
  """G(z) = z laid out as an 8x8 image (z of 64): the samples show the latents drawn."""

  @nn.compact
  def __call__(self, z, labels=None, train=True):
    scale = self.param("scale", nn.initializers.ones, ())
    return (scale * z).reshape(z.shape[0], 8, 8, 1)


class Recorder(nn.Module):
  """D that keeps its last input batch in a collection (the fakes: judged after the reals)."""

  @nn.compact
  def __call__(self, x, labels=None, train=True):
    seen = self.variable("seen", "x", jnp.zeros, (4,) + x.shape[1:])
    seen.value = x
    return jnp.mean(x, axis=(1, 2, 3)) + self.param("b", nn.initializers.zeros, ())


def _z_trainer(distribution):
  config = base_config()
  config.architecture, config.data.image_size = "dcgan", 8
  config.generator = ml_collections.ConfigDict(dict(base_features=4, norm="batch"))
  config.discriminator = ml_collections.ConfigDict(dict(base_features=4, norm="batch"))
  config.batch_size, config.latent_dim, config.eval.batch_size = 4, 64, 16
  config.latent.distribution = distribution
  config.optimizer.g = optimizer_config("sgd", lr=0.0)
  config.optimizer.d = optimizer_config("sgd", lr=0.0)
  trainer = adversarial.AdversarialTrainer(config, DataInfo("digits", "images", (8, 8, 1), 10))
  # The config's distribution stays; only the nets are swapped for ones that show z.
  trainer.nets = dataclasses.replace(trainer.nets, generator=ZGenerator(),
                                     discriminator=Recorder())
  return trainer


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_training_sampling_and_evaluation_draw_the_configured_latents(distribution):
  trainer = _z_trainer(distribution)
  assert trainer.nets.latent_distribution == distribution
  state = trainer.init_state(jax.random.PRNGKey(0))
  phases = trainer.phases(lambda x: x)
  step = jax.jit(compose_step(phases, trainer.step_variant(phases, 0), trainer.num_keys))
  state, _ = step(state, {"image": jnp.zeros((1, 4, 8, 8, 1))})
  trained_on = np.asarray(state.d_state["seen"]["x"])  # the critic phase's fakes: G(z) = z
  sampled = trainer.generate_outputs(state, 64, seed=3)["samples"]  # jaxgan sample / evaluate
  grid_z, _ = trainer.latents(jax.random.PRNGKey(adversarial.SAMPLE_KEY), 4)
  for z in (trained_on, sampled, np.asarray(grid_z)):
    if distribution == "uniform":
      assert np.abs(z).max() <= 1.0
    else:
      assert np.abs(z).max() > 1.5  # 256+ normal draws: beyond 1.5 with near certainty
  if distribution == "uniform":
    with pytest.raises(JaxganError, match="truncation resamples N\\(0, 1\\)"):
      trainer.check_truncation(0.5)
  else:
    trainer.check_truncation(0.5)


def test_cogan_trainer_draws_the_configured_latents():
  config = config_of("cogan_digits")
  apply_overrides(config, {"latent.distribution": "uniform"})
  trainer = cogan_train.CoGANTrainer(
      config, DataInfo("digits_negative", "images", (16, 16, 1), 0, "unpaired", (16, 16, 1)))
  z, _ = trainer.latents(jax.random.PRNGKey(0), 512)
  z_train, _ = trainer.nets.sample_latents(jax.random.PRNGKey(1), 512)
  for values in (np.asarray(z), np.asarray(z_train)):
    assert np.abs(values).max() <= 1.0 and abs(values.var() - 1 / 3) < 0.02


# ---------------------------------------------------------------- GAN and CGAN dropout


def _dropout_outputs(module, *args):
  """The module's output in training mode under two dropout keys, and in inference mode."""
  variables = module.init({"params": jax.random.PRNGKey(0), "dropout": jax.random.PRNGKey(1)},
                          *args, train=True)
  outs = [module.apply(variables, *args, train=True, rngs={"dropout": jax.random.PRNGKey(k)})
          for k in (2, 3)]
  return outs + [module.apply(variables, *args, train=False)], variables


def test_cgan_generator_applies_the_papers_dropout():
  c = config_of("cgan_digits")
  assert c.generator.dropout == 0.5 and c.discriminator.dropout == 0.5
  g, _ = build(c, DIGITS16)
  assert isinstance(g, cgan.ConditionalMLPGenerator) and g.dropout == 0.5
  z, y = jnp.ones((8, 100)), jnp.arange(8) % 10
  (a, b, infer), _ = _dropout_outputs(g, z, y)
  assert not np.allclose(a, b)  # dropout draws differ in training
  np.testing.assert_array_equal(infer, g.apply(_dropout_outputs(g, z, y)[1], z, y, train=False))
  (a0, b0, _), _ = _dropout_outputs(g.clone(dropout=0.0), z, y)
  np.testing.assert_array_equal(a0, b0)  # and nothing else in G is random


def test_gan_digits_paper_has_the_papers_mnist_nets():
  c = config_of("gan_digits_paper")
  g, d = build(c, DIGITS16)
  z, x = jnp.zeros((2, 100)), jnp.zeros((2, 16, 16, 1))
  g_vars = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), z))
  d_vars = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(0), x, train=False))
  # G: 100 -> 1200 -> 1200 -> 256 pixels; D: maxout 240 x 5 pieces twice -> 1.
  assert count(g_vars) == (100 * 1200 + 1200) + (1200 * 1200 + 1200) + (1200 * 256 + 256)
  assert count(d_vars) == (256 * 1200 + 1200) + (240 * 1200 + 1200) + (240 + 1)
  assert (d.dropout, d.input_dropout, d.maxout_pieces) == (0.5, 0.2, 5)
  o = c.optimizer.g
  assert (o.name, o.lr, o.momentum, c.batch_size, c.loss) == (
      "sgd", 0.1, 0.5, 100, "non_saturating")
  assert config_of("gan_mnist").generator.hidden == (1200, 1200)


def test_mlp_discriminator_drops_a_fifth_of_its_input():
  d = gan.MLPDiscriminator(hidden=(4,), maxout_pieces=0, dropout=0.0, input_dropout=0.2)
  x = jnp.ones((64, 16, 16, 1))
  variables = d.init(jax.random.PRNGKey(0), x, train=False)
  _, inter = d.apply(variables, x, train=True, rngs={"dropout": jax.random.PRNGKey(5)},
                     capture_intermediates=True)
  dropped = np.asarray(inter["intermediates"]["Dropout_0"]["__call__"][0])
  assert abs(np.mean(dropped == 0) - 0.2) < 0.02
  np.testing.assert_allclose(dropped[dropped != 0], 1 / 0.8, rtol=1e-6)  # inverted dropout


# ---------------------------------------------------------------- CoGAN


def test_cogan_mnist_has_the_papers_networks():
  c = config_of("cogan_mnist")
  g, d = build(c, MNIST_PAIR)
  z, x = jnp.zeros((2, 100)), jnp.zeros((2, 28, 28, 1))
  g_vars = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), z))
  d_vars = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(0), x, x, train=False))
  a, b = jax.eval_shape(lambda: g.apply(g.init(jax.random.PRNGKey(0), z), z, train=False))
  assert a.shape == b.shape == (2, 28, 28, 1)
  bn_prelu = lambda ch: ch + ch  # batch-norm bias + PReLU slopes
  assert count(g_vars["params"]) == (
      (100 * 16384 + 16384) + bn_prelu(1024) + (9 * 1024 * 512 + 512) + bn_prelu(512)
      + (9 * 512 * 256 + 256) + bn_prelu(256) + (9 * 256 * 128 + 128) + bn_prelu(128)
      + 2 * (36 * 128 + 1))
  assert count(d_vars["params"]) == (2 * (25 * 20 + 20) + (25 * 20 * 50 + 50)
                                     + (4 * 4 * 50 * 500 + 500) + 500 + (500 + 1))
  assert set(d_vars) == {"params"}  # no batch norm in D
  # Each domain owns G's output layer and D's first convolution; all else is shared.
  assert {k for k in g_vars["params"] if not k.startswith("shared")} == {"a_out", "b_out"}
  assert {k for k in d_vars["params"] if not k.startswith("shared")} == {"a_conv0", "b_conv0"}
  for side in ("g", "d"):
    assert c.optimizer[side].weight_decay == 5e-4
  assert c.latent.distribution == "uniform" and c.batch_size == 128


def test_cogan_paper_nets_refuse_other_sizes():
  c = config_of("cogan_mnist")
  with pytest.raises(ValueError, match="built for 28x28"):
    build(c, DataInfo("d", "images", (32, 32, 1), 0, "unpaired", (32, 32, 1)))


def test_weight_decay_on_weights_only():
  """One SGD step at lr 1 with zero gradients moves each kernel by -wd * w and nothing else."""
  tx = make_optimizer(optimizer_config("sgd", lr=1.0, weight_decay=0.1), 10)
  params = {"conv": {"kernel": jnp.full((2, 2), 3.0), "bias": jnp.full((2,), 3.0)},
            "prelu": {"slope": jnp.full((2,), 0.25)}}
  updates, _ = tx.update(jax.tree_util.tree_map(jnp.zeros_like, params), tx.init(params), params)
  np.testing.assert_allclose(updates["conv"]["kernel"], -0.3)
  np.testing.assert_array_equal(updates["conv"]["bias"], 0.0)
  np.testing.assert_array_equal(updates["prelu"]["slope"], 0.0)
  assert base_config().optimizer.g.weight_decay == 0.0
