"""The losses each trainer composes, against values computed by hand on fixed tiny networks.

pix2pix (cGAN + 100 L1, D halved), CycleGAN (LSGAN both ways, cycle lambda, identity 0.5
lambda) and CoGAN (both domains' GAN losses summed) run one real train step (the trainer's own
phases) with its networks replaced by deterministic one-layer ones and SGD at rate 1, so each
update is minus the gradient of what the trainer optimised. That gradient is compared with the
gradient of the loss written out here from the papers' equations, and every weight set to zero
must change it by exactly its term. A conditional discriminator must score fakes with the labels
they were generated with (CGAN's and the projection D's trainer).
"""

import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan.config import apply_overrides, load_config_file
from jaxgan.data.base import DataInfo
from jaxgan.train.adversarial import AdversarialTrainer, Networks
from jaxgan.train.cogan import CoGANTrainer, CoupledNetworks
from jaxgan.train.cyclegan import CycleGANTrainer
from jaxgan.train.phases import compose_step
from jaxgan.train.pix2pix import Pix2PixTrainer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B, S = 2, 16  # batch, image size


def config_of(name, **overrides):
  config = load_config_file(os.path.join(REPO, "configs", name + ".py"))
  return apply_overrides(config, {k: str(v) for k, v in overrides.items()})


def images(seed, channels, batch=B):
  return jax.random.uniform(jax.random.PRNGKey(seed), (batch, S, S, channels), minval=-1.0)


def one_step(trainer, batch, seed=0):
  """(state before, state after, metrics) of one step of the trainer's phases with SGD at
  rate 1 for G and D, batch leaves [1, B, ...]."""
  trainer.g_tx = trainer.d_tx = optax.sgd(1.0)
  state = trainer.init_state(jax.random.PRNGKey(seed))
  phases = trainer.phases(lambda x: x)
  step = compose_step(phases, trainer.step_variant(phases, 0), trainer.num_keys)
  before = jax.device_get(state)
  after, metrics = jax.jit(step)(state, batch)
  return before, jax.device_get(after), jax.device_get(metrics)


def gradient(before, after):
  """What SGD at rate 1 applied: params before - after."""
  return jax.tree_util.tree_map(lambda b, a: np.asarray(b) - np.asarray(a), before, after)


def assert_close(a, b, rtol=2e-4, atol=2e-6):
  for (path, x), y in zip(jax.tree_util.tree_flatten_with_path(a)[0],
                          jax.tree_util.tree_leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol,
                               err_msg=jax.tree_util.keystr(path))


def differs(a, b) -> bool:
  return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
             for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b))) > 1e-4


# ---------------------------------------------------------------- fixed tiny networks


class PixelG(nn.Module):
  """tanh of a per-pixel linear map: deterministic, no collections."""
  channels: int

  @nn.compact
  def __call__(self, x, train: bool = True):
    del train
    return jnp.tanh(nn.Dense(self.channels, kernel_init=nn.initializers.normal(1.0),
                             bias_init=nn.initializers.normal(0.5))(x))


class PixelD(nn.Module):
  """A per-pixel linear map to one logit (a 1x1 PatchGAN), of (image[, condition])."""

  @nn.compact
  def __call__(self, image, condition=None, train: bool = True):
    del train
    x = image if condition is None else jnp.concatenate([image, condition], axis=-1)
    return nn.Dense(1, kernel_init=nn.initializers.normal(1.0),
                    bias_init=nn.initializers.normal(0.5))(x)


def softplus(x):
  return jax.nn.softplus(x)


# ---------------------------------------------------------------- pix2pix


def pix2pix_trainer(**weights):
  config = config_of("pix2pix_photos", **{"batch_size": B, "data.image_size": S,
                                          "augment.flip": False, **weights})
  info = DataInfo("photos", "images", (S, S, 1), pairing="paired", shape_b=(S, S, 3))
  trainer = Pix2PixTrainer(config, info)
  trainer.generator, trainer.discriminator = PixelG(3), PixelD()
  return trainer


def pix2pix_g_loss(g, d, x, y, gan_weight, l1_weight):
  """The paper's G objective: non-saturating cGAN term + lambda * L1."""
  fake = PixelG(3).apply({"params": g}, x)
  adversarial = jnp.mean(softplus(-PixelD().apply({"params": d}, fake, x)))
  l1 = jnp.mean(jnp.abs(fake - y))
  return gan_weight * adversarial + l1_weight * l1, (adversarial, l1, fake)


