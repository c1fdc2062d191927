"""DiffAugment (jaxgan.augment) against hand-computed expectations, and its hook in the step."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgan import augment
from jaxgan.config import base_config, optimizer_config, validate
from jaxgan.data.base import DataInfo
from jaxgan.errors import JaxganError
from jaxgan.train import adversarial
from jaxgan.train.phases import compose_step


def ramp(n=3, h=8, w=8, c=1):
  """Distinct values everywhere, in [-1, 1], so any misplaced pixel shows."""
  x = np.arange(n * h * w * c, dtype=np.float32).reshape(n, h, w, c)
  return jnp.asarray(x / x.max() * 1.8 - 0.9)


# --- each op ------------------------------------------------------------------------------------


def test_brightness_adds_the_drawn_scalar_per_example():
  x, key = ramp(4), jax.random.PRNGKey(1)
  out = np.asarray(augment.brightness(x, key))
  shift = np.asarray(jax.random.uniform(key, (4, 1, 1, 1), minval=-0.5, maxval=0.5))
  np.testing.assert_allclose(out, np.asarray(x) + shift, atol=1e-6)
  deltas = (out - np.asarray(x))[:, 0, 0, 0]
  assert np.all(np.abs(deltas) <= 0.5) and len(set(np.round(deltas, 6))) == 4  # per example


def test_saturation_scales_deviation_from_the_channel_mean_and_is_identity_on_grey():
  key = jax.random.PRNGKey(2)
  grey = ramp(3, c=1)
  np.testing.assert_allclose(np.asarray(augment.saturation(grey, key)), np.asarray(grey),
                             atol=1e-6)
  rgb = np.asarray(ramp(3, 4, 4, 3))
  factor = np.asarray(jax.random.uniform(key, (3, 1, 1, 1), minval=0.0, maxval=2.0))
  mean = rgb.mean(axis=3, keepdims=True)
  np.testing.assert_allclose(np.asarray(augment.saturation(jnp.asarray(rgb), key)),
                             (rgb - mean) * factor + mean, atol=1e-6)


def test_contrast_scales_deviation_from_the_image_mean():
  key = jax.random.PRNGKey(3)
  for c in (1, 3):
    x = np.asarray(ramp(3, 4, 4, c))
    factor = np.asarray(jax.random.uniform(key, (3, 1, 1, 1), minval=0.5, maxval=1.5))
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    out = np.asarray(augment.contrast(jnp.asarray(x), key))
    np.testing.assert_allclose(out, (x - mean) * factor + mean, atol=1e-6)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), mean[:, 0, 0, 0], atol=1e-6)


def test_translate_shifts_by_the_offset_and_zero_fills():
  x = np.asarray(ramp(2, 5, 6, 1))
  out = np.asarray(augment.translate(jnp.asarray(x), jnp.array([[2, -1], [0, 0]])))
  expected = np.zeros_like(x[0])
  expected[:3, 1:] = x[0, 2:, :5]  # out[i, j] = x[i + 2, j - 1]
  np.testing.assert_array_equal(out[0], expected)
  np.testing.assert_array_equal(out[1], x[1])


@pytest.mark.parametrize("size,shift", [(32, 4), (16, 2), (8, 1)])
def test_translation_draws_offsets_within_an_eighth_and_applies_them(size, shift):
  x, key = ramp(64, size, size, 3), jax.random.PRNGKey(4)
  offsets = np.asarray(augment.translation_offsets(key, x))
  assert offsets.min() == -shift and offsets.max() == shift  # inclusive range, both ends drawn
  assert len({tuple(o) for o in offsets}) > 5  # per example
  out = np.asarray(augment.translation(x, key))
  for n in range(4):
    dy, dx = offsets[n]
    padded = np.pad(np.asarray(x[n]), ((size, size), (size, size), (0, 0)))
    np.testing.assert_array_equal(out[n], padded[size + dy:size + dy + size,
                                                 size + dx:size + dx + size])


def test_cutout_zeroes_exactly_the_drawn_square():
  x = ramp(1, 8, 8, 1) + 2.0  # no pixel is already 0
  # side 4: rows/columns [c - 2, c + 2), clipped at the border
  mask = np.asarray(augment.cutout_mask(x.shape, jnp.array([[3, 0]])))[0, ..., 0]
  expected = np.ones((8, 8), np.float32)
  expected[1:5, 0:2] = 0
  np.testing.assert_array_equal(mask, expected)

  key = jax.random.PRNGKey(5)
  x = ramp(64, 16, 16, 3) + 2.0
  centres = np.asarray(augment.cutout_centres(key, x))
  assert centres.min() == 0 and centres.max() == 16  # side 8 even: centres in [0, 16]
  out = np.asarray(augment.cutout(x, key))
  for n in range(64):
    r, c = centres[n]
    zero = np.zeros((16, 16), bool)
    zero[max(r - 4, 0):r + 4, max(c - 4, 0):c + 4] = True
    np.testing.assert_array_equal(out[n] == 0, np.repeat(zero[..., None], 3, axis=2))
    np.testing.assert_array_equal(out[n][~zero], np.asarray(x[n])[~zero])
  # the square is half the side: a cut fully inside the image removes a quarter of it
  inside = [(r >= 4) & (r <= 12) & (c >= 4) & (c <= 12) for r, c in centres]
  assert any(inside)
  assert all((out[n] == 0).mean() == 0.25 for n in range(64) if inside[n])


# --- the policy function ------------------------------------------------------------------------


def test_empty_policy_is_identity_and_unknown_policy_is_an_error():
  x = ramp(2)
  assert augment.diff_augment(x, jax.random.PRNGKey(0), "") is x
  with pytest.raises(ValueError, match="unknown DiffAugment policy 'colour'"):
    augment.diff_augment(x, jax.random.PRNGKey(0), "colour,cutout")


@pytest.mark.parametrize("channels", [1, 3])
def test_same_key_same_result_other_key_other_result(channels):
  x = ramp(8, 16, 16, channels)
  policy = "color,translation,cutout"
  a = augment.diff_augment(x, jax.random.PRNGKey(7), policy)
  b = jax.jit(augment.diff_augment, static_argnums=2)(x, jax.random.PRNGKey(7), policy)
  c = augment.diff_augment(x, jax.random.PRNGKey(8), policy)
  assert a.shape == x.shape
  np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
  assert not np.allclose(np.asarray(a), np.asarray(c))


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_gradients_flow_through_the_augmentation(policy):
  x = ramp(4, 16, 16, 3)
  weights = jax.random.normal(jax.random.PRNGKey(9), x.shape)
  grad = jax.grad(lambda x: jnp.sum(augment.diff_augment(x, jax.random.PRNGKey(10), policy)
                                    * weights))(x)
  grad = np.asarray(grad)
  assert np.all(np.isfinite(grad))
  for n in range(4):  # every example receives gradient (the cut and the shift keep most pixels)
    assert np.count_nonzero(grad[n]) > 0.4 * grad[n].size


def test_translation_gradient_is_the_shifted_upstream_gradient():
  x = ramp(1, 6, 6, 1)
  offsets = jnp.array([[1, 2]])
  upstream = jax.random.normal(jax.random.PRNGKey(11), x.shape)
  grad = np.asarray(jax.grad(lambda x: jnp.sum(augment.translate(x, offsets) * upstream))(x))
  expected = np.zeros((6, 6), np.float32)
  expected[1:, 2:] = np.asarray(upstream)[0, :5, :4, 0]  # x[i, j] lands at out[i - 1, j - 2]
  np.testing.assert_allclose(grad[0, ..., 0], expected, atol=1e-6)


# --- the config key -----------------------------------------------------------------------------


def test_config_validates_the_policy():
  config = base_config()
  config.architecture, config.diffaugment = "dcgan", "color,translation,cutout"
  validate(config, num_devices=1)
  config.diffaugment = "color,flip"
  with pytest.raises(JaxganError, match="diffaugment: unknown DiffAugment policy 'flip'"):
    validate(config, num_devices=1)
  config.diffaugment, config.trainer = "color", "cyclegan"
  with pytest.raises(JaxganError, match="adversarial trainer"):
    validate(config, num_devices=1)


# --- the hook in the adversarial step -----------------------------------------------------------


class PixelGenerator(nn.Module):
  """G(z) = a fixed bright blob times a learnt gain: a G whose output D can tell apart."""

  @nn.compact
  def __call__(self, z, labels=None, train=True):
    gain = self.param("gain", nn.initializers.ones, ())
    blob = jnp.zeros((8, 8, 1)).at[2:6, 2:6].set(0.9)
    return jnp.ones((z.shape[0], 1, 1, 1)) * gain * blob[None]


class PixelDiscriminator(nn.Module):
  """D(x) = <w, x>: its output depends on every pixel, so it shows what D was shown."""

  @nn.compact
  def __call__(self, x, labels=None, train=True):
    w = self.param("w", nn.initializers.normal(1.0), x.shape[1:])
    return jnp.sum(x * w, axis=(1, 2, 3))


class Recorder(nn.Module):
  """D that records its inputs (as a mutable collection) and returns their mean."""

  @nn.compact
  def __call__(self, x, labels=None, train=True):
    seen = self.variable("seen", "x", jnp.zeros, (4,) + x.shape[1:])
    seen.value = x
    bias = self.param("b", nn.initializers.zeros, ())
    return jnp.mean(x, axis=(1, 2, 3)) + bias


def _step_and_state(policy, discriminator, key=0, lr=0.0):
  """The adversarial trainer's step (its phases composed as the Experiment does) on tiny pixel
  nets; lr 0: the step's metrics are the losses of the initial nets."""
  config = base_config()
  config.architecture, config.data.image_size = "dcgan", 8
  config.generator = ml_collections.ConfigDict(dict(base_features=4, norm="batch"))
  config.discriminator = ml_collections.ConfigDict(dict(base_features=4, norm="batch"))
  config.batch_size, config.latent_dim, config.diffaugment = 4, 2, policy
  config.optimizer.g = optimizer_config("sgd", lr=lr)
  config.optimizer.d = optimizer_config("sgd", lr=lr)
  trainer = adversarial.AdversarialTrainer(config, DataInfo("digits", "images", (8, 8, 1), 10))
  trainer.nets = adversarial.Networks(PixelGenerator(), discriminator, 2, 0, policy)
  state = trainer.init_state(jax.random.PRNGKey(key))
  steps = trainer.phases(lambda x: x)
  step = jax.jit(compose_step(steps, trainer.step_variant(steps, 0), trainer.num_keys))
  return step, state


