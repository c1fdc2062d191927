"""Top-k training (Sinha et al. 2020: G's loss over the fakes D scores highest, its schedule)
and one-sided label smoothing (Salimans et al. 2016): the losses, the config keys, and their
hooks in the adversarial step."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgan import losses
from jaxgan.config import base_config, optimizer_config, validate
from jaxgan.data.base import DataInfo
from jaxgan.errors import JaxganError
from jaxgan.train import adversarial
from jaxgan.train.phases import compose_step

LOGITS = jnp.asarray([0.3, -1.2, 2.0, 0.1, -0.4, 1.1])  # ranked: 2, 5, 0, 3, 4, 1


@pytest.mark.parametrize("name", sorted(losses.ADVERSARIAL_LOSSES))
def test_top_k_loss_is_the_loss_of_the_top_k_and_the_rest_get_no_gradient(name):
  g_loss = losses.ADVERSARIAL_LOSSES[name].generator
  fn = lambda logits: losses.top_k_generator(g_loss, logits, 3)
  top = jnp.asarray([2, 5, 0])
  np.testing.assert_allclose(float(fn(LOGITS)), float(g_loss(LOGITS[top])), rtol=1e-6)
  grad = np.asarray(jax.grad(fn)(LOGITS))
  np.testing.assert_array_equal(grad[[1, 3, 4]], 0.0)  # the bottom three: no gradient
  np.testing.assert_allclose(grad[[2, 5, 0]], np.asarray(jax.grad(g_loss)(LOGITS[top])),
                             rtol=1e-6)
  # k = B: the plain loss
  np.testing.assert_allclose(float(losses.top_k_generator(g_loss, LOGITS, 6)),
                             float(g_loss(LOGITS)), rtol=1e-6)


def test_top_k_scores_a_fake_by_its_mean_logit():
  patch_logits = jnp.stack([jnp.full((2, 2), v) for v in LOGITS]).at[1, 0, 0].set(9.0)
  # fake 1: mean (9 - 3.6) / 4 = 1.35, now second after fake 2
  grad = np.asarray(jax.grad(lambda x: losses.top_k_generator(
      losses.non_saturating_g, x, 2))(patch_logits))
  assert np.all(grad[[2, 1]] != 0) and np.all(grad[[0, 3, 4, 5]] == 0)


def test_k_anneals_from_the_batch_by_gamma_per_interval_down_to_the_floor():
  top_k = ml_collections.ConfigDict(dict(min_fraction=0.5, gamma=0.9, every=10))
  k = lambda step: float(adversarial.top_k_count(top_k, 64, jnp.asarray(step)))
  assert [k(0), k(9), k(10), k(25), k(39)] == [64.0, 64.0, 57.0, 51.0, 46.0]
  assert k(10_000) == 32.0  # the floor: min_fraction of the batch
  top_k.min_fraction = 0.0
  assert k(10_000) == 1.0  # at least one fake


def test_config_validates_top_k():
  config = base_config()
  config.architecture = "dcgan"
  config.top_k.min_fraction = 0.5
  validate(config, num_devices=1)
  config.top_k.min_fraction = 1.5
  with pytest.raises(JaxganError, match=r"config key top_k.min_fraction must be in \[0, 1\]"):
    validate(config, num_devices=1)
  config.top_k.min_fraction, config.top_k.every = 0.5, 0
  with pytest.raises(JaxganError, match="config key top_k.every must be >= 1"):
    validate(config, num_devices=1)
  config.top_k.every, config.trainer = 1, "cyclegan"
  with pytest.raises(JaxganError, match="top_k is an option of the adversarial, cogan, progan"):
    validate(config, num_devices=1)
  config.top_k.min_fraction = 1.0  # off: any trainer
  validate(config, num_devices=1)


# --- the hook in the adversarial step -----------------------------------------------------------


class PerExampleGenerator(nn.Module):
  """G's i-th sample is its own parameter image: a gradient reaching sample i moves row i only."""

  @nn.compact
  def __call__(self, z, labels=None, train=True):
    images = self.param("images", nn.initializers.normal(0.5), (4, 8, 8, 1))
    return images[:z.shape[0]]


class LinearDiscriminator(nn.Module):
  @nn.compact
  def __call__(self, x, labels=None, train=True):
    w = self.param("w", nn.initializers.normal(1.0), x.shape[1:])
    return jnp.sum(x * w, axis=(1, 2, 3))


