"""InfoGAN's codes (Chen et al. 2016, config info_code): the losses, the codes in z and in G,
D's head Q, the code loss in both updates, and the config's refusals."""

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

INFO = DataInfo("digits", "images", (8, 8, 1), 10)
CATEGORIES = 3
LATENT = 4


def _config(weight=1.0, g_lr=0.0, d_lr=0.0, continuous=0):
  config = base_config()
  config.architecture, config.data.image_size = "dcgan", 8
  config.batch_size, config.latent_dim = 8, LATENT
  config.info_code.categories, config.info_code.weight = CATEGORIES, weight
  config.info_code.continuous = continuous
  config.optimizer.g = optimizer_config("sgd", lr=g_lr)
  config.optimizer.d = optimizer_config("sgd", lr=d_lr)
  config.generator = ml_collections.ConfigDict(dict(base_features=4, norm="batch"))
  config.discriminator = ml_collections.ConfigDict(dict(base_features=4, norm="batch"))
  validate(config, num_devices=1)
  return config


def _trainer_step_state(**options):
  """The real DCGAN nets (8x8, base 4) with a 3-way code, the step composed as the Experiment
  does, SGD on the side whose rate is given (the other's rate 0)."""
  trainer = adversarial.AdversarialTrainer(_config(**options), INFO)
  state = trainer.init_state(jax.random.PRNGKey(0))
  steps = trainer.phases(lambda x: x)
  step = jax.jit(compose_step(steps, trainer.step_variant(steps, 0), trainer.num_keys))
  return trainer, step, state


REALS = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (1, 8, 8, 8, 1)), jnp.float32)


def test_code_cross_entropy_by_hand():
  """Mutations caught: the sign (G and Q would push the code out of reach), a sum for the
  mean, the wrong class read, softmax over the batch axis."""
  logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-2.0, 1.0, 0.0]])
  codes = np.array([0, 2, 1])
  log_p = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
  want = -np.mean(log_p[np.arange(3), codes])
  got = float(losses.code_cross_entropy(jnp.asarray(logits), jnp.asarray(codes)))
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_z_carries_a_uniform_one_hot_code_after_unchanged_noise():
  """Mutations caught: no code appended, a code that is not one-hot, a code drawn from a
  constant or skewed distribution, the code changing z's noise (runs without a code would no
  longer match), truncated latents without the code."""
  with_code = adversarial.Networks(None, None, LATENT, 0, code_categories=CATEGORIES)
  without = adversarial.Networks(None, None, LATENT, 0)
  key = jax.random.PRNGKey(3)
  z = np.asarray(with_code.draw_z(key, 3000))
  assert z.shape == (3000, LATENT + CATEGORIES)
  np.testing.assert_array_equal(z[:, :LATENT], np.asarray(without.draw_z(key, 3000)))
  code = z[:, LATENT:]
  np.testing.assert_array_equal(np.sort(code, axis=1), np.tile([0.0, 0.0, 1.0], (3000, 1)))
  codes = np.asarray(with_code.code_of(jnp.asarray(z)))
  np.testing.assert_array_equal(codes, np.argmax(code, axis=1))
  np.testing.assert_allclose(np.bincount(codes, minlength=CATEGORIES) / 3000, 1 / 3, atol=0.03)
  trainer = adversarial.AdversarialTrainer(_config(), INFO)
  truncated, _ = trainer.latents(key, 50, truncation=0.5)
  truncated = np.asarray(truncated)
  assert np.abs(truncated[:, :LATENT]).max() <= 0.5
  np.testing.assert_array_equal(truncated[:, LATENT:].sum(axis=1), 1.0)


@pytest.fixture(scope="module")
def g_side():
  """The step with G's rate 0.1 (D's 0) for code weights 0 and 1, from the same state."""
  return {w: _trainer_step_state(weight=w, g_lr=0.1) for w in (0.0, 1.0)}


@pytest.fixture(scope="module")
def d_side():
  return {w: _trainer_step_state(weight=w, d_lr=0.1) for w in (0.0, 1.0)}


def test_the_code_reaches_g_and_d_has_the_head_q():
  """Mutations caught: G's input without the code (its samples would not depend on it), Q's
  head missing from D's parameters, or D's call without the head."""
  trainer, _, state = _trainer_step_state()
  z = np.asarray(trainer.latents(jax.random.PRNGKey(1), 4)[0])
  other = z.copy()
  other[:, LATENT:] = np.roll(z[:, LATENT:], 1, axis=1)  # same noise, another code
  a = trainer.generate(state, z)
  b = trainer.generate(state, other)
  assert np.abs(a - b).reshape(4, -1).max(axis=1).min() > 1e-4
  nets = trainer.nets
  (logits, code_logits), _ = nets.discriminate(state.d_params, state.d_state, jnp.asarray(a),
                                               None, jax.random.PRNGKey(2), code_head=True)
  assert logits.shape == (4,) and code_logits.shape == (4, CATEGORIES)
  plain_config = _config()
  plain_config.info_code.categories = 0
  plain = adversarial.AdversarialTrainer(plain_config, INFO)
  assert len(jax.tree_util.tree_leaves(state.d_params)) > len(
      jax.tree_util.tree_leaves(plain.init_state(jax.random.PRNGKey(0)).d_params))