def _batch():
  real = jnp.zeros((1, 4, 8, 8, 1)).at[:, :, 1:7, 3:5].set(0.8)  # a bar, one critic step
  return {"image": real}


def test_step_augments_what_d_sees_in_both_losses():
  results = {}
  for policy in ("", "translation", "color,translation,cutout"):
    step, state = _step_and_state(policy, PixelDiscriminator())
    _, metrics = step(state, _batch())
    results[policy] = {k: float(v) for k, v in metrics.items()}
  plain = results[""]
  for policy in ("translation", "color,translation,cutout"):
    # same key, same nets: only what D was shown differs
    assert abs(results[policy]["d_real"] - plain["d_real"]) > 1e-3, policy
    assert abs(results[policy]["d_fake"] - plain["d_fake"]) > 1e-3, policy
    assert abs(results[policy]["g_loss"] - plain["g_loss"]) > 1e-3, policy


def test_step_shows_d_augmented_reals_and_fakes_with_fresh_draws():
  """D's inputs under the hook are exactly diff_augment of the plain inputs, each D call with its
  own draw (real and fake batches of identical content are augmented differently)."""
  policy = "translation,cutout"
  nets_plain = adversarial.Networks(PixelGenerator(), Recorder(), 2, 0, "")
  nets_aug = adversarial.Networks(PixelGenerator(), Recorder(), 2, 0, policy)
  params = {"b": jnp.zeros(())}
  x = jnp.broadcast_to(ramp(1, 8, 8, 1) + 2.0, (4, 8, 8, 1))
  state = {"seen": {"x": jnp.zeros((4, 8, 8, 1))}}
  key_a, key_b = jax.random.PRNGKey(12), jax.random.PRNGKey(13)
  _, seen_plain = nets_plain.discriminate(params, state, x, None, key_a)
  _, seen_a = nets_aug.discriminate(params, state, x, None, key_a)
  _, seen_b = nets_aug.discriminate(params, state, x, None, key_b)
  np.testing.assert_array_equal(np.asarray(seen_plain["seen"]["x"]), np.asarray(x))
  np.testing.assert_allclose(
      np.asarray(seen_a["seen"]["x"]),
      np.asarray(augment.diff_augment(x, jax.random.fold_in(key_a, 1), policy)), atol=1e-6)
  assert not np.allclose(np.asarray(seen_a["seen"]["x"]), np.asarray(seen_b["seen"]["x"]))
  # per example: the 4 identical inputs come out differently
  assert len({np.asarray(seen_a["seen"]["x"][i]).tobytes() for i in range(4)}) > 1


def test_diffaugment_gradient_reaches_g_through_d():
  """G's gradient flows through the augmentation of its samples (DiffAugment's point)."""
  for policy in ("", "color,translation,cutout"):
    step, state = _step_and_state(policy, PixelDiscriminator(), lr=0.1)
    g0 = float(state.g_params["gain"])
    new_state, metrics = step(state, _batch())
    assert np.isfinite(float(metrics["g_loss"]))
    assert float(new_state.g_params["gain"]) != g0, policy