def pix2pix_d_loss(d, x, y, fake):
  """D's cGAN loss on (x, y) against (x, G(x)), divided by 2."""
  real_logits = PixelD().apply({"params": d}, y, x)
  fake_logits = PixelD().apply({"params": d}, fake, x)
  return 0.5 * (jnp.mean(softplus(-real_logits)) + jnp.mean(softplus(fake_logits)))


def test_pix2pix_losses_are_cgan_plus_100_l1_and_the_halved_d_loss():
  x, y = images(1, 1), images(2, 3)
  batch = {"input": x[None], "target": y[None]}
  grads = {}
  for gan_weight, l1_weight in ((1.0, 100.0), (1.0, 0.0), (0.0, 100.0)):
    trainer = pix2pix_trainer(gan_weight=gan_weight, l1_weight=l1_weight)
    before, after, metrics = one_step(trainer, batch)
    g_grad = gradient(before.g_params, after.g_params)
    (_, (adversarial, l1, fake)), expected = jax.value_and_grad(pix2pix_g_loss, has_aux=True)(
        before.g_params, before.d_params, x, y, gan_weight, l1_weight)
    assert_close(g_grad, expected)
    np.testing.assert_allclose(metrics["l1"], l1, rtol=1e-5)
    if gan_weight:
      np.testing.assert_allclose(metrics["g_loss"], adversarial, rtol=1e-5)
      d_loss, d_expected = jax.value_and_grad(pix2pix_d_loss)(before.d_params, x, y, fake)
      np.testing.assert_allclose(metrics["d_loss"], d_loss, rtol=1e-5)
      assert_close(gradient(before.d_params, after.d_params), d_expected)
    grads[gan_weight, l1_weight] = g_grad
  # Each term is in the gradient: zeroing its weight changes it.
  assert differs(grads[1.0, 100.0], grads[1.0, 0.0])
  assert differs(grads[1.0, 100.0], grads[0.0, 100.0])


# ---------------------------------------------------------------- CycleGAN


def cyclegan_trainer(**weights):
  config = config_of("cyclegan_digits", **{"batch_size": B, "data.image_size": S,
                                           "pool_size": 0, "identity_weight": 0.5,
                                           **weights})
  info = DataInfo("digits_negative", "images", (S, S, 1), pairing="unpaired",
                  shape_b=(S, S, 1))
  trainer = CycleGANTrainer(config, info)
  trainer.generators = {"ab": PixelG(1), "ba": PixelG(1)}
  trainer.discriminator = PixelD()
  return trainer


def cyclegan_g_terms(g, d, a, b):
  """The paper's G objective's terms (eqs. 1-3 with LSGAN, the identity loss of section 5.2):
  the adversarial terms E[(D(G(x)) - 1)^2] (unhalved), the cycle and identity L1 terms."""
  gen = lambda direction, x: PixelG(1).apply({"params": g[direction]}, x)
  judge = lambda domain, x: PixelD().apply({"params": d[domain]}, x)
  fake_b, fake_a = gen("ab", a), gen("ba", b)
  adversarial = (jnp.mean(jnp.square(judge("b", fake_b) - 1.0))
                 + jnp.mean(jnp.square(judge("a", fake_a) - 1.0)))
  cycle = jnp.mean(jnp.abs(gen("ba", fake_b) - a)) + jnp.mean(jnp.abs(gen("ab", fake_a) - b))
  identity = jnp.mean(jnp.abs(gen("ab", b) - b)) + jnp.mean(jnp.abs(gen("ba", a) - a))
  return adversarial, cycle, identity, (fake_a, fake_b)


def cyclegan_d_loss(d, a, b, fake_a, fake_b):
  """Each D's LSGAN loss, halved (the paper: "we divide the objective by 2 while optimizing
  D"), summed over the two domains."""
  judge = lambda domain, x: PixelD().apply({"params": d[domain]}, x)
  return sum(0.5 * (jnp.mean(jnp.square(judge(k, real) - 1.0)) + jnp.mean(jnp.square(judge(k, fake))))
             for k, real, fake in (("a", a, fake_a), ("b", b, fake_b)))


CYCLE_BATCH = {"a": images(3, 1)[None], "b": images(4, 1)[None]}