def _rerun(step, state, params_name, params):
  """The step's metrics from `state` with one side's parameters replaced: the same key, so the
  same latents and fakes."""
  _, metrics = step(state.replace(**{params_name: params}), {"image": REALS})
  return metrics


@pytest.mark.parametrize("side", ["g", "d"])
def test_g_and_q_each_descend_the_weighted_code_loss(side, g_side, d_side):
  """With SGD the code loss's share of an update is the difference between the updates at code
  weight 1 and 0; applied alone it must lower the code loss on the same fakes, for G (G's phase)
  and for D's head and body (the critic phase). Mutations caught: the code loss left out of G's
  or D's loss (no difference), its sign flipped (the loss rises), the weight ignored (weight 0
  would still train the code: no difference), and Q's head trained by nothing at weight 0."""
  runs = g_side if side == "g" else d_side
  name, metric = ("g_params", "g_code_loss") if side == "g" else ("d_params", "d_code_loss")
  (_, step0, state), (_, step1, _) = runs[0.0], runs[1.0]
  new0, metrics = step0(state, {"image": REALS})
  new1, _ = step1(state, {"image": REALS})
  before = float(metrics[metric])
  assert 0.5 < before < 2.0  # about log 3 for a fresh Q
  share = jax.tree_util.tree_map(lambda p, a, b: p + (b - a), getattr(state, name),
                                 getattr(new0, name), getattr(new1, name))
  moved = max(float(jnp.abs(x - y).max()) for x, y in zip(
      jax.tree_util.tree_leaves(share), jax.tree_util.tree_leaves(getattr(state, name))))
  assert moved > 1e-6
  after = float(_rerun(step1, state, name, share)[metric])
  assert after < before - 1e-4
  if side == "d":  # weight 0: Q's head has no loss at all, so it does not move
    for key in ("Dense_1", "Dense_2"):
      np.testing.assert_array_equal(np.asarray(new0.d_params[key]["kernel"]),
                                    np.asarray(state.d_params[key]["kernel"]))
      assert np.abs(np.asarray(new1.d_params[key]["kernel"])
                    - np.asarray(state.d_params[key]["kernel"])).max() > 0


def test_config_validates_info_code():
  """Mutations caught: each refusal removed (a 1-way code, continuous codes without the
  categorical one, another trainer, a D without Q, a conditional model), or a rule missing from
  RULES (negative values)."""
  config = _config()
  config.info_code.categories = 1
  with pytest.raises(JaxganError, match="info_code.categories must be 0 .off. or >= 2"):
    validate(config, num_devices=1)
  config.info_code.categories = -2
  with pytest.raises(JaxganError, match="config key info_code.categories must be >= 0"):
    validate(config, num_devices=1)
  config.info_code.categories, config.info_code.weight = 10, -1.0
  with pytest.raises(JaxganError, match="config key info_code.weight must be >= 0"):
    validate(config, num_devices=1)
  config.info_code.weight, config.info_code.continuous = 1.0, -1
  with pytest.raises(JaxganError, match="config key info_code.continuous must be >= 0"):
    validate(config, num_devices=1)
  config.info_code.categories, config.info_code.continuous = 0, 2
  with pytest.raises(JaxganError, match="info_code.continuous needs the categorical code too"):
    validate(config, num_devices=1)
  config.info_code.categories, config.info_code.continuous = 10, 0
  config.trainer = "progan"
  with pytest.raises(JaxganError, match="info_code is an option of the adversarial trainer"):
    validate(config, num_devices=1)
  config.trainer, config.architecture = "adversarial", "sagan"
  with pytest.raises(JaxganError, match="info_code needs a discriminator with InfoGAN's head Q"):
    validate(config, num_devices=1)
  config.architecture, config.conditional = "dcgan", True
  with pytest.raises(JaxganError, match="info_code is an unsupervised code"):
    validate(config, num_devices=1)
  config.conditional = False
  validate(config, num_devices=1)
  config.info_code.categories, config.architecture = 0, "sagan"  # off: any architecture
  validate(config, num_devices=1)


CONTINUOUS = 2