def _step_and_state(**options):
  """The adversarial trainer's step (its phases composed as the Experiment does) on the tiny nets
  above, G by SGD 0.1, D's rate 0 (G's phase sees the initial D), at step 1."""
  config = base_config()
  config.architecture, config.data.image_size = "dcgan", 8
  config.batch_size, config.latent_dim = 4, 2
  config.update_from_flattened_dict(options)  # e.g. {"top_k.gamma": 0.0}
  config.optimizer.g = optimizer_config("sgd", lr=0.1)
  config.optimizer.d = optimizer_config("sgd", lr=0.0)
  config.generator = ml_collections.ConfigDict(dict(base_features=4, norm="batch"))
  config.discriminator = ml_collections.ConfigDict(dict(base_features=4, norm="batch"))
  validate(config, num_devices=1)
  trainer = adversarial.AdversarialTrainer(config, DataInfo("digits", "images", (8, 8, 1), 10))
  trainer.nets = adversarial.Networks(PerExampleGenerator(), LinearDiscriminator(), 2, 0)
  state = trainer.init_state(jax.random.PRNGKey(0)).replace(step=jnp.asarray(1, jnp.int32))
  steps = trainer.phases(lambda x: x)
  step = jax.jit(compose_step(steps, trainer.step_variant(steps, 0), trainer.num_keys))
  return step, state


REALS = jnp.full((1, 4, 8, 8, 1), 0.3)  # one critic step's batch


@pytest.mark.parametrize("min_fraction,moved", [(0.5, 2), (1.0, 4)])
def test_only_the_fakes_d_scores_highest_move_g(min_fraction, moved):
  # gamma 0: at step 1 k = max(0 ** 1, min_fraction) of the batch (at step 0 the whole batch)
  step, state = _step_and_state(**{"top_k.min_fraction": min_fraction, "top_k.gamma": 0.0})
  new_state, metrics = step(state, {"image": REALS})
  before = np.asarray(state.g_params["images"])
  changed = np.abs(np.asarray(new_state.g_params["images"]) - before).reshape(4, -1).max(1) > 0
  scores = np.sum(before * np.asarray(state.d_params["w"]), axis=(1, 2, 3))
  np.testing.assert_array_equal(np.flatnonzero(changed), np.sort(np.argsort(-scores)[:moved]))
  if min_fraction < 1.0:
    assert float(metrics["top_k"]) == 0.5
  else:
    assert "top_k" not in metrics


# --- one-sided label smoothing ------------------------------------------------------------------


def _bce(logits, target):
  p = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
  return np.mean(-target * np.log(p) - (1.0 - target) * np.log(1.0 - p))


def test_smoothed_minimax_d_by_hand():
  real, fake = np.array([0.5, -1.0, 2.0]), np.array([0.3, -0.7])
  want = _bce(real, 0.9) + _bce(fake, 0.0)
  np.testing.assert_allclose(float(losses.minimax_d(jnp.asarray(real), jnp.asarray(fake), 0.9)),
                             want, rtol=1e-5)
  np.testing.assert_allclose(float(losses.minimax_d(jnp.asarray(real), jnp.asarray(fake))),
                             _bce(real, 1.0) + _bce(fake, 0.0), rtol=1e-5)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_step_smooths_d_real_targets_only(smoothing):
  step, state = _step_and_state(label_smoothing=smoothing)
  _, metrics = step(state, {"image": REALS})
  w = np.asarray(state.d_params["w"])
  real_logits = np.sum(np.asarray(REALS[0]) * w, axis=(1, 2, 3))
  fake_logits = np.sum(np.asarray(state.g_params["images"]) * w, axis=(1, 2, 3))
  want = _bce(real_logits, 1.0 - smoothing) + _bce(fake_logits, 0.0)
  np.testing.assert_allclose(float(metrics["d_loss"]), want, rtol=1e-5)


def test_config_validates_label_smoothing():
  config = base_config()
  config.architecture, config.label_smoothing = "dcgan", 0.1
  validate(config, num_devices=1)
  config.loss = "hinge"
  with pytest.raises(JaxganError, match="label_smoothing smooths the cross-entropy"):
    validate(config, num_devices=1)
  config.loss, config.label_smoothing = "non_saturating", 1.0
  with pytest.raises(JaxganError, match=r"config key label_smoothing must be in \[0, 1\)"):
    validate(config, num_devices=1)
  config.label_smoothing, config.trainer = 0.1, "pix2pix"
  with pytest.raises(JaxganError, match="label_smoothing is an option of the adversarial"):
    validate(config, num_devices=1)