@pytest.fixture(scope="module")
def cyclegan_runs():
  """{(cycle_weight, identity_weight): (state before, state after, metrics)}."""
  return {weights: one_step(cyclegan_trainer(cycle_weight=weights[0],
                                             identity_weight=weights[1]), CYCLE_BATCH)
          for weights in ((10.0, 0.5), (0.0, 0.5), (10.0, 0.0))}


def test_cyclegan_cycle_and_identity_terms_and_the_halved_d_loss(cyclegan_runs):
  a, b = CYCLE_BATCH["a"][0], CYCLE_BATCH["b"][0]
  before, after, metrics = cyclegan_runs[10.0, 0.5]
  terms = lambda g, i: cyclegan_g_terms(g, before.d_params, a, b)[i]
  cycle_grad = jax.grad(lambda g: terms(g, 1))(before.g_params)
  identity_grad = jax.grad(lambda g: terms(g, 2))(before.g_params)
  full = gradient(before.g_params, after.g_params)
  # Zeroing lambda removes lambda * cycle + 0.5 * lambda * identity (the identity weight is in
  # units of lambda); zeroing the identity weight removes 0.5 * lambda * identity; the
  # adversarial terms cancel in both differences.
  no_cycle = gradient(cyclegan_runs[0.0, 0.5][0].g_params, cyclegan_runs[0.0, 0.5][1].g_params)
  no_identity = gradient(cyclegan_runs[10.0, 0.0][0].g_params,
                         cyclegan_runs[10.0, 0.0][1].g_params)
  assert_close(jax.tree_util.tree_map(np.subtract, full, no_cycle),
               jax.tree_util.tree_map(lambda c, i: 10.0 * c + 5.0 * i, cycle_grad,
                                      identity_grad))
  assert_close(jax.tree_util.tree_map(np.subtract, full, no_identity),
               jax.tree_util.tree_map(lambda i: 5.0 * i, identity_grad))
  assert differs(full, no_cycle) and differs(full, no_identity)
  # The metrics are the terms' values.
  gen = lambda direction, x: PixelG(1).apply({"params": before.g_params[direction]}, x)
  np.testing.assert_allclose(metrics["cycle_a"], np.mean(np.abs(gen("ba", gen("ab", a)) - a)),
                             rtol=1e-5)
  np.testing.assert_allclose(metrics["identity_b"], np.mean(np.abs(gen("ab", b) - b)),
                             rtol=1e-5)
  # D: the halved LSGAN loss of each domain, on this step's fakes (a pool of 0 passes them on).
  _, _, _, (fake_a, fake_b) = cyclegan_g_terms(before.g_params, before.d_params, a, b)
  d_loss, d_grad = jax.value_and_grad(cyclegan_d_loss)(before.d_params, a, b, fake_a, fake_b)
  np.testing.assert_allclose(metrics["d_loss"], d_loss, rtol=1e-5)
  assert_close(gradient(before.d_params, after.d_params), d_grad)


def test_cyclegan_generator_adversarial_term_is_the_papers_unhalved(cyclegan_runs):
  a, b = CYCLE_BATCH["a"][0], CYCLE_BATCH["b"][0]
  before, after, metrics = cyclegan_runs[10.0, 0.5]

  def total(g):
    adversarial, cycle, identity, _ = cyclegan_g_terms(g, before.d_params, a, b)
    return adversarial + 10.0 * cycle + 5.0 * identity

  np.testing.assert_allclose(metrics["g_loss"], cyclegan_g_terms(
      before.g_params, before.d_params, a, b)[0], rtol=1e-5)
  assert_close(gradient(before.g_params, after.g_params), jax.grad(total)(before.g_params))


# ---------------------------------------------------------------- CoGAN


class CoupledG(nn.Module):
  """(a, b) from shared and per-domain parameters; ignores z, so the fakes are fixed."""

  @nn.compact
  def __call__(self, z, labels=None, train: bool = True):
    del labels, train
    shared = self.param("shared", nn.initializers.normal(1.0), (S, S, 1))
    own_a = self.param("own_a", nn.initializers.normal(1.0), (S, S, 1))
    own_b = self.param("own_b", nn.initializers.normal(1.0), (S, S, 1))
    ones = jnp.ones((z.shape[0], 1, 1, 1))
    return jnp.tanh(shared + own_a) * ones, jnp.tanh(shared - own_b) * ones