def test_continuous_code_nll_by_hand():
  """Mutations caught: the sign, a mean over the codes for their sum, a sum over the batch for
  its mean, the 1/2 of the unit Gaussian's log-density left out."""
  means = np.array([[0.5, -0.2], [0.0, 0.9], [-1.0, 0.3]])
  codes = np.array([[0.1, -0.6], [0.4, 0.2], [-0.7, 0.8]])
  want = np.mean(np.sum(0.5 * (codes - means) ** 2, axis=1))
  got = float(losses.continuous_code_nll(jnp.asarray(means), jnp.asarray(codes)))
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_z_carries_uniform_continuous_codes_after_the_categorical_one():
  """Mutations caught: no continuous codes appended, codes drawn from N(0, 1) or [0, 1) instead
  of U(-1, 1), the same draw for both codes, the noise or the categorical code changed by them
  (runs without continuous codes would no longer match), code_of reading the continuous codes
  as categories, Q's loss reading the wrong slice of its outputs or of z."""
  nets = adversarial.Networks(None, None, LATENT, 0, code_categories=CATEGORIES,
                              code_continuous=CONTINUOUS)
  categorical = adversarial.Networks(None, None, LATENT, 0, code_categories=CATEGORIES)
  key = jax.random.PRNGKey(5)
  z = np.asarray(nets.draw_z(key, 3000))
  assert z.shape == (3000, LATENT + CATEGORIES + CONTINUOUS)
  np.testing.assert_array_equal(z[:, :LATENT + CATEGORIES], np.asarray(categorical.draw_z(key, 3000)))
  cont = np.asarray(nets.continuous_code_of(jnp.asarray(z)))
  np.testing.assert_array_equal(cont, z[:, LATENT + CATEGORIES:])
  assert cont.min() >= -1.0 and cont.max() <= 1.0
  np.testing.assert_allclose(cont.mean(axis=0), 0.0, atol=0.05)
  np.testing.assert_allclose(cont.var(axis=0), 1 / 3, atol=0.03)  # U(-1, 1)'s variance
  assert abs(np.corrcoef(cont.T)[0, 1]) < 0.1
  np.testing.assert_array_equal(np.asarray(nets.code_of(jnp.asarray(z))),
                                np.argmax(z[:, LATENT:LATENT + CATEGORIES], axis=1))
  outputs = np.random.default_rng(1).normal(size=(6, CATEGORIES + CONTINUOUS))
  want = (float(losses.code_cross_entropy(jnp.asarray(outputs[:, :CATEGORIES]),
                                          jnp.asarray(np.argmax(z[:6, LATENT:LATENT + CATEGORIES], 1))))
          + float(losses.continuous_code_nll(jnp.asarray(outputs[:, CATEGORIES:]),
                                             jnp.asarray(z[:6, LATENT + CATEGORIES:]))))
  np.testing.assert_allclose(float(nets.code_loss(jnp.asarray(outputs), jnp.asarray(z[:6]))),
                             want, rtol=1e-6)


def test_continuous_codes_reach_g_and_train_q_means():
  """The real nets with 2 continuous codes, D's rate 0.1 and code weight 1: G's samples depend
  on the continuous codes, Q has a mean per code beside the logits, and the critic step moves
  Q's mean outputs (their weights get gradient only from the continuous term). Mutations
  caught: G fed without the continuous codes, Q's head without their means, the continuous
  term left out of the code loss in training, truncated latents losing them."""
  trainer = adversarial.AdversarialTrainer(_config(d_lr=0.1, continuous=CONTINUOUS), INFO)
  state = trainer.init_state(jax.random.PRNGKey(0))
  z = np.asarray(trainer.latents(jax.random.PRNGKey(1), 4)[0])
  assert z.shape == (4, LATENT + CATEGORIES + CONTINUOUS)
  other = z.copy()
  other[:, -CONTINUOUS:] = -z[:, -CONTINUOUS:]  # same noise and category, other codes
  a, b = trainer.generate(state, z), trainer.generate(state, other)
  assert np.abs(a - b).reshape(4, -1).max(axis=1).min() > 1e-4
  (_, code_outputs), _ = trainer.nets.discriminate(
      state.d_params, state.d_state, jnp.asarray(a), None, jax.random.PRNGKey(2), code_head=True)
  assert code_outputs.shape == (4, CATEGORIES + CONTINUOUS)
  truncated = np.asarray(trainer.latents(jax.random.PRNGKey(1), 50, truncation=0.5)[0])
  assert np.abs(truncated[:, -CONTINUOUS:]).max() > 0.5  # the codes, not truncated noise
  steps = trainer.phases(lambda x: x)
  step = jax.jit(compose_step(steps, trainer.step_variant(steps, 0), trainer.num_keys))
  new, metrics = step(state, {"image": REALS})
  assert np.isfinite(float(metrics["d_code_loss"]))
  kernel = lambda s: np.asarray(s.d_params["Dense_2"]["kernel"])[:, CATEGORIES:]
  assert np.abs(kernel(new) - kernel(state)).max() > 1e-6