class CoupledD(nn.Module):
  """(logits_a, logits_b) with a per-domain first layer and a shared last one."""

  @nn.compact
  def __call__(self, a, b, train: bool = True):
    del train
    first = [nn.Dense(2, name=f"first_{k}", kernel_init=nn.initializers.normal(1.0))
             for k in "ab"]
    last = nn.Dense(1, name="shared", kernel_init=nn.initializers.normal(1.0),
                    bias_init=nn.initializers.normal(0.5))
    return tuple(jnp.mean(last(jnp.tanh(f(x))), axis=(1, 2)) for f, x in zip(first, (a, b)))


def test_cogan_losses_sum_both_domains_gan_losses():
  config = config_of("cogan_digits", **{"batch_size": B, "data.image_size": S,
                                        "diffaugment": "", "ema.decay": 0.0})
  info = DataInfo("digits_negative", "images", (S, S, 1), pairing="unpaired",
                  shape_b=(S, S, 1))
  trainer = CoGANTrainer(config, info)
  trainer.nets = CoupledNetworks(CoupledG(), CoupledD(), config.latent_dim, 0)
  a, b = images(5, 1), images(6, 1)
  before, after, metrics = one_step(trainer, {"a": a[None], "b": b[None]})

  def fakes(g):
    return CoupledG().apply({"params": g}, jnp.zeros((B, 1)))

  def d_loss(d, fake_a, fake_b):
    real = CoupledD().apply({"params": d}, a, b)
    fake = CoupledD().apply({"params": d}, fake_a, fake_b)
    return sum(jnp.mean(softplus(-r)) + jnp.mean(softplus(f)) for r, f in zip(real, fake))

  d_value, d_grad = jax.value_and_grad(d_loss)(before.d_params, *fakes(before.g_params))
  np.testing.assert_allclose(metrics["d_loss"], d_value, rtol=1e-5)
  assert_close(gradient(before.d_params, after.d_params), d_grad)
  updated_d = after.d_params  # G's update is against the D just updated

  def g_loss(g):
    logits = CoupledD().apply({"params": updated_d}, *fakes(g))
    return sum(jnp.mean(softplus(-x)) for x in logits)  # non-saturating, both domains

  g_value, g_grad = jax.value_and_grad(g_loss)(before.g_params)
  np.testing.assert_allclose(metrics["g_loss"], g_value, rtol=1e-5)
  assert_close(gradient(before.g_params, after.g_params), g_grad)
  assert np.max(np.abs(g_grad["own_b"])) > 1e-4  # domain b's term is in it (atol 2e-6)


# ---------------------------------------------------------------- conditional D


class LabelG(nn.Module):
  """An image whose every pixel is its label / 10."""

  @nn.compact
  def __call__(self, z, labels, train: bool = True):
    del train
    scale = self.param("scale", nn.initializers.ones, ())
    return scale * jnp.broadcast_to((labels / 10.0)[:, None, None, None],
                                    (z.shape[0], S, S, 1))


class LabelD(nn.Module):
  """-(mean pixel - label / 10)^2: 0 exactly when an image is scored with its own label."""

  @nn.compact
  def __call__(self, x, labels, train: bool = True):
    del train
    offset = self.param("offset", nn.initializers.zeros, ())
    return offset - jnp.square(jnp.mean(x, axis=(1, 2, 3)) - labels / 10.0)[:, None]


@pytest.mark.parametrize("name", ["cgan_digits", "biggan_digits"])
def test_a_conditional_d_scores_fakes_with_the_labels_they_were_generated_with(name):
  # CGAN's D and the projection D of SAGAN/BigGAN take (images, labels) from the same trainer;
  # the reals all have label 9, G draws its own labels.
  config = config_of(name, **{"batch_size": 8, "data.image_size": S, "diffaugment": "",
                              "n_critic": 1, "grad_accum_steps": 1})
  trainer = AdversarialTrainer(config, DataInfo("digits", "images", (S, S, 1), 10))
  trainer.nets = Networks(LabelG(), LabelD(), config.latent_dim, 10)
  batch = {"image": jnp.full((1, 8, S, S, 1), 0.9), "label": jnp.full((1, 8), 9, jnp.int32)}
  _, _, metrics = one_step(trainer, batch)
  # (A sample scored with another label costs at least 0.1^2 / 8 on the mean.)
  assert abs(float(metrics["d_real"])) < 1e-6
  assert abs(float(metrics["d_fake"])) < 1e-6
